"""`ai-platform cost` and `ai-platform plan --cost`: the printed estimate, its JSON, the diff, the
budget rule fed from the estimate, and bad input (exit 2, naming the key, the value, what is allowed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_platform_cli.main import main
from tests.test_cli import edit_stack


def test_cost_prints_the_total_then_blocks_and_writes_json(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "estimate.json"
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    document = json.loads(out_file.read_text())
    assert out.startswith("Monthly estimate for aws-dev (aws, eu-west-1), prices of ")
    assert f"TOTAL {document['total']:,.2f} USD/month: fixed {document['fixed']:,.2f}" in out
    assert "budget alerts at 50 % = 150.00, 80 % = 240.00, 100 % = 300.00 USD" in out
    assert "not priced: none" in out


def test_a_usage_file_beside_the_stacks_is_picked_up(project: Path, tmp_path: Path) -> None:
    (project / "stacks" / "usage").mkdir()
    (project / "stacks" / "usage" / "aws-dev.yaml").write_text("traffic:\n  requestsPerMonth: 1000\n")
    out_file = tmp_path / "estimate.json"
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--json", str(out_file)]) == 0
    assumptions = {a["key"]: a for a in json.loads(out_file.read_text())["assumptions"]}
    assert assumptions["requestsPerMonth"]["value"] == 1000
    assert assumptions["requestsPerMonth"]["source"].endswith("stacks/usage/aws-dev.yaml")


def test_bad_usage_and_unknown_region_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage = project / "usage.yaml"
    usage.write_text("resources:\n  no-such-resource: {gbProcessed: 1}\n")
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--usage", str(usage)]) == 2
    assert "resources.no-such-resource = {'gbProcessed': 1}: names no planned resource" in capsys.readouterr().err
    edit_stack(project, "aws-dev", **{"aws:region": "ap-south-2"})
    assert main(["cost", "aws-dev", "--project-dir", str(project)]) == 2
    assert "error: aws:region = 'ap-south-2': the price table (prices.json) has no prices" in capsys.readouterr().err


def test_cost_diff_prints_markdown_per_block(project: Path, tmp_path: Path, capsys) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--json", str(base)]) == 0
    edit_stack(project, "aws-dev", **{"ai-platform:network": {"cidr": "10.20.0.0/16", "natGateways": "perZone"}})
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--json", str(head)]) == 0
    capsys.readouterr()
    assert main(["cost", "--diff", str(base), str(head)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Monthly cost: aws-dev +")
    network = next(line for line in out.splitlines() if line.startswith("| network |"))
    assert "+ai-platform-network-nat-1" in network and "+ai-platform-network-nat-eip-1" in network
    assert not any(line.startswith("| cache |") for line in out.splitlines())  # unchanged blocks are left out


def test_cost_diff_of_a_file_that_is_not_an_estimate_exits_2(tmp_path: Path, capsys) -> None:
    other = tmp_path / "graph.json"
    other.write_text(json.dumps({"stack": "x", "resources": []}))
    assert main(["cost", "--diff", str(other), str(other)]) == 2
    assert "(missing total, fixed, blocks)" in capsys.readouterr().err


def test_write_policy_config_adds_the_rule_figures_to_an_existing_file(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"insecure-opt-outs": "mandatory"}))
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--write-policy-config", str(config)]) == 0
    written = json.loads(config.read_text())
    assert written["insecure-opt-outs"] == "mandatory"
    rule = written["budget-covers-baseline"]
    assert rule["enforcementLevel"] == "advisory" and rule["monthlyBudget"] == 300
    assert 0 < rule["fixedMonthlyBaseline"] < 300


def test_plan_cost_feeds_the_budget_rule_advisory_then_mandatory(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_stack(project, "aws-dev", **{"ai-platform:budget": {"monthlyAmount": 100}})
    graph = tmp_path / "plan.json"
    assert main(["plan", "aws-dev", "--cost", "--project-dir", str(project), "--json", str(graph)]) == 0
    document = json.loads(graph.read_text())
    fixed = document["cost"]["fixed"]
    [violation] = [v for v in document["policy"]["violations"] if v["policy"] == "budget-covers-baseline"]
    assert violation["level"] == "advisory"
    assert (
        f"the monthly budget (100.00 USD) is below the stack's fixed baseline ({fixed:,.2f} USD"
        in (violation["message"])
    )
    edit_stack(project, "aws-dev", **{"ai-platform:budget": {"monthlyAmount": 100, "baselineCheck": "mandatory"}})
    assert main(["plan", "aws-dev", "--cost", "--no-readiness", "--project-dir", str(project)]) == 1
    assert "budget-covers-baseline  [mandatory" in capsys.readouterr().out


def test_cost_diff_of_an_estimate_with_malformed_blocks_exits_2(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"stack": "x", "total": 1, "fixed": 1, "blocks": [1, 2]}))
    assert main(["cost", "--diff", str(broken), str(broken)]) == 2
    assert "blocks = [1, 2]: must be a list of {name, monthly, resources}" in capsys.readouterr().err


def test_a_missing_usage_file_and_no_stack_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "aws-dev", "--project-dir", str(project), "--usage", str(project / "nope.yaml")]) == 2
    assert "usage file" in capsys.readouterr().err
    assert main(["cost"]) == 2
    assert "give a STACK to estimate, or --diff BASE.json HEAD.json" in capsys.readouterr().err
