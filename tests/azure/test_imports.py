"""`import components.azure` stays cheap: no azure-native service module until a block is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_imports_no_service_module() -> None:
    code = "import sys, components.azure; print(sorted(m for m in sys.modules if m.startswith('pulumi_azure_native.')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
