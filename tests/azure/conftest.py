"""Shared inputs of the Azure block tests; each test plans its block with ``components.testing.plan``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.testing import Graph, plan

WHERE: dict[str, Any] = {"resource_group_name": "rg", "location": "westeurope"}
DIGEST = "aiplatformtest.azurecr.io/ai-api@sha256:" + "ab" * 32
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"


def plan_azure(program: Callable[[], Any]) -> Graph:
    return plan(program, config={"azure-native:location": "westeurope"})
