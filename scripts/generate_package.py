"""Write the component package's generated files: the facades (provider/<target>.py,
provider/spec_types.py) from the blocks and the stack spec, then provider/schema.json from the
facades (the schema `pulumi package get-schema` prints, inferred by Pulumi's Python SDK).

Run after changing a block's args or outputs, or the stack spec; commit the diff::

    .venv/bin/python scripts/generate_package.py          # write
    .venv/bin/python scripts/generate_package.py --check  # exit 1 when a file is out of date
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provider import codegen  # noqa: E402

SCHEMA = ROOT / "provider" / "schema.json"


def schema_text() -> str:
    """The schema as checked in (sorted keys, two-space indent), from the facades now on disk."""
    import provider

    for name in ("spec_types", "aws", "gcp", "azure", "kubernetes"):
        module = sys.modules.get(f"provider.{name}")
        if module is not None:
            importlib.reload(module)
    return json.dumps(codegen.schema(provider.components()), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    files, _ = codegen.render_modules()
    stale = [name for name, text in files.items() if (ROOT / "provider" / name).read_text() != text]
    if "--check" in argv:
        if not stale and SCHEMA.read_text() == schema_text():
            return 0
        print(f"out of date: {', '.join(stale) or 'provider/schema.json'}; run scripts/generate_package.py")
        return 1
    for name, text in files.items():
        (ROOT / "provider" / name).write_text(text)
    SCHEMA.write_text(schema_text())
    print(f"wrote provider/{{{','.join(files)}}} and provider/schema.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
