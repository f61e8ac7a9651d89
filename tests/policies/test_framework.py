"""The framework's promises: missing, unknown and secret values never crash a check."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE

from policies.framework import (
    UNKNOWN,
    CheckSet,
    EnforcementLevel,
    Resource,
    Rule,
    Severity,
    Stack,
    Violation,
    Waivable,
    build_policies,
    opt_out_key,
    parse_json,
)
from policies.inprocess import InProcessPack, PlannedResource

PROPS = {
    "accessLogs": {"enabled": True, "bucket": UNKNOWN_STRING_VALUE},
    "rules": [{"name": "rate"}, {"name": "size"}],
    "tags": {"environment": "prod", "owner": "team"},
    "doc": '{"Statement": []}',
}


def test_get_walks_dotted_paths_and_list_indices() -> None:
    r = Resource("aws:lb/loadBalancer:LoadBalancer", PROPS)
    assert r.get("accessLogs.enabled") is True
    assert r.get("rules.1.name") == "size"
    assert r.get("rules.7.name") is None
    assert r.get("missing.deeper", "default") == "default"
    assert r.get("tags.owner.x") is None


def test_unknown_values_read_as_unknown() -> None:
    r = Resource("t:m:T", PROPS)
    assert r.get("accessLogs.bucket") is UNKNOWN
    assert r.get("accessLogs.bucket.deeper") is UNKNOWN
    with pytest.raises(TypeError, match="unknown value has no truth value"):
        bool(r.get("accessLogs.bucket"))


def test_tags_and_prod_follow_the_target_conventions() -> None:
    assert Resource("aws:s3/bucket:Bucket", PROPS).is_prod({"prodEnvironments": ["prod"]})
    assert not Resource("aws:s3/bucket:Bucket", {"tags": {"environment": "dev"}}).is_prod({})
    labels = {"metadata": {"labels": {"environment": "production"}}}
    assert Resource("kubernetes:apps/v1:Deployment", labels).is_prod({})
    assert Resource("gcp:redis/instance:Instance", {"labels": {"owner": "x"}}).tags == {"owner": "x"}


def test_parse_json_accepts_strings_objects_and_unknowns() -> None:
    assert parse_json(PROPS["doc"]) == {"Statement": []}
    assert parse_json({"a": 1}) == {"a": 1}
    assert parse_json("not json") is None
    assert parse_json(UNKNOWN_STRING_VALUE) is UNKNOWN


RULE = Rule("encryption-at-rest", "d", Severity.HIGH, EnforcementLevel.MANDATORY, "r")


def _checks() -> CheckSet:
    checks = CheckSet("stand-in")

    @checks.resource("encryption-at-rest", "t:m:Queue")
    def needs_known_key(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
        if not r.known("encrypted", False):
            yield f"{r.label} is not encrypted"

    @checks.resource("encryption-at-rest", "t:m:Queue")
    def independent(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
        if r.get("name") == "bad":
            yield f"{r.label} has a bad name"

    return checks


def _analyze(props: dict[str, Any]) -> tuple[list[str], list[str]]:
    pack = InProcessPack()
    pack.policies = build_policies([RULE], [_checks()])
    findings = pack.analyze(PlannedResource("t:m:Queue", props, "urn:q", "q"))
    return [f.message for f in findings], pack.unknowns


def test_an_unknown_value_skips_only_the_check_that_needs_it() -> None:
    messages, unknowns = _analyze({"encrypted": UNKNOWN_BOOLEAN_VALUE, "name": "bad"})
    assert messages == ["q (t:m:Queue) has a bad name"]
    assert unknowns == ["encryption-at-rest: string value at .encrypted can't be known during preview"]


def test_missing_properties_and_secrets_do_not_crash() -> None:
    assert _analyze({}) == (["q (t:m:Queue) is not encrypted"], [])
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": True}
    assert _analyze({"encrypted": secret}) == ([], [])


def test_wildcard_checks_match_every_type_of_a_package() -> None:
    checks = CheckSet("stand-in")
    checks.resource("encryption-at-rest", "t:*")(lambda r, c: [f"{r.type} seen"])
    pack = InProcessPack()
    pack.policies = build_policies([RULE], [checks])
    assert [f.message for f in pack.analyze(PlannedResource("t:x:Y", {}, "urn:y", "y"))] == ["t:x:Y seen"]
    assert pack.analyze(PlannedResource("u:x:Y", {}, "urn:u", "u")) == []


WAIVABLE = Rule("network-isolation", "d", Severity.HIGH, EnforcementLevel.MANDATORY, "r")


def _waivable_pack() -> InProcessPack:
    checks = CheckSet("stand-in")

    @checks.resource("network-isolation", "t:m:Service")
    def private(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
        if r.get("ingress") == "all":
            yield Waivable("stand.publicIngress", f"{r.label} takes traffic from the internet")
        if r.get("ports"):
            yield f"{r.label} opens ports"  # not waivable

    checks.waive("network-isolation", "stand.publicIngress")
    pack = InProcessPack()
    pack.policies = build_policies([WAIVABLE], [checks])
    return pack


def _platform(opt_outs: list[str]) -> PlannedResource:
    return PlannedResource("ai-platform:stand:AiPlatform", {"optOuts": opt_outs}, "urn:p", "p")


def test_a_named_opt_out_waives_only_its_own_condition() -> None:
    public = PlannedResource("t:m:Service", {"ingress": "all", "ports": [22]}, "urn:s", "s")
    pack = _waivable_pack()
    without = [f.message for f in pack.check([_platform([]), public])]
    assert without == [
        "s (t:m:Service) takes traffic from the internet (allowed only by the named opt-out "
        "stand.insecure.publicIngress)",
        "s (t:m:Service) opens ports",
    ]
    assert [f.message for f in pack.check([_platform(["stand.publicIngress"]), public])] == [
        "s (t:m:Service) opens ports"
    ]
    # another rule's opt-out waives nothing here
    assert len(pack.check([_platform(["disableWaf"]), public])) == 2


def test_a_named_opt_out_waives_a_stack_rule_condition_too() -> None:
    checks = CheckSet("stand-in")

    @checks.stack("waf-on-entry-points")
    def shielded(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
        for r in stack.of_type("t:m:Api"):
            yield Violation(Waivable("stand.publicApi", f"{r.label} is public"), r.urn)
            yield Violation(f"{r.label} has no WAF", r.urn)  # not waivable

    checks.waive("waf-on-entry-points", "stand.publicApi")
    rule = Rule("waf-on-entry-points", "d", Severity.HIGH, EnforcementLevel.MANDATORY, "r", scope="stack")
    pack = InProcessPack()
    pack.policies = build_policies([rule], [checks])
    api = PlannedResource("t:m:Api", {}, "urn:a", "a")
    assert len(pack.check([_platform([]), api])) == 2
    assert [f.message for f in pack.check([_platform(["stand.publicApi"]), api])] == ["a (t:m:Api) has no WAF"]


def test_a_lone_resource_is_checked_by_the_waivable_rules_too() -> None:
    findings = _waivable_pack().analyze(PlannedResource("t:m:Service", {"ingress": "all"}, "urn:s", "s"))
    assert [(f.policy, f.urn) for f in findings] == [("network-isolation", "urn:s")]


def test_opt_out_keys_name_the_section_that_sets_them() -> None:
    assert opt_out_key("disableWaf") == "insecure.disableWaf"
    assert opt_out_key("gcp.publicIngress") == "gcp.insecure.publicIngress"


def test_unknown_opt_outs_read_as_none_declared() -> None:
    component = Resource("ai-platform:gcp:AiPlatform", {"optOuts": UNKNOWN_STRING_VALUE}, "urn:p", "p")
    assert Stack([component]).opt_outs() == {}


def test_referring_finds_the_resources_pointing_at_a_target_in_stack_order() -> None:
    vpc = Resource("aws:ec2/vpc:Vpc", {"id": "vpc-1"}, "urn:vpc", "vpc")
    other = Resource("aws:ec2/vpc:Vpc", {"id": "vpc-2"}, "urn:other", "other")
    by_dependency = Resource(
        "aws:ec2/flowLog:FlowLog", {}, "urn:f1", "f1", property_dependencies={"vpcId": ["urn:vpc"]}
    )
    by_value = Resource("aws:ec2/flowLog:FlowLog", {"vpcId": "vpc-1"}, "urn:f2", "f2")
    elsewhere = Resource("aws:ec2/flowLog:FlowLog", {"vpcId": "vpc-2"}, "urn:f3", "f3")
    unknown = Resource("aws:ec2/flowLog:FlowLog", {"vpcId": UNKNOWN_STRING_VALUE}, "urn:f4", "f4")
    stack = Stack([vpc, other, by_value, elsewhere, by_dependency, unknown])
    assert stack.referring(vpc, "aws:ec2/flowLog:FlowLog", "vpcId") == [by_value, by_dependency]
    assert stack.referring(other, "aws:ec2/flowLog:FlowLog", "vpcId") == [elsewhere]
    assert [r for r in stack.of_type("aws:ec2/flowLog:FlowLog") if r.refers_to("vpcId", vpc)] == [
        by_value,
        by_dependency,
    ]
    assert stack.of_type("aws:ec2/flowLog:FlowLog", "aws:ec2/vpc:Vpc") == [
        vpc,
        other,
        by_value,
        elsewhere,
        by_dependency,
        unknown,
    ]


def test_the_pack_imports_no_provider_sdk() -> None:
    """The rules read type tokens and inputs only: start-up must not pay for any provider SDK."""
    sdks = ("pulumi_azure_native", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes")
    code = (
        f"import sys, policies.pack; policies.pack.policies(); print([m for m in sys.modules if m.startswith({sdks})])"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
