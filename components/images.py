"""What every target's registry block shares about the app image: its content-derived tag."""

from __future__ import annotations

import hashlib
from pathlib import Path

_IGNORED_PARTS = {".git", "__pycache__", ".venv", "venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}


def context_tag(context: Path) -> str:
    """A tag derived from the build context's contents (paths and bytes), so an unchanged app keeps
    its tag and a changed one gets a new one: ECR tags are immutable and cannot be re-pointed."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context)
        if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"src-{digest.hexdigest()[:16]}"
