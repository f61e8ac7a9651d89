"""Shared inputs of the Azure block tests; each test plans its block with ``components.testing.plan``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.testing import Graph, plan
from tests.readiness.graphs import ROOT

WHERE: dict[str, Any] = {"resource_group_name": "rg", "location": "westeurope"}
DIGEST = "aiplatformtest.azurecr.io/ai-api@sha256:" + "ab" * 32
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"


def plan_azure(program: Callable[[], Any]) -> Graph:
    return plan(program, config={"azure-native:location": "westeurope"})


def plan_stack_with(stack: str, **azure: Any) -> Graph:
    """The shipped stack planned with its ``ai-platform:azure`` section changed (``insecure`` included)."""
    import dataclasses

    from ai_platform_cli.main import load_stack, plan_stack

    stack_file = load_stack(ROOT, stack)
    config = dict(stack_file.config)
    config["ai-platform:azure"] = {**config["ai-platform:azure"], **azure}
    return plan_stack(dataclasses.replace(stack_file, config=config))
