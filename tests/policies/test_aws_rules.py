"""AWS checks beyond the fixtures: unknowns and secrets, config thresholds, and the shipped stacks."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pulumi_aws
import pytest
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from ai_platform_cli.main import load_stack, plan_stack
from components.aws.gateway import content_length_over_regex
from components.testing import STACK_TYPE, Graph, GraphResource
from policies.inprocess import Finding, InProcessPack, PlannedResource
from policies.rules import aws
from policies.rules.aws_taggable import SDK_VERSION, TAGGABLE_TYPES
from tests.policies.fixtures import ResourceFixture, StackFixture, apply_set, load_all, paths

ROOT = Path(__file__).resolve().parents[2]
AWS_STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.aws-*.yaml"))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _identities(resource: GraphResource) -> set[str]:
    """What other resources' inputs use to point at this one: its id, ARN and name outputs."""
    found = {resource.id} if resource.id else set()
    for key in ("arn", "name", "id"):
        value = resource.outputs.get(key)
        if isinstance(value, str) and value:
            found.add(value)
    return found


def property_dependencies(graph: Graph, resource: GraphResource) -> dict[str, list[str]]:
    """Per input, the dependencies whose id/ARN/name that input holds (what the engine would send)."""
    by_urn = {r.urn: r for r in graph.resources}
    result: dict[str, list[str]] = {}
    for key, value in resource.inputs.items():
        strings = set(_strings(value))
        for urn in resource.dependencies:
            dependency = by_urn.get(urn)
            if dependency is not None and strings & _identities(dependency):
                result.setdefault(key, []).append(urn)
    return result


@cache
def planned_stack(stack: str) -> tuple[PlannedResource, ...]:
    graph = plan_stack(load_stack(ROOT, stack))
    return tuple(
        PlannedResource(
            r.type,
            r.inputs,
            r.urn,
            r.name,
            parent=r.parent,
            dependencies=r.dependencies,
            property_dependencies=property_dependencies(graph, r),
        )
        for r in graph.resources
        if r.type != STACK_TYPE
    )


def findings(resources: tuple[PlannedResource, ...]) -> list[Finding]:
    pack = InProcessPack()
    return pack.check(list(resources))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_shipped_stack_has_no_mandatory_violation(stack: str) -> None:
    mandatory = [(f.policy, f.message) for f in findings(planned_stack(stack)) if f.level == "mandatory"]
    assert mandatory == []


def test_shipped_stacks_taggable_resources_are_known_taggable() -> None:
    """Every AWS resource the components tag is in the generated list (and so checked for required tags)."""
    for stack in AWS_STACKS:
        tagged = {r.type for r in planned_stack(stack) if r.type.startswith("aws:") and "tags" in r.props}
        assert tagged - TAGGABLE_TYPES == set(), stack


def test_taggable_types_match_the_installed_sdk() -> None:
    plugin = json.loads((Path(pulumi_aws.__file__).parent / "pulumi-plugin.json").read_text())
    assert plugin["version"] == SDK_VERSION, "run scripts/generate_aws_taggable.py after upgrading pulumi_aws"


# ---------------------------------------------------------------------------------------------
# unknown values (preview) and secrets never crash a check

RESOURCE_FIXTURES, STACK_FIXTURES = load_all()
AWS_RESOURCE_FIXTURES = [f for f in RESOURCE_FIXTURES if f.path.parent.name == "aws"]
AWS_STACK_FIXTURES = [f for f in STACK_FIXTURES if f.path.parent.name == "aws"]
UNKNOWNS = (UNKNOWN_STRING_VALUE, UNKNOWN_BOOLEAN_VALUE, UNKNOWN_OBJECT_VALUE)


def _variants(fixture: ResourceFixture) -> Iterator[dict[str, Any]]:
    """The baseline and every failing case's properties."""
    yield fixture.baseline
    for case in fixture.cases:
        yield apply_set(fixture.baseline, case.set)


@pytest.mark.parametrize("fixture", AWS_RESOURCE_FIXTURES, ids=lambda f: f.path.stem)
def test_unknown_values_anywhere_do_not_crash(fixture: ResourceFixture) -> None:
    """Each property (nested ones too) unknown in turn: checks skip or pass, and never raise."""
    pack = InProcessPack()
    for props in _variants(fixture):
        for path in paths(props):
            for sentinel in UNKNOWNS:
                changed = apply_set(props, {path: sentinel})
                pack.analyze(PlannedResource(fixture.type, changed, "urn:test", fixture.name))


@pytest.mark.parametrize("fixture", AWS_RESOURCE_FIXTURES, ids=lambda f: f.path.stem)
def test_an_unknown_decisive_value_skips_instead_of_failing(fixture: ResourceFixture) -> None:
    """When the changed field of a failing case is unknown, its rule reports nothing (the preview note instead)."""
    for case in fixture.cases:
        changed = {path: UNKNOWN_STRING_VALUE for path in case.set}
        resource = fixture.resource(changed)
        pack = InProcessPack({case.rule: case.config} if case.config else None)
        assert [f for f in pack.analyze(resource) if f.policy == case.rule] == [], case.id


def _secret(value: Any) -> dict[str, Any]:
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


@pytest.mark.parametrize("fixture", AWS_RESOURCE_FIXTURES, ids=lambda f: f.path.stem)
def test_secret_properties_are_checked_like_plain_ones(fixture: ResourceFixture) -> None:
    """Every top-level property wrapped as a secret: the same findings as in the clear."""
    for props in _variants(fixture):
        secret = {key: _secret(value) for key, value in props.items()}
        plain = InProcessPack().analyze(PlannedResource(fixture.type, props, "urn:test", fixture.name))
        hidden = InProcessPack().analyze(PlannedResource(fixture.type, secret, "urn:test", fixture.name))
        assert hidden == plain


