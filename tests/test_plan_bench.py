"""The plan benchmark compares like with like: its raw twins register the very same graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from benchmarks.plan_bench import raw_program, typed_program
from components.testing import plan

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("stack", ["aws-dev", "k8s-local", "k8s-prod"])
@pytest.mark.parametrize("twin", [typed_program, raw_program], ids=["typed", "untyped"])
def test_raw_twin_registers_the_same_resources_inputs_and_parents(twin, stack: str) -> None:
    """Kubernetes adds an explicit provider (passed to every object, so no default one) and CRD
    objects without typed classes (replayed as ``apiextensions.CustomResource``)."""
    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)
    replay = plan(twin(graph), project=stack_file.project, stack=stack_file.stack)
    expected = {r.urn: (r.type, r.parent, r.inputs) for r in graph.resources}
    actual = {r.urn: (r.type, r.parent, r.inputs) for r in replay.resources}
    assert actual == expected
