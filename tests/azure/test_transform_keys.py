"""Every child key an Azure block passes to ``Block.child`` (the ``transform`` keys) is documented
in its args class, so callers can find the key to adjust a child."""

from __future__ import annotations

import re
from typing import Any

import pytest

import components.azure as azure
from components.base import Block
from tests.readiness.graphs import ROOT

#: block class -> its args class (the docstring that lists the child keys)
ARGS = {
    getattr(azure, name): getattr(azure, f"{name}Args")
    for name in azure.__all__
    if not name.endswith("Args") and f"{name}Args" in azure.__all__
}


def documented(args_type: type) -> list[re.Pattern[str]]:
    """The ``key`` names of an args docstring as patterns (``<name>`` stands for any text)."""
    keys = re.findall(r"``([^`]+)``", args_type.__doc__ or "")
    return [re.compile("^" + re.sub(r"<[^>]+>", ".+", k) + "$") for k in keys]


def test_every_child_key_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_platform_cli.main import load_stack, plan_stack

    used: dict[type, set[str]] = {}
    original = Block.child

    def recording(self: Block, key: str, *args: Any, **kwargs: Any) -> Any:
        used.setdefault(type(self), set()).add(key)
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(Block, "child", recording)
    plan_stack(load_stack(ROOT, "azure-prod"))
    undocumented = {
        block.__name__: sorted(k for k in keys if not any(p.match(k) for p in documented(ARGS[block])))
        for block, keys in used.items()
        if block in ARGS
    }
    assert len(undocumented) >= 12
    assert {name: keys for name, keys in undocumented.items() if keys} == {}
