"""Every readiness invariant (and the IAM lint) passes on every shipped stack."""

from __future__ import annotations

import pytest

from components.aws import readiness as aws_readiness
from components.azure import readiness as azure_readiness
from components.gcp import readiness as gcp_readiness
from components.kubernetes import readiness as kubernetes_readiness
from components.readiness import Invariant, check
from tests.readiness.graphs import STACKS, planned

#: cloud -> that target's invariants (each target adds its own here when it ships a stack)
INVARIANTS: dict[str, tuple[Invariant, ...]] = {
    "aws": aws_readiness.INVARIANTS,
    "azure": azure_readiness.INVARIANTS,
    "gcp": gcp_readiness.INVARIANTS,
    "kubernetes": kubernetes_readiness.INVARIANTS,
}
NAMES = sorted({rule.name for rules in INVARIANTS.values() for rule in rules})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_is_ready(stack: str, name: str) -> None:
    graph = planned(stack)
    rules = INVARIANTS.get(graph.cloud or "")
    assert rules is not None, f"stack {stack}: register the invariants of cloud {graph.cloud!r} in INVARIANTS"
    for rule in rules:
        if rule.name == name:
            assert [str(f) for f in check(graph, [rule])] == []
