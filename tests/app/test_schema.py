"""Schemathesis against the live OpenAPI schema: no 5xx, documented statuses, schema-valid answers."""

import subprocess
import sys

from tests.app.support import API_KEY, AppProcess


def test_schemathesis_finds_no_failures(full_app: AppProcess, tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{full_app.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {API_KEY}",
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--seed",
            "7",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "No issues found" in result.stdout, result.stdout[-4000:]