@pytest.mark.parametrize("fixture", AWS_STACK_FIXTURES, ids=lambda f: f.path.stem)
def test_stack_checks_survive_unknown_values(fixture: StackFixture) -> None:
    """Each property (nested ones too) of each resource unknown in turn: stack checks never raise."""
    planned = fixture.planned()
    for index, resource in enumerate(planned):
        for path in paths(dict(resource.props)):
            for sentinel in UNKNOWNS:
                props = apply_set(dict(resource.props), {path: sentinel})
                changed = [*planned[:index], dataclasses.replace(resource, props=props), *planned[index + 1 :]]
                InProcessPack().analyze_stack(changed)


# ---------------------------------------------------------------------------------------------
# environments and thresholds


def _web_acl() -> ResourceFixture:
    return next(f for f in AWS_RESOURCE_FIXTURES if f.type == aws.WEB_ACL)


def test_dev_web_acl_may_count() -> None:
    """Count mode (tuning before blocking) passes outside prod, for both the rate and the size rule."""
    counting = {"tags.environment": "dev", "rules.0.action": {"count": {}}, "rules.1.action": {"count": {}}}
    assert InProcessPack().analyze(_web_acl().resource(counting)) == []


@pytest.mark.parametrize("environments", [["prod"], ["production", "live"]])
def test_prod_environments_are_configurable(environments: list[str]) -> None:
    counting = {"tags.environment": "live", "rules.0.action": {"count": {}}}
    config = {"rate-limiting": {"prodEnvironments": environments}}
    found = [f.policy for f in InProcessPack(config).analyze(_web_acl().resource(counting))]
    assert found == (["rate-limiting"] if "live" in environments else [])


@pytest.mark.parametrize("limit", [1024, 8192, 1048576, 10485760])
def test_the_gateway_content_length_regex_counts_as_a_size_limit(limit: int) -> None:
    """The component's Content-Length regex limits exactly what it says: passes at its limit, fails below it."""
    statement = {
        "regexMatchStatement": {
            "regexString": content_length_over_regex(limit),
            "fieldToMatch": {"singleHeader": {"name": "content-length"}},
        }
    }
    assert aws._limits_body(statement, limit)
    assert aws._limits_body(statement, limit * 4)
    assert not aws._limits_body(statement, limit - 1)


def _stack_fixture() -> StackFixture:
    return next(f for f in AWS_STACK_FIXTURES if f.path.stem == "stack-prod")


def _as_environment(fixture: StackFixture, environment: str) -> list[PlannedResource]:
    planned = []
    for r in fixture.planned():
        props = copy.deepcopy(dict(r.props))
        if isinstance(props.get("tags"), dict):
            props["tags"]["environment"] = environment
        if r.type == "ai-platform:aws:AiPlatform":
            props["environment"] = environment
        planned.append(dataclasses.replace(r, props=props))
    return planned


def test_dev_stacks_need_no_ha_or_deletion_protection() -> None:
    """Single instances, no deletion protection and short backups are fine in dev; logs and WAF are not optional."""
    relaxed = {
        "service": {"desiredCount": 1},
        "scaling-target": {"minCapacity": 1},
        "cache": {"numCacheClusters": 1, "multiAzEnabled": False, "automaticFailoverEnabled": False},
        "db-cluster": {"deletionProtection": False, "backupRetentionPeriod": 1, "skipFinalSnapshot": True},
    }
    planned = []
    for r in _as_environment(_stack_fixture(), "dev"):
        planned.append(dataclasses.replace(r, props=apply_set(dict(r.props), relaxed.get(r.name, {}))))
    planned = [r for r in planned if r.name != "db-instance-1"]
    assert InProcessPack().analyze_stack(planned) == []
    without_flow_log = [r for r in planned if r.name != "flow-log"]
    assert [f.policy for f in InProcessPack().analyze_stack(without_flow_log)] == ["access-and-flow-logs"]


def test_untagged_resources_fall_back_to_the_platform_environment() -> None:
    """A resource without an environment tag is prod when the stack's AiPlatform component says so."""
    planned = []
    for r in _stack_fixture().planned():
        props = copy.deepcopy(dict(r.props))
        if isinstance(props.get("tags"), dict):
            props["tags"].pop("environment", None)
        if r.name == "service":
            props["desiredCount"] = 1
        planned.append(dataclasses.replace(r, props=props))
    assert [f.policy for f in InProcessPack().analyze_stack(planned)] == ["high-availability"]


def test_state_files_correlate_by_value() -> None:
    """Without property dependencies (a state file), a flow log still finds its VPC through the VPC's id."""
    planned = []
    for r in _stack_fixture().planned():
        props = dict(r.props)
        if r.name == "vpc":
            props["id"] = "vpc-fd936de605c612574"
        planned.append(dataclasses.replace(r, props=props, property_dependencies={}))
    policies = {f.policy for f in InProcessPack().analyze_stack(planned)}
    assert "access-and-flow-logs" not in policies
    assert {"waf-on-entry-points", "high-availability"} <= policies  # nothing to correlate those by


def test_aurora_instances_match_an_explicit_cluster_identifier() -> None:
    """A cluster named by clusterIdentifier counts the instances that name it, without property dependencies."""
    planned = []
    for r in _stack_fixture().planned():
        props = dict(r.props)
        if r.name == "db-cluster":
            props["clusterIdentifier"] = "vectors-cluster-46ff48c"
        planned.append(dataclasses.replace(r, props=props, property_dependencies={}))
    messages = [f.message for f in InProcessPack().analyze_stack(planned) if f.policy == "high-availability"]
    assert messages == []
