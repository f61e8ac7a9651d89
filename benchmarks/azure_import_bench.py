"""Benchmark the import cost of the Azure target (a script that prints figures; not a test).

Each figure is the median wall time of a fresh ``python -c`` process, minus the median of a
process that imports only ``pulumi`` (measured side by side in the same run):
  1. ``import components.azure``: the package, with no azure-native service module;
  2. each block's azure-native service module, imported after the package (what building that
     block adds the first time);
  3. every block's module at once (what ``AiPlatform`` pays).

Usage: .venv/bin/python benchmarks/azure_import_bench.py [--runs N]
Targets (issue 13, 2 busy cores): package <= 1 s; network about 2 s, apimanagement and app about
0.5 s each; all blocks 5-7 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the azure-native service modules the blocks import (components/azure/*.py) and a class of each
MODULES = {
    "network": "VirtualNetwork",
    "privatedns": "PrivateZone",
    "storage": "StorageAccount",
    "apimanagement": "ApiManagementService",
    "app": "ContainerApp",
    "keyvault": "Vault",
    "redisenterprise": "RedisEnterprise",
    "dbforpostgresql": "Server",
    "servicebus": "Namespace",
    "cognitiveservices": "Account",
    "containerregistry": "Registry",
    "operationalinsights": "Workspace",
    "applicationinsights": "Component",
    "monitor": "MetricAlert",
    "consumption": "Budget",
    "authorization": "RoleAssignment",
    "managedidentity": "UserAssignedIdentity",
    "resources": "ResourceGroup",
}


def use(module: str) -> str:
    """Code that loads ``module`` for real (the SDK's service modules are lazy until an attribute is read)."""
    return f"from pulumi_azure_native.{module} import {MODULES[module]}"


def timed(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    base = timed("import pulumi", runs)
    package = timed("import pulumi, components.azure", runs)
    print(f"baseline (python + import pulumi): {base:.2f} s")
    print(f"import components.azure:           {package - base:+.2f} s (target <= 1 s)")
    for module in MODULES:
        cost = timed(f"import pulumi, components.azure; {use(module)}", runs) - package
        print(f"  + pulumi_azure_native.{module:<22} {cost:+.2f} s")
    every = "; ".join(use(m) for m in MODULES)
    total = timed(f"import pulumi, components.azure; {every}", runs) - package
    print(f"all block modules together:        {total:+.2f} s (target 5-7 s)")


if __name__ == "__main__":
    main()
