"""The repository stands on its own: no file points readers outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = ("../shared", "shared/DESIGN.md", "shared/seeds")


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pointing = [
        name
        for name in files
        if name != "tests/test_docs.py"
        and (ROOT / name).is_file()
        and any(marker in (ROOT / name).read_text(errors="ignore") for marker in OUTSIDE)
    ]
    assert pointing == []


def test_the_architecture_is_documented_in_the_repository() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    for heading in ("## The flow of data", "## Building blocks per target", "## What is verified offline"):
        assert heading in text
