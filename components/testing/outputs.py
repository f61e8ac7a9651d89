"""Dispatch mock answers: a target's provider to ``components/<target>/mocks.py`` (found through the
registry), docker-build to the target-neutral ``components.testing.docker_build``."""

from __future__ import annotations

import hashlib
import importlib
from types import ModuleType
from typing import Any

from components import targets

#: providers that belong to no one target
_NEUTRAL = {"docker-build": "components.testing.docker_build"}


def stable_suffix(*parts: str, length: int = 8) -> str:
    """Deterministic hex suffix so ids are stable between runs (no diffs in snapshots)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _module(token: str) -> ModuleType | None:
    package = token.split(":", 1)[0]
    if package in _NEUTRAL:
        return importlib.import_module(_NEUTRAL[package])
    target = targets.for_package(package)
    if target is None or not target.available:
        return None
    return target.module("mocks")


def resource_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and computed outputs a provider would return for a new resource."""
    module = _module(type_token)
    if module is None:
        return f"{name}-{stable_suffix(type_token, name)}", {}
    return module.resource_outputs(type_token, name, inputs)


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """The answer of a provider function (data source) call."""
    module = _module(token)
    if module is None:
        raise NotImplementedError(f"no offline answer for the provider function {token}")
    return module.call_result(token, args)
