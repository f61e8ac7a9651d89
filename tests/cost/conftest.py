"""Shared fixtures of the cost tests: the shipped stacks planned once per session."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from ai_platform_cli.main import load_stack, plan_stack
from components.spec import PlatformSpec
from components.testing import Graph
from tests.test_cli import project  # noqa: F401  (the editable copy of the project, for the CLI tests)

ROOT = Path(__file__).resolve().parent.parent.parent


@cache
def planned(stack: str) -> tuple[Graph, Any]:
    """The shipped stack's planned graph and its spec."""
    stack_file = load_stack(ROOT, stack)
    graph = plan_stack(stack_file)
    return graph, PlatformSpec.from_config(stack_file.config, stack_file.secret_keys)


def shipped_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
