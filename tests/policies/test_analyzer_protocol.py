"""The pack through the real Analyzer gRPC protocol, started as its own process as the engine starts it.

Content-agnostic where the per-target rules are still being written: every fixture under
``tests/policies/fixtures`` must give the same findings through the protocol as in-process, and
the concrete assertions use the cross-target rules (``policies/rules/common.py``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from policies.analyzer import UNKNOWN_VALUE, AnalyzedResource, PackClient, Report, merge
from policies.catalog import RULES
from policies.check import check_graph
from policies.config import resolve_config
from policies.errors import PackError
from policies.framework import rule_waivers
from policies.inprocess import Finding, InProcessPack, PlannedResource
from policies.inputs import parse_graph
from policies.process import PROJECT_DIR, pack_environment
from policies.rules import ALL_CHECKS
from tests.policies.fixtures import load_all, urn

WAIVERS = rule_waivers(ALL_CHECKS)

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_FIXTURES, STACK_FIXTURES = load_all()
PLATFORM = "ai-platform:aws:AiPlatform"
SHIPPED_STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.fixture(scope="module")
def pack() -> Iterator[PackClient]:
    with PackClient() as client:
        yield client


def configure(pack: PackClient, raw: dict | None = None) -> None:
    pack.configure(resolve_config(raw, pack.get_info()))


def resource(type_: str, name: str, props: dict, **extra) -> AnalyzedResource:
    return AnalyzedResource(type=type_, props=props, urn=urn(type_, name), name=name, **extra)


def platform(opt_outs: Sequence[str] = (), environment: str = "prod") -> AnalyzedResource:
    return resource(PLATFORM, "platform", {"cloud": "aws", "environment": environment, "optOuts": list(opt_outs)})


def queue() -> AnalyzedResource:
    return resource("aws:sqs/queue:Queue", "jobs", {"name": "jobs", "tags": {"owner": "me"}})


# --- starting the pack ---------------------------------------------------------------------------


def test_the_pack_process_imports_this_checkouts_policies() -> None:
    """The pack runs with the project directory first on its path, not an editable install's copy."""
    found = subprocess.run(
        [sys.executable, "-c", "import policies; print(policies.__file__)"],
        env=pack_environment(),
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout.strip()
    assert Path(found).resolve() == (PROJECT_DIR / "policies" / "__init__.py").resolve()


def test_a_pack_that_dies_on_start_up_gives_its_stderr(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (broken / "__main__.py").write_text("raise RuntimeError('the pack is broken on purpose')\n")
    with pytest.raises(PackError, match=r"(?s)exited .*before serving.*the pack is broken on purpose"):
        PackClient(broken, start_timeout=30)


# --- GetAnalyzerInfo and Configure -----------------------------------------------------------------


def test_get_analyzer_info_lists_every_catalog_rule(pack: PackClient) -> None:
    info = pack.get_info()
    assert info.name == "ai-platform-production"
    assert [p.name for p in info.policies] == [r.name for r in RULES]
    for rule, policy in zip(RULES, info.policies, strict=True):
        assert policy.description == rule.description
        assert policy.level == rule.enforcement.value
        assert policy.severity == rule.severity.value
        assert policy.remediation == rule.remediation
        assert policy.scope == ("stack" if rule.name in WAIVERS else rule.scope)
        properties = policy.config_schema.get("properties", {})
        assert set(properties) == set(rule.config)
        for key, schema in rule.config.items():
            assert properties[key]["default"] == schema["default"]


def test_configure_changes_a_setting_and_a_level(pack: PackClient) -> None:
    stack = [platform(["disableWaf", "disableDeletionProtection"]), queue()]
    configure(pack)
    assert sorted(
        v.message.split(": ")[1].split(" ")[0]
        for v in pack.analyze_stack(stack).violations
        if v.policy == "insecure-opt-outs"
    ) == [
        "insecure.disableDeletionProtection",
        "insecure.disableWaf",
    ]
    configure(pack, {"insecure-opt-outs": {"enforcementLevel": "mandatory", "allowed": ["disableWaf"]}})
    [violation] = [v for v in pack.analyze_stack(stack).violations if v.policy == "insecure-opt-outs"]
    assert violation.level == "mandatory"
    assert "insecure.disableDeletionProtection" in violation.message


def test_a_disabled_policy_is_silent(pack: PackClient) -> None:
    stack = [platform(), queue()]
    configure(pack)
    assert {v.policy for v in pack.analyze_stack(stack).violations} == {"budget-and-alerts"}
    configure(pack, {"budget-and-alerts": "disabled"})
    assert pack.analyze_stack(stack).violations == []
    configure(pack, {"all": "disabled"})
    assert pack.analyze_stack([platform(["disableWaf"]), queue()]).violations == []


# --- Analyze and AnalyzeStack ----------------------------------------------------------------------


def test_analyze_stack_reports_the_common_rules_on_the_platform_component(pack: PackClient) -> None:
    configure(pack)
    report = pack.analyze_stack([platform(["disableWaf"]), queue()])
    anchor = urn(PLATFORM, "platform")
    assert sorted((v.policy, v.level, v.severity, v.urn, v.message) for v in report.violations) == sorted(
        [
            ("budget-and-alerts", "mandatory", "high", anchor, "the stack has no alert on request latency"),
            ("budget-and-alerts", "mandatory", "high", anchor, "the stack has no alert on server errors (5xx)"),
            (
                "budget-and-alerts",
                "mandatory",
                "high",
                anchor,
                "the stack has no budget with notifications (AWS Budget, GCP billing budget, Azure consumption budget)",
            ),
            (
                "insecure-opt-outs",
                "advisory",
                "medium",
                anchor,
                f"the stack opts out of a secure default: insecure.disableWaf is set on platform ({PLATFORM})",
            ),
        ]
    )


def test_unknowns_secrets_and_missing_properties_do_not_crash_the_pack(pack: PackClient) -> None:
    configure(pack)
    odd = [
        resource(PLATFORM, "platform", {"environment": "[unknown]", "optOuts": "[unknown]"}),
        resource("aws:sqs/queue:Queue", "q", {"kmsMasterKeyId": "[secret]", "tags": "[unknown]"}),
        resource("aws:rds/cluster:Cluster", "db", {}),
        resource("kubernetes:apps/v1:Deployment", "web", {"spec": UNKNOWN_VALUE}),
        resource("gcp:storage/bucket:Bucket", "b", {"labels": {"owner": "[secret]"}}),
        resource("azure-native:keyvault:Vault", "kv", {"properties": None}),
    ]
    per_resource = pack.analyze_all(odd)
    stack = pack.analyze_stack(odd)
    assert per_resource.resources == len(odd)
    assert all(v.policy in {r.name for r in RULES} for v in [*per_resource.violations, *stack.violations])
    assert not any(v.policy == "insecure-opt-outs" for v in stack.violations)  # unknown opt-outs are skipped


PREVIEW_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack

from policies.framework import CheckSet, Rule, Severity, build_policies

checks = CheckSet("test")


@checks.resource("needs-size", "test:index:Thing")
def size(r, config):
    if r.known("size") > config["maximumSize"]:
        yield f"{r.label} is too big: {r.get('size')} > {config['maximumSize']}"
    if r.get("password") is not None:
        yield f"{r.label} password is {r.get('password')}"


rules = [
    Rule(
        "needs-size", "Things are small.", Severity.LOW, EnforcementLevel.MANDATORY, "Make it smaller.",
        config={"maximumSize": {"type": "integer", "default": 10}},
    )
]
PolicyPack(name="preview-test", policies=build_policies(rules, [checks]), enforcement_level=EnforcementLevel.ADVISORY)
"""


@pytest.fixture(scope="module")
def preview_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackClient]:
    """A one-rule pack built with the framework, for what the catalog's rules cannot show yet."""
    directory = tmp_path_factory.mktemp("preview-pack")
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (directory / "__main__.py").write_text(textwrap.dedent(PREVIEW_PACK))
    with PackClient(directory, project_dir=PROJECT_DIR) as client:
        yield client


def test_a_value_unknown_during_preview_gives_the_sdks_advisory_note(preview_pack: PackClient) -> None:
    configure(preview_pack)
    report = preview_pack.analyze(resource("test:index:Thing", "t", {"size": "[unknown]"}))
    assert report.violations == []
    [note] = report.not_run
    assert (
        note.startswith("can't run policy 'needs-size' from policy pack 'preview-test")
        and "during preview" in note
        and ".size" in note
    )


def test_violations_come_back_with_level_severity_and_the_resource(preview_pack: PackClient) -> None:
    configure(preview_pack, {"needs-size": {"maximumSize": 3}})
    report = preview_pack.analyze(resource("test:index:Thing", "t", {"size": 5, "password": "[secret]"}))
    assert [(v.policy, v.level, v.severity, v.urn, v.message) for v in report.violations] == [
        ("needs-size", "mandatory", "low", urn("test:index:Thing", "t"), "t (test:index:Thing) is too big: 5 > 3"),
        # a secret reaches the check as the engine hands it over: unwrapped; offline, that is the marker
        ("needs-size", "mandatory", "low", urn("test:index:Thing", "t"), "t (test:index:Thing) password is [secret]"),
    ]
    configure(preview_pack, {"needs-size": {"enforcementLevel": "advisory", "maximumSize": 5}})
    assert preview_pack.analyze(resource("test:index:Thing", "t", {"size": 5})).violations == []


# --- equivalence with the in-process runner, for every fixture --------------------------------------


def _findings(report: Report) -> list[tuple[str, str, str | None, str]]:
    return sorted((v.policy, v.message, v.urn, v.level) for v in report.violations)


def _expected(findings: list[Finding]) -> list[tuple[str, str, str | None, str]]:
    return sorted((f.policy, f.message, f.urn, f.level) for f in findings)


def _analyzed(r: PlannedResource) -> AnalyzedResource:
    return AnalyzedResource(
        type=r.type,
        props=r.props,
        urn=r.urn,
        name=r.name,
        parent=r.parent,
        dependencies=list(r.dependencies),
        property_dependencies={k: list(v) for k, v in r.property_dependencies.items()},
    )


RESOURCE_RUNS = [(f, None) for f in RESOURCE_FIXTURES] + [(f, c) for f in RESOURCE_FIXTURES for c in f.cases]
STACK_RUNS = [(f, None) for f in STACK_FIXTURES] + [(f, c) for f in STACK_FIXTURES for c in f.cases]


def _run_id(run: tuple) -> str:
    fixture, case = run
    return case.id if case else f"{fixture.path.parent.name}/{fixture.path.stem}#baseline"


@pytest.mark.parametrize("run", RESOURCE_RUNS, ids=[_run_id(r) for r in RESOURCE_RUNS])
def test_resource_fixture_findings_are_the_same_through_the_protocol(pack: PackClient, run: tuple) -> None:
    fixture, case = run
    config = {case.rule: case.config} if case and case.config else {}
    planned = fixture.resource(case.set if case else None)
    configure(pack, config)
    in_process = InProcessPack(config)
    # resource rules with waivers run as stack policies (a stack rule's waivers change nothing here)
    waivable = {r.name for r in RULES if r.scope == "resource" and r.name in WAIVERS}
    alone = pack.analyze_stack([_analyzed(planned)])
    alone.violations = [v for v in alone.violations if v.policy in waivable]
    report = merge(pack.analyze(_analyzed(planned)), alone)
    assert _findings(report) == _expected(in_process.analyze(planned))
    assert len(report.not_run) == len(in_process.unknowns)


@pytest.mark.parametrize("run", STACK_RUNS, ids=[_run_id(r) for r in STACK_RUNS])
def test_stack_fixture_findings_are_the_same_through_the_protocol(pack: PackClient, run: tuple) -> None:
    fixture, case = run
    config = {case.rule: case.config} if case and case.config else {}
    planned = fixture.planned(case)
    configure(pack, config)
    in_process = InProcessPack(config)
    report = merge(pack.analyze_all(_analyzed(r) for r in planned), pack.analyze_stack([_analyzed(r) for r in planned]))
    expected = in_process.check(planned)
    assert _findings(report) == _expected(expected)


def test_the_common_rules_give_the_same_findings_both_ways(pack: PackClient) -> None:
    """The equivalence check on a stack the common rules report on, while the fixtures are few."""
    planned = [
        PlannedResource(PLATFORM, {"environment": "prod", "optOuts": ["disableWaf"]}, urn(PLATFORM, "p"), "p"),
        PlannedResource("aws:sqs/queue:Queue", {"name": "q", "delaySeconds": 5}, urn("aws:sqs/queue:Queue", "q"), "q"),
    ]
    for config in ({}, {"insecure-opt-outs": {"enforcementLevel": "mandatory"}}, {"budget-and-alerts": "disabled"}):
        configure(pack, config)
        in_process = InProcessPack(
            {k: v if isinstance(v, dict) else {"enforcementLevel": v} for k, v in config.items()}
        )
        report = pack.analyze_stack([_analyzed(r) for r in planned])
        assert _findings(report) == _expected(in_process.analyze_stack(planned))
        assert report.violations


# --- the shipped stacks --------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stack_has_no_mandatory_violation_through_the_protocol(stack: str) -> None:
    graph = plan_stack(load_stack(ROOT, stack))
    report, _ = check_graph(parse_graph(graph.to_json(), stack))
    assert [(v.policy, v.urn, v.message) for v in report.mandatory] == []
