"""The ``remediate`` level through the Analyzer protocol: ``Remediate`` fixes what has a safe fix, the
fixed resource passes the rule it failed, and the level is refused for rules with no fix."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy, Severity
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResourceOptions

from ai_platform_cli.main import main
from policies.analyzer import AnalyzedResource, PackClient
from policies.config import resolve_config
from policies.errors import PolicyConfigError
from policies.framework import CheckSet, Resource, Rule, build_policies, updated
from tests.policies.fixtures import urn

TAGS = {"owner": "team-a", "cost-center": "cc-1"}
REMEDIABLE = ["kms-key-rotation", "log-retention", "required-tags", "tls-in-transit"]


@pytest.fixture(scope="module")
def pack() -> Iterator[PackClient]:
    with PackClient() as client:
        yield client


def resource(type_: str, props: dict[str, Any], name: str = "r") -> AnalyzedResource:
    return AnalyzedResource(type=type_, props=props, urn=urn(type_, name), name=name)


def remediate(pack: PackClient, policy: str, before: AnalyzedResource, config: dict | None = None) -> dict[str, Any]:
    """Configure ``policy`` at the remediate level, check that ``before`` violates it, fix it through
    ``Remediate`` and check that the fixed inputs pass; returns them."""
    pack.configure(resolve_config({policy: {"enforcementLevel": "remediate", **(config or {})}}, pack.get_info()))
    failed = [v for v in pack.analyze(before).violations if v.policy == policy]
    assert failed, f"{before.type} should violate {policy} before the fix"
    assert {v.level for v in failed} == {"mandatory"}  # remediate reports what is left as mandatory
    [fix] = [r for r in pack.remediate(before) if r.policy == policy]
    assert fix.props is not None, fix.diagnostic
    after = resource(before.type, dict(fix.props), before.name)
    assert [v.message for v in pack.analyze(after).violations if v.policy == policy] == []
    return dict(fix.props)


# --- required-tags ---------------------------------------------------------------------------------


def test_missing_tags_are_filled_from_the_config(pack: PackClient) -> None:
    queue = resource("aws:sqs/queue:Queue", {"name": "jobs", "tags": {"owner": "team-a", "app": "api"}})
    fixed = remediate(pack, "required-tags", queue, {"tagValues": {"owner": "other", "cost-center": "cc-9"}})
    assert fixed["tags"] == {"owner": "team-a", "app": "api", "cost-center": "cc-9"}  # present tags are kept
    assert fixed["name"] == "jobs"


def test_labels_are_filled_where_each_target_keeps_them(pack: PackClient) -> None:
    config = {"tagValues": TAGS}
    bucket = resource("gcp:storage/bucket:Bucket", {"name": "b", "location": "EU", "labels": {}})
    assert remediate(pack, "required-tags", bucket, config)["labels"] == TAGS
    vault = resource("azure-native:keyvault:Vault", {"vaultName": "kv"})
    assert remediate(pack, "required-tags", vault, config)["tags"] == TAGS
    deployment = resource(
        "kubernetes:apps/v1:Deployment",
        {
            "metadata": {"name": "api", "labels": {"app": "api"}},
            "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}}}},
        },
    )
    fixed = remediate(pack, "required-tags", deployment, config)
    assert fixed["metadata"]["labels"] == {"app": "api", **TAGS}
    assert fixed["spec"]["template"]["metadata"]["labels"] == {"app": "api", **TAGS}
    assert fixed["spec"]["selector"] == {"matchLabels": {"app": "api"}}


def test_missing_tags_are_filled_from_the_stacks_tags() -> None:
    """``pulumi stack tag set owner ...`` reaches the pack through ConfigureStack; the config's values win."""
    with PackClient() as client:
        client.configure_stack("dev", "ai-platform", {"owner": "stack-owner", "cost-center": "stack-cc"})
        queue = resource("aws:sqs/queue:Queue", {"name": "jobs"})
        fixed = remediate(client, "required-tags", queue, {"tagValues": {"cost-center": "cc-9"}})
    assert fixed["tags"] == {"owner": "stack-owner", "cost-center": "cc-9"}


