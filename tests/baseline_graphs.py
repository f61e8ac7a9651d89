"""The planned graphs of the shipped AWS stacks as they were before the multi-target refactor.

``tests/baselines/<stack>.json`` maps each URN to its type and inputs, with the project
directory written as ``<project>`` so the files do not depend on where the clone lives.
``python -m tests.baseline_graphs`` rewrites them: only for a reviewed, intended change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from components.testing import Graph

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "tests" / "baselines"
STACKS = ("aws-dev", "aws-prod")


#: the image tag names a hash of app/'s sources, which every app change moves
_SOURCE_TAG = re.compile(r":src-[0-9a-f]{16}")


def _neutral(text: str) -> dict[str, Any]:
    return json.loads(_SOURCE_TAG.sub(":src-<app sources>", text.replace(str(ROOT), "<project>")))


def snapshot(graph: Graph) -> dict[str, Any]:
    """URN -> {type, inputs}, with the project directory and the app's source hash made neutral."""
    return _neutral(json.dumps({r.urn: {"type": r.type, "inputs": r.inputs} for r in graph.resources}, sort_keys=True))


def load(stack: str) -> dict[str, Any]:
    return _neutral((BASELINES / f"{stack}.json").read_text())


def main() -> None:
    from ai_platform_cli.main import load_stack, plan_stack

    for stack in STACKS:
        document = snapshot(plan_stack(load_stack(ROOT, stack)))
        (BASELINES / f"{stack}.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"{stack}: {len(document)} resources")


if __name__ == "__main__":
    main()
