"""`ai-platform plan`: exit codes, messages, the JSON graph and the diagram."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ai_platform_cli.main import PLACEHOLDER, load_stack, main
from policies.process import start_pack

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


def test_the_pack_started_alongside_the_plan_is_stopped_when_the_plan_fails(project: Path, monkeypatch) -> None:
    import ai_platform_cli.main as cli

    started = []

    def start_and_record():
        pack = start_pack()
        started.append(pack)
        return pack

    monkeypatch.setattr(cli, "start_pack", start_and_record)
    edit_stack(project, "aws-dev", **{"ai-platform:environment": "qa"})
    assert main(["plan", "aws-dev", "--project-dir", str(project)]) == 2
    assert len(started) == 1 and started[0].process.poll() is not None


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
    assert main(["plan", "aws-dev", "--project-dir", str(ROOT), "--json", str(target), "--no-policy"]) == 0
    graph = json.loads(target.read_text())
    assert set(graph) == {"stack", "project", "cloud", "resources", "outputs", "readiness"}
    assert graph["readiness"] == []
    assert (graph["stack"], graph["project"], graph["cloud"]) == ("aws-dev", "ai-platform", "aws")
    keys = {"urn", "type", "name", "parent", "custom", "inputs", "outputs", "dependencies", "propertyDependencies"}
    assert all(set(r) == keys for r in graph["resources"])
    by_type = {r["type"]: r for r in graph["resources"]}
    cache = by_type["aws:elasticache/replicationGroup:ReplicationGroup"]
    assert cache["inputs"]["authToken"] == "[secret]"  # secret values are masked, camelCase wire names
    assert any("aws:kms/key:Key" in dependency for dependency in cache["dependencies"])
    assert any("aws:kms/key:Key" in urn for urn in cache["propertyDependencies"]["kmsKeyId"])
    platform = by_type["ai-platform:aws:AiPlatform"]  # a component: the outputs it registered
    assert platform["custom"] is False and platform["outputs"]["environment"] == "dev"
    assert graph["outputs"]["url"] == "https://api.dev.example.com"
    assert "offline-placeholder" not in target.read_text()


def write_policy_config(path: Path, config: dict) -> str:
    path.write_text(json.dumps(config))
    return str(path)


def test_plan_runs_the_policy_pack_and_adds_its_report_to_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "graph.json"
    config = write_policy_config(tmp_path / "policy.json", {"all": "advisory"})
    args = ["plan", "aws-dev", "--project-dir", str(ROOT), "--json", str(target), "--policy-config", config]
    assert main(args) == 0
    assert "policy passed: 0 mandatory" in capsys.readouterr().out
    policy = json.loads(target.read_text())["policy"]
    assert policy["pack"] == "ai-platform-production"
    assert all(set(v) == {"policy", "level", "severity", "urn", "message"} for v in policy["violations"])
    assert all(v["level"] == "advisory" for v in policy["violations"])


def test_a_mandatory_violation_exits_1_grouped_by_rule_and_resource(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_stack(project, "aws-dev", **{"ai-platform:insecure": {"disableWaf": True}})
    config = write_policy_config(tmp_path / "policy.json", {"all": "advisory", "insecure-opt-outs": "mandatory"})
    assert main(["plan", "aws-dev", "--project-dir", str(project), "--policy-config", config]) == 1
    out = capsys.readouterr().out
    report = out[out.index("insecure-opt-outs  [mandatory, medium]") :]
    assert report.splitlines()[1].endswith("ai-platform:aws:AiPlatform::ai-platform")
    assert "insecure.disableWaf is set on ai-platform (ai-platform:aws:AiPlatform)" in report.splitlines()[2]
    assert "policy FAILED: 1 mandatory" in out


def test_bad_policy_config_exits_2_naming_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_policy_config(tmp_path / "policy.json", {"log-retention": {"minimumRetentionDays": "long"}})
    assert main(["plan", "aws-dev", "--project-dir", str(ROOT), "--policy-config", config]) == 2
    assert 'log-retention.minimumRetentionDays = "long": "long" is not of type "integer"' in capsys.readouterr().err


SAMPLES = ROOT / "tests" / "policies" / "samples"


@pytest.mark.parametrize("sample", ["plan-graph.json", "stack-export.json", "preview.json"])
def test_policy_check_reads_plan_graphs_stack_exports_and_previews(
    sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    # the samples have no budget and no alarms: budget-and-alerts is a mandatory violation
    assert main(["policy", "check", str(SAMPLES / sample), "--json", str(out)]) == 1
    assert "budget-and-alerts  [mandatory, high]" in capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["policy"]["pack"] == "ai-platform-production"
    config = write_policy_config(tmp_path / "policy.json", {"all": "advisory"})
    assert main(["policy", "check", str(SAMPLES / sample), "--policy-config", config]) == 0


def test_policy_check_of_an_unknown_file_format_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')
    assert main(["policy", "check", str(path)]) == 2
    assert "none of the formats" in capsys.readouterr().err


def test_the_cli_loads_the_policy_sdk_only_when_the_pack_runs() -> None:
    heavy = ("pulumi_policy", "policies.analyzer", "jsonschema_rs")
    code = f"import sys, ai_platform_cli.main; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_a_readiness_finding_fails_the_plan_and_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from components import targets

    monkeypatch.setattr(targets.Target, "readiness_findings", lambda self, graph: ["[order] x waits for nothing"])
    assert main(["plan", "aws-dev", "--no-policy"]) == 1
    out = capsys.readouterr().out
    assert "deploy readiness: 1 finding(s)" in out and "[order] x waits for nothing" in out
    assert main(["plan", "aws-dev", "--no-policy", "--no-readiness"]) == 0
