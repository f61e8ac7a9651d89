"""The Go example compiles (``go vet``) against a Go package derived from the checked-in schema: a
schema change that breaks the example fails here. The Go module proxy is out of reach, so the
Pulumi Go SDK is a minimal stand-in (tests/package/go/sdk: the types the typings and the example
use, with the real SDK's shapes); what that proves and does not: tests/package/typings.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.package.conftest import ROOT
from tests.package.typings import go

STANDIN = ROOT / "tests" / "package" / "go" / "sdk"
EXAMPLE = ROOT / "examples" / "go" / "main.go"

GO_MOD = """module example.com/ai-platform-example

go 1.19

require (
\texample.com/ai-platform/sdk v0.0.0
\tgithub.com/pulumi/pulumi/sdk/v3 v3.0.0
)

replace example.com/ai-platform/sdk => ./sdk

replace github.com/pulumi/pulumi/sdk/v3 => {standin}
"""


def vet_example(tmp_path: Path, schema: dict[str, Any], source: str) -> subprocess.CompletedProcess[str]:
    """``go vet`` over ``source`` (as main.go) and the generated package, offline."""
    go_binary = shutil.which("go")
    if go_binary is None:
        pytest.fail("go is missing: run scripts/setup (installs golang-go in CI)")
    package = tmp_path / "sdk" / "go" / "aiplatform"
    package.mkdir(parents=True)
    (tmp_path / "sdk" / "go.mod").write_text("module example.com/ai-platform/sdk\n\ngo 1.19\n")
    (package / "aiplatform.go").write_text(go(schema))
    (tmp_path / "go.mod").write_text(GO_MOD.format(standin=STANDIN))
    (tmp_path / "main.go").write_text(source)
    env = {
        **os.environ,
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
        "GOPATH": str(tmp_path / "gopath"),
        "GOCACHE": str(tmp_path / "gocache"),
    }
    return subprocess.run(
        [go_binary, "vet", "./..."], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )


def test_go_example_type_checks_against_the_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    result = vet_example(tmp_path, schema, EXAMPLE.read_text())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("MaxReceiveCount:", "MaxReceiveCnt:", "unknown field MaxReceiveCnt"),
        ("pulumi.IntRef(3)", 'pulumi.StringRef("3")', "cannot use pulumi.StringRef"),
        ("aiplatform.EnvironmentDev", "aiplatform.EnvironmentStaging", "EnvironmentStaging not declared"),
    ],
)
def test_the_check_catches_what_the_schema_forbids(
    tmp_path: Path, schema: dict[str, Any], old: str, new: str, error: str
) -> None:
    """A misspelt input, a value of the wrong type, a value outside an enum: the compiler refuses
    each (a missing required input is the generated constructor's runtime error, as in the real SDK)."""
    source = EXAMPLE.read_text()
    assert old in source
    result = vet_example(tmp_path, schema, source.replace(old, new))
    assert result.returncode != 0 and error in result.stderr, result.stdout + result.stderr
