"""Fixtures for the component package's tests: the package hosted in-process (the provider the
Pulumi CLI would start from provider/PulumiPlugin.yaml) and its schema."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.provider.experimental.component import ComponentProvider

from provider import PACKAGE, components

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "provider" / "schema.json"


@pytest.fixture(scope="session")
def hosted() -> ComponentProvider:
    """The component provider over every facade, as ``component_provider_host`` builds it."""
    return ComponentProvider(components(), PACKAGE, namespace=None, version="0.0.0")


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    """The checked-in schema (what the typings and examples are checked against)."""
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(autouse=True)
def event_loop_for_outputs() -> Iterator[None]:
    """An earlier test's ``asyncio.run`` leaves the thread without the loop the runtime needs."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    yield
