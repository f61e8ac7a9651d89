"""Stack files that import Pulumi ESC environments: planned with `--env FILE` (the resolved values of
`pulumi env open ENV --format json`); without it, the error names the environment to open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from ai_platform_cli.main import load_stack, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """aws-dev with its region and alert address moved into an ESC environment."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    path = tmp_path / "stacks" / "Pulumi.aws-dev.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"].pop("aws:region")
    document["environment"] = ["ai-platform/aws-dev"]
    path.write_text(yaml.safe_dump(document))
    return tmp_path


def write_env(path: Path, config: dict) -> Path:
    path.write_text(json.dumps({"pulumiConfig": config, "environmentVariables": {"AWS_REGION": "eu-west-1"}}))
    return path


def test_without_the_values_the_error_names_the_environment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "aws-dev", "--project-dir", str(project), "--no-policy"]) == 2
    error = capsys.readouterr().err
    assert "Pulumi ESC environment ai-platform/aws-dev" in error
    assert "pulumi env open ai-platform/aws-dev --format json > env.json" in error


def test_with_the_values_the_stack_plans_in_the_region_they_give(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = write_env(tmp_path / "env.json", {"aws:region": "eu-west-1", "redisAuthToken": "from-esc-0123456789abcdef"})
    graph_file = tmp_path / "graph.json"
    code = main(
        ["plan", "aws-dev", "--project-dir", str(project), "--env", str(env), "--no-policy", "--json", str(graph_file)]
    )
    assert code == 0, capsys.readouterr().err
    graph = json.loads(graph_file.read_text())
    queues = [r for r in graph["resources"] if r["type"] == "aws:sqs/queue:Queue"]
    assert queues and all(":eu-west-1:" in r["outputs"]["arn"] for r in queues)


def test_esc_keys_without_a_namespace_are_the_projects_and_its_secrets_count_as_secret(
    project: Path, tmp_path: Path
) -> None:
    env = write_env(tmp_path / "env.json", {"aws:region": "eu-west-1", "redisAuthToken": "from-esc-0123456789abcdef"})
    stack = load_stack(project, "aws-dev", env)
    assert stack.config["aws:region"] == "eu-west-1"
    assert stack.config["ai-platform:redisAuthToken"] == "from-esc-0123456789abcdef"
    assert "ai-platform:redisAuthToken" in stack.secret_keys
    assert "ai-platform:redisAuthToken" not in stack.placeholders


@pytest.mark.parametrize(
    ("content", "words"),
    [("not json", "not a JSON file"), ('{"pulumiConfig": [1]}', "`pulumiConfig` must be a mapping")],
)
def test_a_bad_env_file_is_a_usage_error(
    project: Path, tmp_path: Path, content: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "env.json"
    env.write_text(content)
    assert main(["plan", "aws-dev", "--project-dir", str(project), "--env", str(env), "--no-policy"]) == 2
    assert words in capsys.readouterr().err
