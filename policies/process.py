"""Starting the pack's process, apart from speaking to it (:mod:`policies.analyzer`).

Light on purpose (no gRPC, no policy SDK): ``ai-platform plan`` starts the pack first and plans
while the pack imports its rules on the other core.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PACK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACK_DIR.parent


def pack_environment(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The pack's environment: ``project_dir`` first on the path, so *this* checkout's ``policies`` is
    imported (not whichever copy an editable install points at)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(project_dir), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass
class StartedPack:
    """A pack process that is starting: it prints its port on stdout once it serves."""

    pack_dir: Path
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]
    started_at: float = field(default_factory=time.perf_counter)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


def start_pack(
    pack_dir: Path = PACK_DIR,
    project_dir: Path | None = None,
    *,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> StartedPack:
    """Start the pack as the engine does: ``python -u -m pulumi.policy <engine-address> <pack-dir>``.

    ``python``, ``env`` and ``cwd`` run it elsewhere, e.g. in the pack's own virtualenv with
    nothing of this project on the path, as a published pack runs.
    """
    pack_dir = Path(pack_dir)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the pack; closed by stop()
    started_at = time.perf_counter()
    process = subprocess.Popen(
        # the engine passes its own address first; the pack never calls it, so any address will do
        [python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=env if env is not None else pack_environment(project_dir or pack_dir.parent),
        cwd=cwd,
    )
    return StartedPack(pack_dir, process, stderr, started_at)
