"""Fixtures for the AWS block tests; the tests plan their programs with ``components.testing.plan``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.base import Block


@dataclass
class ChildKeys:
    """The ``transform`` keys a block passed to ``Block.child`` during a plan."""

    used: list[str] = field(default_factory=list)

    def undocumented(self, args_type: type) -> list[str]:
        """Keys not listed in the args class docstring (``<i>``/``<service>`` are placeholders)."""
        documented = re.findall(r"``([^`]+)``", args_type.__doc__ or "")
        patterns = [
            re.compile("^" + re.escape(k).replace("<i>", r"\d+").replace("<service>", ".+") + "$") for k in documented
        ]
        return sorted({k for k in self.used if not any(p.match(k) for p in patterns)})


@pytest.fixture
def child_keys(monkeypatch: pytest.MonkeyPatch) -> ChildKeys:
    keys = ChildKeys()
    original = Block.child

    def recording(self: Block, key: str, *args: Any, **kwargs: Any) -> Any:
        keys.used.append(key)
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(Block, "child", recording)
    return keys


@pytest.fixture(autouse=True)
def event_loop_for_outputs() -> Iterator[None]:
    """Tests build ``pulumi.Output`` args before ``plan`` runs, which needs a current event loop;
    an earlier test's ``asyncio.run`` leaves the thread without one."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    yield
