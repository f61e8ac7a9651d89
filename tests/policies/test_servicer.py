"""The shared-conversion servicer: installed only over the SDK internals it knows, else not at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_install_replaces_the_sdk_servicer_and_is_idempotent() -> None:
    out = _run(
        """
        from pulumi_policy import policy as sdk
        from policies import servicer
        print(servicer.install(), servicer.install(), sdk._PolicyAnalyzerServicer is servicer.SharedConversionServicer)
        """
    )
    assert out == "True True True"


def test_install_leaves_an_unfamiliar_sdk_alone() -> None:
    out = _run(
        """
        from pulumi_policy import policy as sdk
        from policies import servicer
        del sdk.__dict__["unknown_checking_proxy"]
        stock = sdk._PolicyAnalyzerServicer
        print(servicer.install(), sdk._PolicyAnalyzerServicer is stock)
        """
    )
    assert out == "False True"


def test_once_memoises_within_a_request_only() -> None:
    out = _run(
        """
        from policies import servicer
        calls = []
        def convert(value):
            calls.append(value)
            return [value]
        value = {"a": 1}
        first = servicer.once(convert, value)
        with servicer._one_request():
            shared = [servicer.once(convert, value), servicer.once(convert, value)]
        print(len(calls), shared[0] is shared[1], first is not shared[0])
        """
    )
    assert out == "2 True True"
