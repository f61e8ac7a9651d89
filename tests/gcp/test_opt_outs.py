"""GCP's named opt-outs (``ai-platform:gcp: {insecure: {...}}``), each end to end: the spec refuses
the insecure choice without it (or, dev-only ones, in prod), accepts it with it, the planned stack
builds the choice, and the policy pack reports the condition without the opt-out in the stack and
waives it, reporting the advisory ``insecure-opt-outs`` instead, with it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.gcp.spec import GcpInsecureSpec, GcpSpec
from components.spec import PlatformSpec, SpecError
from components.testing import Graph
from policies.check import check_graph
from policies.inprocess import Finding, InProcessPack, PlannedResource
from policies.inputs import parse_graph
from tests.stackconfig import apply_change

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = "ai-platform:gcp:AiPlatform"
SECRETS = ("ai-platform:openaiApiKey", "ai-platform:anthropicApiKey", "ai-platform:appApiKeysSha256")


@dataclass(frozen=True)
class OptOut:
    name: str
    stack: str
    """The shipped stack it is tried on (dev-only opt-outs on gcp-dev)."""
    changes: tuple[tuple[str, Any], ...]
    """Config changes that make the insecure choice besides the opt-out itself."""
    resource: str
    path: str
    value: Any
    """The planned resource's input that shows the choice was built."""
    rule: str
    message: str
    """What the pack reports without the opt-out (a part of the message)."""


OPT_OUTS = [
    OptOut(
        "googleManagedKeys",
        "gcp-dev",
        (),
        "gcp:artifactregistry/repository:Repository",
        "kmsKeyName",
        None,
        "encryption-at-rest",
        "kmsKeyName is unset; an Artifact Registry repository must be encrypted",
    ),
    OptOut(
        "mutableTags",
        "gcp-dev",
        (),
        "gcp:artifactregistry/repository:Repository",
        "dockerConfig.immutableTags",
        False,
        "pinned-images",
        "dockerConfig.immutableTags is false",
    ),
    OptOut(
        "publicIngress",
        "gcp-dev",
        (),
        "gcp:cloudrunv2/service:Service",
        "ingress",
        "INGRESS_TRAFFIC_ALL",
        "waf-on-entry-points",
        'ingress is "INGRESS_TRAFFIC_ALL"',
    ),
    OptOut(
        "sqlPublicIp",
        "gcp-prod",
        (),
        "gcp:sql/databaseInstance:DatabaseInstance",
        "settings.ipConfiguration.ipv4Enabled",
        True,
        "no-public-data-services",
        "settings.ipConfiguration.ipv4Enabled is true",
    ),
    OptOut(
        "wafPreview",
        "gcp-prod",
        (("ai-platform:gateway.waf.mode", "count"),),
        "gcp:compute/securityPolicy:SecurityPolicy",
        "rules.1.preview",
        True,
        "waf-on-entry-points",
        "preview is true; in prod the WAF must block",
    ),
    OptOut(
        "basicTierCache",
        "gcp-prod",
        (("ai-platform:cache.highAvailability", False),),
        "gcp:redis/instance:Instance",
        "tier",
        "BASIC",
        "high-availability",
        'tier is "BASIC"; prod needs STANDARD_HA',
    ),
]
IDS = [o.name for o in OPT_OUTS]


def _config(stack: str) -> dict[str, Any]:
    return copy.deepcopy(load_stack(ROOT, stack).config)


