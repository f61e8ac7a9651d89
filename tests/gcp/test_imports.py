"""``import components.gcp`` stays cheap: no provider module until a block is used
(the cost itself is measured by benchmarks/gcp_import_bench.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_package_imports_no_provider_module_and_no_policy_code() -> None:
    loaded = _modules_after("import components.gcp")
    assert not [m for m in loaded if m.startswith(("pulumi_gcp", "policies"))]


def test_a_block_loads_only_its_own_provider_modules() -> None:
    """pulumi_gcp registers its services lazily: a service's code runs on first attribute access."""
    queue = _modules_after("from components.gcp import queue; queue.pubsub.Topic")
    assert "pulumi_gcp.pubsub.topic" in queue and "pulumi_gcp.compute.network" not in queue
    network = _modules_after("from components.gcp import network; network.compute.Network")
    assert "pulumi_gcp.compute.network" in network