def test_no_fix_without_a_value_for_every_missing_tag(pack: PackClient) -> None:
    pack.configure(
        resolve_config(
            {"required-tags": {"enforcementLevel": "remediate", "tagValues": {"owner": "a"}}}, pack.get_info()
        )
    )
    queue = resource("aws:sqs/queue:Queue", {"name": "jobs"})
    assert [r for r in pack.remediate(queue) if r.policy == "required-tags"] == []
    [violation] = [v for v in pack.analyze(queue).violations if v.policy == "required-tags"]
    assert violation.level == "mandatory" and "cost-center" in violation.message


def test_no_fix_with_a_value_the_provider_refuses(pack: PackClient) -> None:
    """Kubernetes label values are at most 63 of [A-Za-z0-9-_.]; GCP's are lower case."""
    config = {"tagValues": {"owner": "Team A", "cost-center": "cc-1"}}
    configure = {"required-tags": {"enforcementLevel": "remediate", **config}}
    pack.configure(resolve_config(configure, pack.get_info()))
    namespace = resource("kubernetes:core/v1:Namespace", {"metadata": {"name": "api"}})
    bucket = resource("gcp:storage/bucket:Bucket", {"name": "b", "location": "EU", "labels": {}})
    for refused in (namespace, bucket):
        assert [r for r in pack.remediate(refused) if r.policy == "required-tags"] == []
    queue = resource("aws:sqs/queue:Queue", {"name": "jobs"})  # AWS accepts spaces in tag values
    assert remediate(pack, "required-tags", queue, config)["tags"] == {"owner": "Team A", "cost-center": "cc-1"}


def test_no_fix_where_the_label_property_is_not_known(pack: PackClient) -> None:
    """A GCP resource without any label map: labels, userLabels or resourceLabels is the type's choice."""
    pack.configure(
        resolve_config({"required-tags": {"enforcementLevel": "remediate", "tagValues": TAGS}}, pack.get_info())
    )
    cluster = resource("gcp:container/cluster:Cluster", {"name": "c", "location": "europe-west1"})
    assert [v.policy for v in pack.analyze(cluster).violations] == ["required-tags"]
    assert [r for r in pack.remediate(cluster) if r.policy == "required-tags"] == []


# --- kms-key-rotation --------------------------------------------------------------------------------


def test_aws_kms_key_rotation_is_turned_on_and_its_period_bounded(pack: PackClient) -> None:
    key = resource("aws:kms/key:Key", {"description": "k", "tags": TAGS})
    assert remediate(pack, "kms-key-rotation", key)["enableKeyRotation"] is True
    slow = resource("aws:kms/key:Key", {"enableKeyRotation": True, "rotationPeriodInDays": 730, "tags": TAGS})
    fixed = remediate(pack, "kms-key-rotation", slow, {"maximumRotationDays": 180})
    assert fixed["rotationPeriodInDays"] == 180


def test_gcp_crypto_key_gets_a_rotation_period(pack: PackClient) -> None:
    key = resource("gcp:kms/cryptoKey:CryptoKey", {"name": "k", "keyRing": "ring", "labels": TAGS})
    assert remediate(pack, "kms-key-rotation", key, {"maximumRotationDays": 90})["rotationPeriod"] == "7776000s"