def _change(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    key, *inner = path.split(".")
    return apply_change(config, key, tuple(inner), value)


def _with(opt_out: OptOut, *, opted: bool) -> dict[str, Any]:
    config = _config(opt_out.stack)
    gcp = config["ai-platform:gcp"]
    config["ai-platform:gcp"] = {**gcp, "insecure": {**gcp.get("insecure", {}), opt_out.name: opted}}
    for path, value in opt_out.changes:
        config = _change(config, path, value)
    return config


def _problems(config: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as error:
        PlatformSpec.from_config({**config, **dict.fromkeys(SECRETS, "x")}, set(SECRETS))
    return {p.key: p.message for p in error.value.problems}


def _plan(config: dict[str, Any], stack: str) -> Graph:
    loaded = load_stack(ROOT, stack)
    loaded.config.clear()
    loaded.config.update(config)
    return plan_stack(loaded)


def _input(graph: Graph, type_: str, path: str) -> Any:
    value: Any = graph.one(type_).inputs
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
    return value


def _planned(graph: Graph, opt_outs: list[str] | None = None) -> list[PlannedResource]:
    """The plan as the pack sees it; ``opt_outs`` replaces what the platform component records."""
    found = []
    for r in graph.resources:
        if r.type == "pulumi:pulumi:Stack":
            continue
        props = r.inputs if r.custom else {**r.inputs, **r.outputs}
        if r.type == PLATFORM and opt_outs is not None:
            props = {**props, "optOuts": opt_outs}
        found.append(PlannedResource(r.type, props, r.urn, r.name, r.parent, r.dependencies, r.property_dependencies))
    return found


def _mandatory(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "mandatory"]


# --- the spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "key", "opt_out"),
    [
        ("ai-platform:gateway.waf.mode", "count", "ai-platform:gateway.waf.mode", "gcp.insecure.wafPreview"),
        (
            "ai-platform:cache.highAvailability",
            False,
            "ai-platform:cache.highAvailability",
            "gcp.insecure.basicTierCache",
        ),
    ],
)
def test_prod_refuses_the_choice_without_its_opt_out_and_names_it(
    path: str, value: Any, key: str, opt_out: str
) -> None:
    problems = _problems(_change(_config("gcp-prod"), path, value))
    assert opt_out in problems[key], problems


@pytest.mark.parametrize("name", sorted(GcpInsecureSpec.DEV_ONLY))
def test_prod_refuses_a_dev_only_opt_out_at_its_key(name: str) -> None:
    config = _config("gcp-prod")
    config["ai-platform:gcp"] = {**config["ai-platform:gcp"], "insecure": {name: True}}
    problems = _problems(config)
    assert "dev-only" in problems[f"ai-platform:gcp.insecure.{name}"], problems


def test_every_opt_out_but_the_spec_only_one_is_exercised_here() -> None:
    declared = {f.alias for f in GcpInsecureSpec.model_fields.values()}
    assert declared - GcpInsecureSpec.SPEC_ONLY == set(IDS)


@pytest.mark.parametrize("opt_out", OPT_OUTS, ids=IDS)
def test_the_spec_accepts_the_opt_out_and_records_it(opt_out: OptOut) -> None:
    spec = PlatformSpec.from_config({**_with(opt_out, opted=True), **dict.fromkeys(SECRETS, "x")}, set(SECRETS))
    assert f"gcp.{opt_out.name}" in spec.section(GcpSpec).insecure.in_force("gcp")


# --- the plan and the pack -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans() -> dict[str, Graph]:
    return {o.name: _plan(_with(o, opted=True), o.stack) for o in OPT_OUTS}


@pytest.mark.parametrize("opt_out", OPT_OUTS, ids=IDS)
def test_the_plan_builds_the_choice_and_records_the_opt_out(opt_out: OptOut, plans: dict[str, Graph]) -> None:
    graph = plans[opt_out.name]
    assert _input(graph, opt_out.resource, opt_out.path) == opt_out.value
    assert f"gcp.{opt_out.name}" in graph.one(PLATFORM).inputs["optOuts"]


@pytest.mark.parametrize("opt_out", OPT_OUTS, ids=IDS)
def test_the_pack_waives_the_condition_only_with_the_opt_out(opt_out: OptOut, plans: dict[str, Graph]) -> None:
    graph = plans[opt_out.name]
    recorded = graph.one(PLATFORM).inputs["optOuts"]
    others = [name for name in recorded if name != f"gcp.{opt_out.name}"]

    without = _mandatory(InProcessPack().check(_planned(graph, others)))
    assert [f.policy for f in without if opt_out.message in f.message] == [opt_out.rule], without
    assert all(f"gcp.insecure.{opt_out.name}" in f.message for f in without if opt_out.message in f.message)

    findings = InProcessPack().check(_planned(graph))
    assert _mandatory(findings) == []
    advisory = [f.message for f in findings if f.policy == "insecure-opt-outs"]
    assert any(f"gcp.insecure.{opt_out.name} is set" in m for m in advisory), advisory


def test_the_shipped_dev_stack_opts_out_of_cmek_by_name_through_the_analyzer_protocol() -> None:
    """gcp-dev's googleManagedKeys, through the pack's real gRPC Analyzer: no CMEK violation while the
    platform component records the opt-out, one per data store once it no longer does."""
    graph = plan_stack(load_stack(ROOT, "gcp-dev"))
    document = graph.to_json()
    report, _ = check_graph(parse_graph(document, "gcp-dev"))
    assert report.mandatory == []
    assert [v.message for v in report.violations if v.policy == "insecure-opt-outs"] == [
        "the stack opts out of a secure default: gcp.insecure.googleManagedKeys is set on "
        "ai-platform (ai-platform:gcp:AiPlatform)"
    ]

    for resource in document["resources"]:
        if resource["type"] == PLATFORM:
            resource["inputs"]["optOuts"] = resource["outputs"]["optOuts"] = []
    report, _ = check_graph(parse_graph(document, "gcp-dev"))
    cmek = sorted((v.urn or "").rsplit("::", 1)[-1] for v in report.mandatory if v.policy == "encryption-at-rest")
    assert len(cmek) == 9 and all("gcp.insecure.googleManagedKeys" in v.message for v in report.mandatory), cmek


def test_google_managed_keys_drop_the_key_but_keep_the_pubsub_agent_for_dead_letters(
    plans: dict[str, Graph],
) -> None:
    graph = plans["googleManagedKeys"]
    assert [r.type for r in graph.resources if r.type.startswith("gcp:kms/")] == []
    (agent,) = graph.of_type("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs["service"] == "pubsub.googleapis.com"
    grants = graph.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")
    assert any(agent.urn in g.property_dependencies.get("member", []) for g in grants)
    for type_, key in (
        ("gcp:pubsub/topic:Topic", "kmsKeyName"),
        ("gcp:redis/instance:Instance", "customerManagedKey"),
        ("gcp:sql/databaseInstance:DatabaseInstance", "encryptionKeyName"),
    ):
        assert all(key not in r.inputs for r in graph.of_type(type_)), type_
    assert all(
        "customerManagedEncryption" not in r.inputs["replication"]["auto"]
        for r in graph.of_type("gcp:secretmanager/secret:Secret")
    )
    assert "kmsKeyId" not in graph.one(PLATFORM).outputs


# --- the shared opt-outs (ai-platform:insecure) on GCP ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "changes", "rule", "message"),
    [
        ("disableWaf", (), "waf-on-entry-points", "rules has no preconfigured WAF rule"),
        (
            "disableDeletionProtection",
            (("ai-platform:vectorStore.deletionProtection", False),),
            "data-protection",
            "deletionProtection is false; prod databases keep deletion protection on",
        ),
        ("unprotectStatefulResources", (), None, None),
    ],
)
def test_the_shared_opt_outs_work_on_gcp_prod(
    name: str, changes: tuple[tuple[str, Any], ...], rule: str | None, message: str | None
) -> None:
    config = _config("gcp-prod")
    config["ai-platform:insecure"] = {name: True}
    for path, value in changes:
        config = _change(config, path, value)
    graph = _plan(config, "gcp-prod")
    assert graph.one(PLATFORM).inputs["optOuts"] == [name]
    findings = InProcessPack().check(_planned(graph))
    assert _mandatory(findings) == []
    assert any(f"insecure.{name} is set" in f.message for f in findings if f.policy == "insecure-opt-outs")
    if rule is not None and message is not None:
        without = _mandatory(InProcessPack().check(_planned(graph, [])))
        assert any(f.policy == rule and message in f.message for f in without), without
    else:  # Pulumi's protect only: the stores keep the provider's deletion protection
        assert not graph.one("gcp:sql/databaseInstance:DatabaseInstance").protect
        assert graph.one("gcp:redis/instance:Instance").inputs["deletionProtection"] is True
