"""Write policies/rules/azure_taggable.py: the azure-native types that carry the required tags.

Scope: every resource of the azure-native modules the architecture uses (``MODULES``) whose args
take a ``tags`` map. The SDK is read as source, not imported (importing azure-native takes long):
a module's resource file names its type token in ``super().__init__('azure-native:<module>:<Name>'``
and its ``<Name>Args.__init__`` has a ``tags: pulumi.Input[Optional[Mapping[str, ...`` parameter.

Run after upgrading pulumi-azure-native::

    .venv/bin/python scripts/generate_azure_taggable.py          # rewrite the module
    .venv/bin/python scripts/generate_azure_taggable.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # the sibling typelist module, also when a test loads this file
from typelist import ROOT, module_text, write_or_check

OUTPUT = ROOT / "policies" / "rules" / "azure_taggable.py"

MODULES = (
    *("apimanagement", "app", "applicationinsights", "cognitiveservices", "containerregistry", "dbforpostgresql"),
    *("keyvault", "managedidentity", "monitor", "network", "operationalinsights", "privatedns", "redis"),
    "redisenterprise",
    *("resources", "servicebus", "storage"),
)
"""The azure-native modules the architecture uses (the scope of the list)."""

#: A resource file's type token, as its class registers it.
TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(azure-native:[A-Za-z0-9]+:[A-Za-z0-9]+)'")
_ARGS = re.compile(r"^class \w+Args:\n.*?def __init__\(__self__, \*,(.*?)\):\n", re.S | re.M)
_TAGS_MAP = re.compile(r"^\s+tags: pulumi\.Input\[Optional\[Mapping\[str,", re.M)


def sdk_dir() -> Path:
    spec = importlib.util.find_spec("pulumi_azure_native")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def taggable_types() -> list[str]:
    """The type tokens of ``MODULES``' resources whose args take a ``tags`` map, sorted."""
    found: set[str] = set()
    for module in MODULES:
        for path in sorted((sdk_dir() / module).glob("*.py")):
            if path.name.startswith(("_", "get_", "list_")):
                continue
            text = path.read_text()
            token, args = TOKEN.search(text), _ARGS.search(text)
            if token and args and _TAGS_MAP.search(args.group(1)):
                found.add(token.group(1))
    return sorted(found)


def main(argv: list[str]) -> int:
    text = module_text(
        summary="azure-native types that carry the required tags",
        script=Path(__file__).name,
        sdk="pulumi-azure-native",
        version=importlib.metadata.version("pulumi-azure-native"),
        constant="TAGGABLE_TYPES",
        types=taggable_types(),
    )
    return write_or_check(OUTPUT, text, argv, Path(__file__).name)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
