"""Every shipped stack's planned graph matches its YAML inventory (tests/inventories/)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ai_platform_cli.main import load_stack, plan_stack
from tests.inventory import differences

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def test_every_shipped_stack_has_an_inventory() -> None:
    inventories = sorted(p.stem for p in (ROOT / "tests" / "inventories").glob("*.yaml"))
    assert inventories == STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_planned_graph_matches_the_inventory(stack: str) -> None:
    inventory = yaml.safe_load((ROOT / "tests" / "inventories" / f"{stack}.yaml").read_text())
    graph = plan_stack(load_stack(ROOT, stack))
    assert differences(graph, inventory) == []
