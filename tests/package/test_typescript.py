"""The TypeScript example compiles (``tsc --strict``) against typings derived from the checked-in
schema: a schema change that breaks the example fails here. ``tsc`` and the Pulumi Node SDK's
typings come from ``tests/package/typescript`` (``npm ci``, pinned by its package-lock.json).
What the typings prove and do not prove: tests/package/typings.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.package.conftest import ROOT
from tests.package.typings import typescript

NODE = ROOT / "tests" / "package" / "typescript" / "node_modules"
EXAMPLE = ROOT / "examples" / "typescript" / "index.ts"


def compile_example(tmp_path: Path, schema: dict[str, Any], source: str) -> subprocess.CompletedProcess[str]:
    """``tsc --noEmit`` over ``source`` (as index.ts) and the SDK typings, as a program would import them."""
    tsc = NODE / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail(f"{tsc} is missing: run scripts/setup (npm ci in tests/package/typescript)")
    (tmp_path / "sdk").mkdir()
    (tmp_path / "sdk" / "index.ts").write_text(typescript(schema))
    (tmp_path / "index.ts").write_text(source)
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2020",
            "module": "commonjs",
            "moduleResolution": "node",
            "skipLibCheck": True,  # the Pulumi SDK's own .d.ts files; ours is .ts and is checked
            "baseUrl": ".",
            "typeRoots": [str(NODE / "@types")],
            "paths": {"@pulumi/ai-platform": ["./sdk/index.ts"], "@pulumi/pulumi": [str(NODE / "@pulumi" / "pulumi")]},
        },
        "files": ["index.ts", "sdk/index.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        [str(tsc), "-p", str(tmp_path / "tsconfig.json")], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )


def test_typescript_example_type_checks_against_the_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    result = compile_example(tmp_path, schema, EXAMPLE.read_text())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("maxReceiveCount: 3", "maxReceiveCnt: 3"), "'maxReceiveCnt' does not exist"),
        (('environment: "dev"', 'environment: "staging"'), "'\"staging\"' is not assignable"),
        (("    budget: { monthlyAmount: 300 },\n", ""), "Property 'budget' is missing"),
    ],
)
def test_the_check_catches_what_the_schema_forbids(
    tmp_path: Path, schema: dict[str, Any], change: tuple[str, str], error: str
) -> None:
    """A misspelt input, a value outside an enum, a missing required input: tsc refuses each."""
    source = EXAMPLE.read_text()
    assert change[0] in source
    result = compile_example(tmp_path, schema, source.replace(change[0], change[1]))
    assert result.returncode != 0 and error in result.stdout, result.stdout


def _readme_programs() -> list[str]:
    """The TypeScript programs of the README's section on other languages."""
    section = (ROOT / "README.md").read_text().split("## From TypeScript, Go, C#, Java or YAML", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "pulumi package add" in section
    return [block.split("```", 1)[0] for block in section.split("```typescript\n")[1:]]


@pytest.mark.parametrize("index", [0, 1], ids=["platform-and-queue", "blocks-wired-by-outputs"])
def test_readme_typescript_programs_type_check(tmp_path: Path, schema: dict[str, Any], index: int) -> None:
    programs = _readme_programs()
    assert len(programs) == 2
    result = compile_example(tmp_path, schema, programs[index])
    assert result.returncode == 0, result.stdout + result.stderr
