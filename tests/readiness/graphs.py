"""Small hand-made graphs for the readiness tests, and the shipped stacks' planned graphs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from components.testing import Graph, GraphResource

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
ACCOUNT = "123456789012"
REGION = "us-east-1"


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:test::proj::{type_token}::{name}"


def resource(
    type_token: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    refs: dict[str, list[GraphResource]] | None = None,
    depends_on: Sequence[GraphResource] = (),
    outputs: dict[str, Any] | None = None,
) -> GraphResource:
    """A custom resource; ``refs`` are its property dependencies (input -> resources it came from)."""
    property_dependencies = {key: sorted(r.urn for r in found) for key, found in (refs or {}).items()}
    dependencies = {r.urn for r in depends_on} | {u for urns in property_dependencies.values() for u in urns}
    return GraphResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        parent=None,
        inputs=inputs or {},
        dependencies=sorted(dependencies),
        custom=True,
        outputs=outputs or {},
        property_dependencies=property_dependencies,
    )


def graph(*resources: GraphResource) -> Graph:
    return Graph(project="proj", stack="test", resources=list(resources), cloud="aws")


def kms_key(name: str = "key", statements: Sequence[Mapping[str, Any]] | None = None) -> GraphResource:
    policy = {"Version": "2012-10-17", "Statement": list(statements or [])}
    inputs = {} if statements is None else {"policy": json.dumps(policy)}
    return resource("aws:kms/key:Key", name, inputs, outputs={"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd"})


@cache
def planned(stack: str) -> Graph:
    """The shipped stack's planned graph (planned once per test session)."""
    from ai_platform_cli.main import load_stack, plan_stack

    return plan_stack(load_stack(ROOT, stack))


def without_dependency(source: Graph, name: str, dependency: str) -> Graph:
    """``source`` with resource ``name`` no longer waiting for ``dependency`` (a fix reverted)."""
    target = source.named(dependency).urn

    def drop(r: GraphResource) -> GraphResource:
        if r.name != name:
            return r
        return replace(
            r,
            dependencies=[u for u in r.dependencies if u != target],
            property_dependencies={k: [u for u in v if u != target] for k, v in r.property_dependencies.items()},
        )

    return replace(source, resources=[drop(r) for r in source.resources])


def with_input(source: Graph, name: str, key: str, value: Any) -> Graph:
    """``source`` with input ``key`` of resource ``name`` set to ``value``."""
    return replace(
        source,
        resources=[r if r.name != name else replace(r, inputs={**r.inputs, key: value}) for r in source.resources],
    )
