"""`ai-platform plan`: exit codes, messages, the JSON graph and the diagram."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from components.cli import PLACEHOLDER, load_stack, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's Pulumi.yaml and stack files to edit freely."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def edit_stack(project: Path, stack: str, **changes: object) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].update(changes)
    path.write_text(yaml.safe_dump(document))


def test_unknown_stack_lists_the_stacks_there(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "aws-staging", "--project-dir", str(project)]) == 2
    error = capsys.readouterr().err
    assert "no stack file" in error and "aws-dev, aws-prod" in error


def test_bad_config_exits_2_naming_every_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_stack(
        project,
        "aws-dev",
        **{"ai-platform:environment": "qa", "ai-platform:gateway": {"domain": "api.example.com", "wafMode": "on"}},
    )
    assert main(["plan", "aws-dev", "--project-dir", str(project)]) == 2
    error = capsys.readouterr().err
    assert "ai-platform:environment = \"qa\": Input should be 'dev' or 'prod'" in error
    assert 'ai-platform:gateway.wafMode = "on": not a known setting' in error


def test_plain_text_secret_in_the_stack_file_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_stack(project, "aws-dev", **{"ai-platform:openaiApiKey": "sk-live-abc"})
    assert main(["plan", "aws-dev", "--project-dir", str(project)]) == 2
    error = capsys.readouterr().err
    assert "ai-platform:openaiApiKey" in error and "plain text" in error and "sk-live-abc" not in error


def test_secure_values_and_unset_secrets_become_secret_placeholders(project: Path) -> None:
    edit_stack(project, "aws-dev", **{"ai-platform:openaiApiKey": {"secure": "v1:AAAA"}})
    stack = load_stack(project, "aws-dev")
    assert stack.config["ai-platform:openaiApiKey"] == PLACEHOLDER
    assert set(stack.placeholders) == set(stack.secret_keys)
    assert "ai-platform:redisAuthToken" in stack.placeholders


def test_no_pulumi_yaml_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "aws-dev"]) == 2
    assert "no Pulumi.yaml" in capsys.readouterr().err


def test_json_graph_has_the_documented_shape(tmp_path: Path) -> None:
    target = tmp_path / "graph.json"
    assert main(["plan", "aws-dev", "--project-dir", str(ROOT), "--json", str(target)]) == 0
    graph = json.loads(target.read_text())
    assert set(graph) == {"stack", "project", "cloud", "resources", "outputs"}
    assert (graph["stack"], graph["project"], graph["cloud"]) == ("aws-dev", "ai-platform", "aws")
    assert all(set(r) == {"urn", "type", "name", "parent", "inputs", "dependencies"} for r in graph["resources"])
    by_type = {r["type"]: r for r in graph["resources"]}
    cache = by_type["aws:elasticache/replicationGroup:ReplicationGroup"]
    assert cache["inputs"]["authToken"] == "[secret]"  # secret values are masked, camelCase wire names
    assert any("aws:kms/key:Key" in dependency for dependency in cache["dependencies"])
    assert graph["outputs"]["url"] == "https://api.dev.example.com"
    assert "offline-placeholder" not in target.read_text()
