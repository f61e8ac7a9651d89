"""Helpers for the Kubernetes tests: plan a shipped stack (optionally changed), a block alone, and run
the policy pack in process over a planned graph."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ai_platform_cli.main import load_stack, plan_stack
from components.kubernetes.secrets import SecretStore, SecretStoreArgs
from components.spec import PlatformSpec
from components.testing import STACK_TYPE, Graph, GraphResource, plan
from policies.inprocess import InProcessPack, PlannedResource

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "ai-platform"
DIGEST = "registry.example.com/app@sha256:" + "a" * 64
TAGS = {"owner": "team-a", "cost-center": "cc-1"}


@cache
def stack(name: str) -> Graph:
    """A shipped stack's planned graph (planned once per test session)."""
    return plan_stack(load_stack(ROOT, name))


def stack_config(name: str) -> tuple[dict[str, Any], list[str]]:
    loaded = load_stack(ROOT, name)
    return copy.deepcopy(loaded.config), list(loaded.secret_keys)


def changed(name: str, key: str, change: Callable[[Any], Any]) -> dict[str, Any]:
    """A shipped stack's config with ``config[key]`` replaced by ``change(old value)``."""
    config, _ = stack_config(name)
    config[key] = change(copy.deepcopy(config.get(key)))
    return config


def spec_of(config: Mapping[str, Any], name: str = "k8s-local") -> PlatformSpec:
    _, secret_keys = stack_config(name)
    return PlatformSpec.from_config(config, secret_keys)


def plan_block(build: Callable[[], Any]) -> Graph:
    return plan(build, stack="test")


def secret_store(*, private_ca: bool = True, secrets: Mapping[str, Any] | None = None) -> SecretStore:
    return SecretStore(
        "store",
        SecretStoreArgs(
            tags=TAGS, namespace=NAMESPACE, secrets=dict(secrets or {"redisAuthToken": "t" * 32}), private_ca=private_ca
        ),
    )


def objects(graph: Graph, kind: str) -> list[GraphResource]:
    return [r for r in graph.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def planned_resources(graph: Graph) -> list[PlannedResource]:
    """The graph as the engine hands it to the pack (a component's registered outputs included)."""
    return [
        PlannedResource(
            type=r.type,
            props=r.inputs if r.custom else {**r.inputs, **r.outputs},
            urn=r.urn,
            name=r.name,
            parent=r.parent,
            dependencies=r.dependencies,
            property_dependencies=r.property_dependencies,
        )
        for r in graph.resources
        if r.type != STACK_TYPE
    ]


def mandatory(graph: Graph) -> list[tuple[str, str]]:
    """(policy, message) of every mandatory violation the pack finds in the graph, resource and stack rules."""
    findings = InProcessPack().check(planned_resources(graph))
    return [(f.policy, f.message) for f in findings if f.level == "mandatory"]
