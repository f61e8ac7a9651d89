"""The pack is an artifact of its own: it imports nothing of the component library, its
requirements.txt covers what it imports, and a copy of its folder alone runs as a published pack.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import targets
from policies import providers
from policies.analyzer import AnalyzedResource, PackClient
from policies.config import resolve_config
from policies.process import PACK_DIR, start_pack
from tests.policies.fixtures import urn

LIBRARY = {"components", "ai_platform_cli", "app"}
"""The component library and the rest of this repository: the pack is the lower layer."""


def imports(folder: Path) -> Iterator[tuple[Path, int, str]]:
    """Every absolute import in the folder's Python files: (file, line, dotted module name)."""
    for path in sorted(folder.rglob("*.py")):
        if "venv" in path.relative_to(folder).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield from ((path, node.lineno, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module


def library_imports(folder: Path) -> list[str]:
    return [f"{path.name}:{line}: {name}" for path, line, name in imports(folder) if name.split(".")[0] in LIBRARY]


def test_the_pack_imports_nothing_of_the_component_library() -> None:
    assert library_imports(PACK_DIR) == []


def test_the_import_walk_sees_a_library_import(tmp_path: Path) -> None:
    (tmp_path / "rule.py").write_text(
        "import json\nfrom components.tagging import TAGS\n\ndef f():\n    import ai_platform_cli.main\n"
    )
    assert library_imports(tmp_path) == ["rule.py:2: components.tagging", "rule.py:5: ai_platform_cli.main"]


def _requirements() -> set[str]:
    names = set()
    for line in (PACK_DIR / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_normalise(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(module: str) -> str:
    """The installed distribution that provides ``module`` (by the file it is loaded from)."""
    candidates = importlib.metadata.packages_distributions().get(module.split(".")[0], [])
    if len(candidates) == 1:
        return _normalise(candidates[0])
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin).resolve()
    for name in candidates:
        files = importlib.metadata.distribution(name).files or []
        if any(Path(str(f.locate())).resolve() == origin for f in files):
            return _normalise(name)
    raise AssertionError(f"no distribution provides {module} ({origin})")


def test_requirements_txt_names_every_distribution_the_pack_imports_and_no_other() -> None:
    third_party = {
        name
        for _, _, name in imports(PACK_DIR)
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "policies"
    }
    needed = {_distribution(name) for name in third_party}
    assert needed == _requirements()


def test_the_packs_provider_table_agrees_with_the_targets_registry() -> None:
    """The pack keeps its own copy (it ships alone); the library's registry is where targets are added."""
    expected = {
        package: (target.tag_style.word, target.tag_style.wire_paths, target.region_key is not None)
        for target in targets.TARGETS.values()
        for package in target.provider_packages
    }
    found = {name: (p.tag_style.word, p.tag_style.wire_paths, p.billed) for name, p in providers.PROVIDERS.items()}
    assert found == expected


def test_pulumi_policy_yaml_uses_a_virtualenv_of_the_packs_own() -> None:
    text = (PACK_DIR / "PulumiPolicy.yaml").read_text()
    assert re.search(r"^\s+virtualenv: venv$", text, re.M)
    assert ".." not in "".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


# --- the published layout ------------------------------------------------------------------------


def _own_venv(pack: Path) -> Path:
    """``<pack>/venv`` as PulumiPolicy.yaml names it, seeing this machine's installed distributions but
    not the editable install of this repository (its finder is a .pth the new venv does not run)."""
    venv = pack / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    installed = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "pulumi_policy").is_dir())
    [site] = venv.glob("lib/python*/site-packages")
    (site / "installed.pth").write_text(f"{installed}\n")
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackClient]:
    """The pack folder alone, as the engine unpacks a published pack: another folder name, nothing around it."""
    root = tmp_path_factory.mktemp("published")
    pack = root / "ai-platform-production-v0.1.0"
    shutil.copytree(PACK_DIR, pack, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    python = _own_venv(pack)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    for module in sorted(LIBRARY | {"policies"}):
        probe = subprocess.run([python, "-c", f"import {module}"], cwd=root, env=env, capture_output=True)
        assert probe.returncode != 0, f"{module} is importable in the published layout's venv"
    with PackClient(started=start_pack(pack, python=str(python), env=env, cwd=root)) as client:
        yield client


def test_the_pack_folder_alone_serves_the_analyzer_protocol(published: PackClient) -> None:
    info = published.get_info()
    assert info.name == "ai-platform-production"
    assert "required-tags" in [p.name for p in info.policies]
    published.configure(resolve_config(None, info))
    queue = AnalyzedResource("aws:sqs/queue:Queue", {"name": "jobs"}, urn("aws:sqs/queue:Queue", "jobs"), "jobs")
    report = published.analyze(queue)
    assert [(v.policy, v.level) for v in report.violations if v.policy == "required-tags"] == [
        ("required-tags", "mandatory")
    ]
