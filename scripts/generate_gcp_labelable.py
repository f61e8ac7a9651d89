"""Write policies/rules/gcp_labelable.py: the GCP resource types whose inputs take labels.

The required-tags rule checks every GCP resource that can carry labels. Which ones can is a fact of
the pulumi_gcp SDK, so it is derived from it rather than kept by hand: a resource is labelable when
its constructor (``_internal_init``) has a top-level ``labels``, ``user_labels`` or ``resource_labels``
parameter (wire names ``labels``, ``userLabels``, ``resourceLabels``: what ``Resource.tags`` reads).
Cloud SQL keeps its labels one level down (``settings.userLabels``) and a notification channel has
both ``labels`` (its configuration) and ``userLabels``; the rule reads those two types from
``LABEL_PATHS`` in policies/rules/gcp.py.

Run after upgrading pulumi-gcp::

    .venv/bin/python scripts/generate_gcp_labelable.py          # rewrite the module
    .venv/bin/python scripts/generate_gcp_labelable.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pulumi_gcp

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # the sibling typelist module, also when a test loads this file
from typelist import ROOT, module_text, write_or_check

TARGET = ROOT / "policies" / "rules" / "gcp_labelable.py"
LABEL_PARAMS = ("labels", "user_labels", "resource_labels")

_INIT = re.compile(r"    def _internal_init\(__self__,\n(.*?)\):\n.*?\n\s+'(gcp:\w+/\w+:\w+)',\n", re.S)
_PARAM = re.compile(r"^ {17}(\w+):", re.M)


def labelable_types(package: Path) -> list[str]:
    """Type tokens of the resources whose constructor takes a top-level label map."""
    found: set[str] = set()
    for path in sorted(package.glob("*/*.py")):
        if path.name.startswith("_") or path.parent.name == "config":
            continue
        text = path.read_text()
        found.update(token for params, token in _INIT.findall(text) if set(_PARAM.findall(params)) & set(LABEL_PARAMS))
    return sorted(found)


def main(argv: list[str]) -> int:
    text = module_text(
        summary="GCP resource types whose inputs take labels",
        script=Path(__file__).name,
        sdk="pulumi-gcp",
        version=importlib.metadata.version("pulumi-gcp"),
        constant="LABELABLE_TYPES",
        types=labelable_types(Path(pulumi_gcp.__file__).parent),
    )
    return write_or_check(TARGET, text, argv, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
