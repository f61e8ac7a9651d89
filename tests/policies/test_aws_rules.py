"""AWS checks beyond the fixtures: unknowns and secrets, config thresholds, and the shipped stacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.cli import load_stack, plan_stack
from components.testing import STACK_TYPE, Graph, GraphResource
from policies.inprocess import Finding, InProcessPack, PlannedResource

ROOT = Path(__file__).resolve().parents[2]
AWS_STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.aws-*.yaml"))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _identities(resource: GraphResource) -> set[str]:
    """What other resources' inputs use to point at this one: its id, ARN and name outputs."""
    found = {resource.id} if resource.id else set()
    for key in ("arn", "name", "id"):
        value = resource.outputs.get(key)
        if isinstance(value, str) and value:
            found.add(value)
    return found


def property_dependencies(graph: Graph, resource: GraphResource) -> dict[str, list[str]]:
    """Per input, the dependencies whose id/ARN/name that input holds (what the engine would send)."""
    by_urn = {r.urn: r for r in graph.resources}
    result: dict[str, list[str]] = {}
    for key, value in resource.inputs.items():
        strings = set(_strings(value))
        for urn in resource.dependencies:
            dependency = by_urn.get(urn)
            if dependency is not None and strings & _identities(dependency):
                result.setdefault(key, []).append(urn)
    return result


@cache
def planned_stack(stack: str) -> tuple[PlannedResource, ...]:
    graph = plan_stack(load_stack(ROOT, stack))
    return tuple(
        PlannedResource(
            r.type,
            r.inputs,
            r.urn,
            r.name,
            parent=r.parent,
            dependencies=r.dependencies,
            property_dependencies=property_dependencies(graph, r),
        )
        for r in graph.resources
        if r.type != STACK_TYPE
    )


def findings(resources: tuple[PlannedResource, ...]) -> list[Finding]:
    pack = InProcessPack()
    return [f for r in resources for f in pack.analyze(r)] + pack.analyze_stack(list(resources))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_shipped_stack_has_no_mandatory_violation(stack: str) -> None:
    mandatory = [(f.policy, f.message) for f in findings(planned_stack(stack)) if f.level == "mandatory"]
    assert mandatory == []
