"""The targets registry is the one place that names the clouds in the component library."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from components import targets

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
#: the registry itself, and each target's own folder
ALLOWED = {COMPONENTS / "targets.py", *(COMPONENTS / name for name in targets.TARGETS)}

#: words that name a target or its provider, as code or prose would
CLOUD_WORDS = re.compile(
    r"\b(aws|amazon|gcp|google cloud|azure|azure-native|kubernetes|k8s|ecs|fargate|cloudwatch|sqs|pub/?sub|"
    r"service bus|cloud run|container apps)\b",
    re.IGNORECASE,
)


def naming_lines(path: Path) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CLOUD_WORDS.search(line)
    ]


def shared_files() -> list[Path]:
    return [
        path
        for path in sorted(COMPONENTS.rglob("*.py"))
        if path not in ALLOWED and not any(parent in ALLOWED for parent in path.parents)
    ]


def test_no_shared_file_in_components_names_a_cloud() -> None:
    assert [line for path in shared_files() for line in naming_lines(path)] == []


def test_the_check_sees_a_cloud_named_in_a_shared_file(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Waits for the SQS queue."""\nREGION_KEY = "aws:region"\nx = 1\n')
    assert len(naming_lines_of(sample, tmp_path)) == 2


def naming_lines_of(path: Path, root: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if CLOUD_WORDS.search(line)]


def test_every_available_target_has_its_folder_modules() -> None:
    for target in targets.TARGETS.values():
        if target.available:
            for module in ("spec", "platform", "mocks"):
                assert (COMPONENTS / target.name / f"{module}.py").is_file(), (target.name, module)


def test_an_unavailable_target_is_refused_by_the_registry() -> None:
    unavailable = [t for t in targets.TARGETS.values() if not t.available]
    for target in unavailable:
        with pytest.raises(targets.NotAvailable, match="not available in this release yet"):
            target.platform_class()


def test_type_tokens_map_to_their_target() -> None:
    assert targets.for_type("aws:sqs/queue:Queue") is targets.get("aws")
    assert targets.for_type("ai-platform:aws:Queue") is targets.get("aws")
    assert targets.for_type("azure-native:app:ContainerApp") is targets.get("azure")
    assert targets.for_type("kubernetes:apps/v1:Deployment") is targets.get("kubernetes")
    assert targets.for_type("docker-build:index:Image") is None
    with pytest.raises(KeyError, match="registered: aws, gcp, azure, kubernetes"):
        targets.get("openstack")


def test_importing_a_target_imports_no_policy_code() -> None:
    code = (
        "import sys, components.aws; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('policies', 'pulumi_policy', 'ai_platform_cli')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
