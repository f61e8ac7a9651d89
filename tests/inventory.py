"""Compare a planned graph with a small YAML inventory of expected types, counts and values.

Inventory format (as Cloud Foundation Fabric's tests)::

    counts:                      # exact count per type; types not listed may appear any number of times
      aws:ec2/natGateway:NatGateway: 3
    total: 142                   # optional: exact number of resources (components included)
    values:                      # every resource of `type` (or the one named `name`) has these inputs
      - type: aws:lb/loadBalancer:LoadBalancer
        inputs: {internal: false, enableDeletionProtection: true}
"""

from __future__ import annotations

from typing import Any

from components.testing import STACK_TYPE, Graph


def contains(actual: Any, expected: Any) -> bool:
    """Deep partial match: dicts match on the expected keys, lists element-wise and in order."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return actual == expected


def differences(graph: Graph, inventory: dict[str, Any]) -> list[str]:
    """Every way the graph departs from the inventory (empty when it matches)."""
    problems = []
    counts = graph.type_counts()
    for type_token, expected in (inventory.get("counts") or {}).items():
        if counts.get(type_token, 0) != expected:
            problems.append(f"count of {type_token}: expected {expected}, planned {counts.get(type_token, 0)}")
    total = inventory.get("total")
    planned_total = sum(1 for r in graph.resources if r.type != STACK_TYPE)
    if total is not None and planned_total != total:
        problems.append(f"total resources: expected {total}, planned {planned_total}")
    for entry in inventory.get("values") or []:
        candidates = [
            r for r in graph.resources if r.type == entry["type"] and ("name" not in entry or r.name == entry["name"])
        ]
        if not candidates:
            problems.append(f"no {entry['type']} {entry.get('name', '')} planned")
        for resource in candidates:
            for key, expected in entry["inputs"].items():
                if not contains(resource.inputs.get(key), expected):
                    problems.append(
                        f"{resource.type} {resource.name}: input {key} expected {expected!r}, "
                        f"planned {resource.inputs.get(key)!r}"
                    )
    return problems