def test_azure_key_gets_a_rotate_action(pack: PackClient) -> None:
    notify = {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}}
    key = resource(
        "azure-native:keyvault:Key",
        {
            "keyName": "k",
            "vaultName": "kv",
            "properties": {"kty": "RSA", "rotationPolicy": {"lifetimeActions": [notify]}},
        },
    )
    fixed = remediate(pack, "kms-key-rotation", key)
    assert fixed["properties"]["rotationPolicy"]["lifetimeActions"] == [
        notify,
        {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P365D"}},
    ]
    assert fixed["properties"]["kty"] == "RSA"


# --- tls-in-transit: HTTP listeners ------------------------------------------------------------------


def test_an_http_listener_on_port_80_redirects_to_https(pack: PackClient) -> None:
    forward = {"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:tg"}
    for token in ("aws:lb/listener:Listener", "aws:alb/listener:Listener"):
        listener = resource(
            token,
            {"loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP", "defaultActions": [forward], "tags": TAGS},
        )
        fixed = remediate(pack, "tls-in-transit", listener)
        assert fixed["defaultActions"] == [
            {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
        ]
        assert fixed["port"] == 80 and fixed["loadBalancerArn"] == "arn:lb"


def test_an_http_listener_on_another_port_is_not_rewritten(pack: PackClient) -> None:
    pack.configure(resolve_config({"tls-in-transit": "remediate"}, pack.get_info()))
    listener = resource(
        "aws:lb/listener:Listener",
        {"loadBalancerArn": "arn:lb", "port": 8080, "protocol": "HTTP", "defaultActions": [{"type": "forward"}]},
    )
    assert [r for r in pack.remediate(listener) if r.policy == "tls-in-transit"] == []
    assert [v.level for v in pack.analyze(listener).violations if v.policy == "tls-in-transit"] == ["mandatory"]


# --- log-retention ---------------------------------------------------------------------------------


def test_cloudwatch_retention_is_raised_to_a_value_cloudwatch_accepts(pack: PackClient) -> None:
    group = resource("aws:cloudwatch/logGroup:LogGroup", {"name": "g", "retentionInDays": 7, "tags": TAGS})
    assert remediate(pack, "log-retention", group, {"minimumRetentionDays": 100})["retentionInDays"] == 120


def test_gcp_and_azure_retention_is_raised_to_the_minimum(pack: PackClient) -> None:
    bucket = resource("gcp:logging/projectBucketConfig:ProjectBucketConfig", {"bucketId": "b", "retentionDays": 7})
    assert remediate(pack, "log-retention", bucket, {"minimumRetentionDays": 45})["retentionDays"] == 45
    workspace = resource("azure-native:operationalinsights:Workspace", {"workspaceName": "w", "retentionInDays": 30})
    assert remediate(pack, "log-retention", workspace, {"minimumRetentionDays": 45})["retentionInDays"] == 45
    insights = resource("azure-native:applicationinsights:Component", {"resourceName": "ai", "retentionInDays": 30})
    assert remediate(pack, "log-retention", insights, {"minimumRetentionDays": 100})["retentionInDays"] == 120


# --- what Remediate leaves alone, and the level's refusal ---------------------------------------------


def test_a_passing_resource_and_an_unknown_value_are_left_alone(pack: PackClient) -> None:
    pack.configure(resolve_config({"log-retention": "remediate", "kms-key-rotation": "remediate"}, pack.get_info()))
    good = resource("aws:cloudwatch/logGroup:LogGroup", {"name": "g", "retentionInDays": 90})
    assert pack.remediate(good) == []
    unknown = resource("aws:kms/key:Key", {"enableKeyRotation": "[unknown]"})
    assert pack.remediate(unknown) == []


def test_a_secret_stays_secret_through_a_fix(pack: PackClient) -> None:
    group = resource("aws:cloudwatch/logGroup:LogGroup", {"name": "[secret]", "retentionInDays": 1})
    fixed = remediate(pack, "log-retention", group)
    assert fixed == {"name": "[secret]", "retentionInDays": 30}


def test_the_remediate_level_is_refused_for_rules_without_a_fix(pack: PackClient) -> None:
    fixless = sorted(p.name for p in pack.get_info().policies if p.name not in REMEDIABLE)
    assert "rate-limiting" in fixless and "waf-on-entry-points" in fixless
    with pytest.raises(PolicyConfigError) as error:
        pack.configure(
            resolve_config({"rate-limiting": "remediate", "waf-on-entry-points": "remediate"}, pack.get_info())
        )
    message = str(error.value)
    allowed = f"allowed: advisory, mandatory, disabled (remediate is for {', '.join(REMEDIABLE)})"
    assert f'rate-limiting = "remediate": rate-limiting has no automatic fix; {allowed}' in message
    assert f'waf-on-entry-points = "remediate": waf-on-entry-points has no automatic fix; {allowed}' in message
    pack.configure(resolve_config({name: "remediate" for name in REMEDIABLE}, pack.get_info()))  # accepted


# --- the framework's guard ------------------------------------------------------------------------------

THING = "test:index:Thing"
SMALL = Rule("small", "Things are small.", Severity.LOW, EnforcementLevel.MANDATORY, "Make it smaller.")


def _remediate(checks: CheckSet, props: dict[str, Any]) -> Any:
    [policy] = build_policies([SMALL], [checks])
    assert isinstance(policy, ResourceValidationPolicy)
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return policy.remediate(ResourceValidationArgs(THING, props, urn(THING, "t"), "t", options, None, {}))


def _small_checks(fix_to: int) -> CheckSet:
    checks = CheckSet("test")

    @checks.resource("small", THING)
    def small(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
        if r.known("size") > 3:
            yield f"{r.label} is too big"

    @checks.remediation("small", THING)
    def shrink(r: Resource, config: Mapping[str, Any]) -> dict[str, Any]:
        return updated(r.props, "size", fix_to)

    return checks


def test_a_fix_is_returned_only_when_the_rule_passes_after_it() -> None:
    assert _remediate(_small_checks(fix_to=2), {"size": 5, "name": "t"}) == {"size": 2, "name": "t"}
    assert _remediate(_small_checks(fix_to=4), {"size": 5}) is None  # still too big: not applied
    assert _remediate(_small_checks(fix_to=2), {"size": 1}) is None  # nothing to fix


def test_a_remediation_for_a_stack_rule_is_refused() -> None:
    checks = CheckSet("test")
    checks.remediation("small", THING)(lambda r, config: None)
    stack_rule = Rule("small", "Things are small.", Severity.LOW, EnforcementLevel.MANDATORY, "Smaller.", scope="stack")
    with pytest.raises(ValueError, match="registers a remediation for 'small', which is not a resource rule"):
        build_policies([stack_rule], [checks])


# --- the offline check: Remediate before Analyze, as the engine does ---------------------------------------


LOGS = {"kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/1", "tags": TAGS}


def _plan_file(tmp_path: Path) -> str:
    resources = [
        {"type": "aws:cloudwatch/logGroup:LogGroup", "name": "logs", "inputs": {"retentionInDays": 7, **LOGS}},
        {
            "type": "aws:sqs/queue:Queue",
            "name": "jobs",
            "inputs": {"sqsManagedSseEnabled": True, "tags": {"owner": "a"}},
        },
    ]
    graph = {
        "stack": "dev",
        "resources": [{**r, "urn": urn(str(r["type"]), str(r["name"])), "custom": True} for r in resources],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(graph))
    return str(path)


def _config_file(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_policy_check_remediates_then_checks_the_fixed_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, report = _plan_file(tmp_path), tmp_path / "report.json"
    strict = _config_file(tmp_path, {"budget-and-alerts": "disabled"})
    assert main(["policy", "check", plan, "--policy-config", strict]) == 1  # retention 7, no cost-center
    remediate = {
        "budget-and-alerts": "disabled",
        "log-retention": "remediate",
        "required-tags": {"enforcementLevel": "remediate", "tagValues": {"cost-center": "cc-1"}},
    }
    config = _config_file(tmp_path, remediate)
    assert main(["policy", "check", plan, "--policy-config", config, "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "remediated (2; the fixed inputs were checked):" in out and "policy passed: 0 mandatory" in out
    fixes = {r["policy"]: r for r in json.loads(report.read_text())["policy"]["remediations"]}
    assert fixes["log-retention"]["properties"] == {"retentionInDays": 30, **LOGS}
    assert fixes["required-tags"]["properties"]["tags"] == {"owner": "a", "cost-center": "cc-1"}
    assert fixes["required-tags"]["urn"] == urn("aws:sqs/queue:Queue", "jobs")


def test_policy_check_refuses_remediate_for_a_rule_without_a_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(tmp_path, {"data-protection": "remediate"})
    assert main(["policy", "check", _plan_file(tmp_path), "--policy-config", config]) == 2
    assert 'data-protection = "remediate": data-protection has no automatic fix' in capsys.readouterr().err
