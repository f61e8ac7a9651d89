"""Write policies/rules/aws_taggable.py: the AWS resource types whose inputs take a `tags` map.

The required-tags rule needs to know which AWS types are taggable; the installed pulumi_aws SDK
is the source of truth: a resource is taggable when its ``<Name>Args.__init__`` has a ``tags``
parameter typed as a string map (a few types, such as autoscaling groups, take a list of tag
objects instead and are left out). The SDK is read as source (importing all of it takes long).

Run after upgrading pulumi_aws::

    .venv/bin/python scripts/generate_aws_taggable.py
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pulumi_aws

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # the sibling typelist module, also when a test loads this file
from typelist import ROOT, module_text, write_or_check

OUTPUT = ROOT / "policies" / "rules" / "aws_taggable.py"


def _sdk_version(package: Path) -> str:
    return json.loads((package / "pulumi-plugin.json").read_text())["version"]


def _tokens(tree: ast.Module) -> dict[str, str]:
    """Class name -> type token, from ``super(Class, __self__).__init__('aws:...', ...)``."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"):
            continue
        inner = node.func.value
        if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "super"):
            continue
        if not (inner.args and isinstance(inner.args[0], ast.Name)):
            continue
        if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            token = node.args[0].value
            if token.startswith("aws:"):
                found[inner.args[0].id] = token
    return found


def _takes_tag_map(args_class: ast.ClassDef) -> bool:
    for item in args_class.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for arg in item.args.kwonlyargs + item.args.args:
                if arg.arg == "tags" and arg.annotation is not None:
                    return "Mapping[str" in ast.unparse(arg.annotation)
    return False


def taggable_types(package: Path) -> list[str]:
    types: set[str] = set()
    for path in sorted(package.glob("*/*.py")):
        source = path.read_text()
        if "__self__).__init__(" not in source or "tags" not in source:
            continue
        tree = ast.parse(source)
        tokens = _tokens(tree)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.endswith("Args") and _takes_tag_map(node):
                token = tokens.get(node.name[: -len("Args")])
                if token:
                    types.add(token)
    return sorted(types)


def main(argv: list[str]) -> int:
    package = Path(pulumi_aws.__file__).parent
    text = module_text(
        summary="AWS resource types whose inputs take a `tags` map",
        script=Path(__file__).name,
        sdk="pulumi_aws",
        version=_sdk_version(package),
        constant="TAGGABLE_TYPES",
        types=taggable_types(package),
    )
    return write_or_check(OUTPUT, text, argv, Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
