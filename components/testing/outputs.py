"""Dispatch mock answers to the module of the resource's cloud (``components.testing.<cloud>``)."""

from __future__ import annotations

import hashlib
import importlib
from typing import Any

_PACKAGES = {"aws": "aws", "docker-build": "aws", "gcp": "gcp", "azure-native": "azure", "kubernetes": "kubernetes"}


def stable_suffix(*parts: str, length: int = 8) -> str:
    """Deterministic hex suffix so ids are stable between runs (no diffs in snapshots)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _module(token: str) -> Any | None:
    package = _PACKAGES.get(token.split(":", 1)[0])
    return importlib.import_module(f"components.testing.{package}") if package else None


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
