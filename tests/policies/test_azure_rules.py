"""Azure checks beyond the fixtures: the SDK agrees with the rules, and nothing a preview can send crashes them.

- every property path the Azure fixtures use exists in the installed pulumi_azure_native args
  classes (camelCase wire names, nested too), so a check can't read a misspelt input;
- the committed taggable list is what the SDK says (``scripts/generate_azure_taggable.py`` writes
  a fresh one);
- unknown values, secrets and missing properties never crash a check, and an unknown value never
  produces a violation;
- prod-only conditions stay quiet outside prod; alert and budget facts; the pack imports no SDK.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import sys
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.catalog import RULES_BY_NAME
from policies.framework import SECRET_MARKER, Resource, Stack, run_stack_checks
from policies.inprocess import InProcessPack, PlannedResource
from policies.rules import ALL_CHECKS, azure
from tests.azure.conftest import plan_stack_with
from tests.policies.fixtures import ResourceFixture, StackFixture, apply_set, load_all, paths

RESOURCE_FIXTURES, STACK_FIXTURES = load_all()
AZURE_RESOURCES = [f for f in RESOURCE_FIXTURES if f.path.parent.name == "azure"]
AZURE_STACKS = [f for f in STACK_FIXTURES if f.path.parent.name == "azure"]
PROD_STACK = next(f for f in AZURE_STACKS if f.path.stem == "stack-prod")
ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    """scripts/generate_azure_taggable.py, which reads the SDK's source (its token pattern too)."""
    spec = importlib.util.spec_from_file_location(
        "generate_azure_taggable", ROOT / "scripts" / "generate_azure_taggable.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


# --- the SDK's args classes -------------------------------------------------------------------------


def _sdk_dir() -> Path:
    spec = importlib.util.find_spec("pulumi_azure_native")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def _members(annotation: Any) -> Iterator[Any]:
    """The concrete types in an ``Input[Optional[Union[...]]]`` annotation."""
    if typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            yield from _members(arg)
    elif annotation is not type(None) and "Awaitable" not in repr(annotation) and "Output" not in repr(annotation):
        yield annotation


@cache
def _schema(cls: type) -> dict[str, list[Any]]:
    """Wire name -> the member types of one input type (what ``input_type_types`` reports)."""
    from pulumi._types import input_type_types

    return {name: list(_members(tp)) for name, tp in input_type_types(cls).items()}


def _is_input_type(tp: Any) -> bool:
    from pulumi._types import is_input_type

    return isinstance(tp, type) and is_input_type(tp)


def _unknown_paths(cls: type, value: Any, prefix: str = "") -> Iterator[str]:
    """Paths in ``value`` (a fixture's inputs) that the args class ``cls`` does not declare."""
    if not isinstance(value, dict):
        return
    schema = _schema(cls)
    for key, item in value.items():
        path = f"{prefix}{key}"
        if key not in schema:
            yield path
            continue
        for tp in schema[key]:
            origin = typing.get_origin(tp)
            if origin is not None and origin.__name__ in ("Mapping", "dict"):
                break  # free-form map (tags, customProperties, notifications)
            if _is_input_type(tp):
                yield from _unknown_paths(tp, item, f"{path}.")
                break
            if origin is not None and origin.__name__ in ("Sequence", "list") and isinstance(item, list):
                inner = [m for arg in typing.get_args(tp) for m in _members(arg) if _is_input_type(m)]
                if inner:
                    for index, entry in enumerate(item):
                        yield from _unknown_paths(inner[0], entry, f"{path}.{index}.")
                    break


def _args_class(token: str) -> type:
    """The ``<Resource>Args`` class of a default-module azure-native token.

    Taken from the resource's own module, where it is ``<Name>InitArgs`` when an input type of
    another resource already has the name (``monitor.ActionGroupArgs`` is an alert's action).
    """
    _, module, name = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    own = vars(sys.modules[resource.__module__])
    return own.get(f"{name}InitArgs") or own[f"{name}Args"]


def _fixture_inputs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for f in AZURE_RESOURCES:
        yield f.path.stem, f.type, f.baseline
        for case in f.cases:
            yield case.id, f.type, apply_set(f.baseline, case.set)
    for f in AZURE_STACKS:
        for r in f.resources:
            if r["type"].startswith("azure-native:"):
                yield f"{f.path.stem}:{r['name']}", r["type"], r.get("props") or {}
        for case in f.cases:
            for planned in f.planned(case):
                if planned.type.startswith("azure-native:") and planned.name in case.set:
                    yield f"{case.id}:{planned.name}", planned.type, dict(planned.props)


def test_fixture_inputs_exist_in_the_sdk() -> None:
    """Every input a fixture sets is a real azure-native 3.x input (so every path a check reads is too)."""
    wrong = sorted(
        {
            f"{where}: {token} has no input {path}"
            for where, token, props in _fixture_inputs()
            for path in _unknown_paths(_args_class(token), props)
        }
    )
    assert wrong == []


def test_checked_tokens_exist_in_the_sdk() -> None:
    """Every type token a check dispatches on (or a stack check looks for) is a resource of the SDK."""
    tokens = {t for by_type in azure.checks.resource_checks.values() for t in by_type if not t.endswith(":*")}
    tokens |= {
        value
        for name, value in vars(azure).items()
        if name.isupper() and isinstance(value, str) and value.startswith("azure-native:")
    }
    assert [t for t in sorted(tokens) if _registered_token(t) != t] == []


def _registered_token(token: str) -> str | None:
    """The type token the SDK's resource class for ``token`` registers with (None if there is none)."""
    _, module, name = token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name, None)
    if resource is None:
        return None
    match = GENERATOR.TOKEN.search(Path(sys.modules[resource.__module__].__file__ or "").read_text())
    return match.group(1) if match else None


# --- the taggable list -------------------------------------------------------------------------------


def test_taggable_list_is_what_the_sdk_says() -> None:
    assert sorted(azure.TAGGABLE ^ set(GENERATOR.taggable_types())) == []


def test_every_taggable_fixture_type_is_in_the_list() -> None:
    for f in AZURE_RESOURCES:
        if "tags" in f.baseline:
            assert f.type in azure.TAGGABLE


def test_untaggable_and_unlisted_types_need_no_tags() -> None:
    pack = InProcessPack()
    for token in ("azure-native:monitor:DiagnosticSetting", "azure-native:consumption:Budget", "azure-native:foo:Bar"):
        assert pack.analyze(PlannedResource(token, {}, f"urn:{token}", "x"), only="required-tags") == []


# --- unknowns, secrets, missing properties --------------------------------------------------------


def _with(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    return apply_set(props, {path: value})


@pytest.mark.parametrize("fixture", AZURE_RESOURCES, ids=lambda f: f.path.stem)
def test_an_unknown_value_never_crashes_or_fails_a_check(fixture: ResourceFixture) -> None:
    """Any single input unknown during preview: no violation, at most a "can't run during preview" note."""
    pack = InProcessPack()
    for path in paths(fixture.baseline):
        props = _with(fixture.baseline, path, UNKNOWN_STRING_VALUE)
        resource = PlannedResource(fixture.type, props, f"urn:{fixture.name}", fixture.name)
        assert pack.analyze(resource) == [], path


@pytest.mark.parametrize("fixture", AZURE_RESOURCES, ids=lambda f: f.path.stem)
def test_secret_and_missing_values_never_crash(fixture: ResourceFixture) -> None:
    """Secret markers (offline graphs) or a missing input anywhere: checks report, they don't raise."""
    pack = InProcessPack()
    for path in paths(fixture.baseline):
        for value in (SECRET_MARKER, None, {}):
            props = _with(fixture.baseline, path, value)
            pack.analyze(PlannedResource(fixture.type, props, f"urn:{fixture.name}", fixture.name))
    pack.analyze(PlannedResource(fixture.type, {}, f"urn:{fixture.name}", fixture.name))


def test_a_secret_env_value_is_seen_unwrapped() -> None:
    """The engine sends secrets wrapped; the SDK unwraps them, so a leaked key is still recognised."""
    fixture = next(f for f in AZURE_RESOURCES if f.type == azure.CONTAINER_APP)
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "sk-" + "a" * 40}
    props = _with(fixture.baseline, "template.containers.0.env.0.value", wrapped)
    found = InProcessPack().analyze(PlannedResource(fixture.type, props, "urn:api", "api"))
    assert [f.policy for f in found] == ["secrets-not-in-plain-env"]


def _stack_with(fixture: StackFixture, name: str, path: str, value: Any) -> Stack:
    """The fixture's stack as the checks see it, with one input changed (built directly: fast)."""
    return Stack(
        [
            Resource(
                r.type,
                _with(dict(r.props), path, value) if r.name == name else r.props,
                r.urn,
                r.name,
                r.parent,
                tuple(r.dependencies),
                r.property_dependencies,
            )
            for r in fixture.planned()
        ]
    )


AZURE_STACK_CHECKS = [(rule, fn) for rule, fns in azure.checks.stack_checks.items() for fn in fns]
AZURE_STACK_CHECKS += [
    (rule, fn) for rule, fns in ALL_CHECKS[-1].stack_checks.items() if rule == "budget-and-alerts" for fn in fns
]


def _stack_violations(stack: Stack) -> list[str]:
    """What the Azure stack checks (and budget-and-alerts with the Azure facts) report, with default config."""
    return [
        f"{rule}: {v.message}"
        for rule, fn in AZURE_STACK_CHECKS
        for v in run_stack_checks([fn], stack, RULES_BY_NAME[rule].defaults())
    ]


STACK_READ_TYPES = {
    azure.APP_GATEWAY, azure.APIM_SERVICE, azure.CONTAINER_APP, azure.MANAGED_ENVIRONMENT, azure.KEY_VAULT,
    azure.REDIS, azure.POSTGRES, azure.SERVICE_BUS, azure.REGISTRY, azure.OPENAI_ACCOUNT, azure.WAF_POLICY,
    azure.PRIVATE_ENDPOINT, azure.PRIVATE_DNS_ZONE_GROUP, azure.DIAGNOSTIC_SETTING, azure.FLOW_LOG,
    azure.VIRTUAL_NETWORK, azure.LOCK, azure.METRIC_ALERT, azure.BUDGET,
}  # fmt: skip
"""The types the Azure stack checks and facts read."""


def _stack_paths(fixture: StackFixture) -> Iterator[tuple[str, str]]:
    """Paths of the inputs stack checks read (the first entry of each list).

    (The platform component's ``optOuts`` is left out: the framework reads it before any check; see
    the report on unknown opt-outs.)
    """
    for r in fixture.resources:
        if r["type"] not in STACK_READ_TYPES:
            continue
        for path in paths(r.get("props") or {}):
            parts = path.split(".")
            if not any(p.isdigit() and p != "0" for p in parts):
                yield r["name"], path


def test_the_stack_baseline_passes_the_direct_run() -> None:
    assert _stack_violations(_stack_with(PROD_STACK, "", "x", None)) == []


def test_an_unknown_value_never_fails_a_stack_check() -> None:
    for name, path in _stack_paths(PROD_STACK):
        assert _stack_violations(_stack_with(PROD_STACK, name, path, UNKNOWN_STRING_VALUE)) == [], (name, path)


def test_missing_values_never_crash_a_stack_check() -> None:
    for name, path in _stack_paths(PROD_STACK):
        for value in (None, SECRET_MARKER, {}):
            _stack_violations(_stack_with(PROD_STACK, name, path, value))
    empty = [PlannedResource(r.type, {}, r.urn, r.name) for r in PROD_STACK.planned()]
    InProcessPack().analyze_stack(empty)


# --- prod-only conditions, facts -----------------------------------------------------------------------


def _as_dev(fixture: StackFixture) -> StackFixture:
    resources = copy.deepcopy(fixture.resources)
    for r in resources:
        props = r.setdefault("props", {})
        if r["type"].startswith("ai-platform:"):
            props["environment"] = "dev"
        elif isinstance(props.get("tags"), dict):
            props["tags"] = {**props["tags"], "environment": "dev"}
    return StackFixture(fixture.path, resources, [])


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("api", {"template.scale.minReplicas": 1}),
        ("env", {"zoneRedundant": False}),
        ("cache", {"zonalAllocationPolicy": "NoZones"}),
        ("vector-db", {"highAvailability.mode": "Disabled", "backup.backupRetentionDays": 1}),
        ("vault", {"properties.enablePurgeProtection": False}),
        ("waf", {"policySettings.mode": "Detection"}),
    ],
)
def test_prod_only_conditions_are_quiet_in_dev(name: str, changes: dict[str, Any]) -> None:
    dev = _as_dev(PROD_STACK)
    planned = [
        PlannedResource(
            r.type,
            apply_set(dict(r.props), changes) if r.name == name else r.props,
            r.urn,
            r.name,
            r.parent,
            r.dependencies,
            r.property_dependencies,
        )
        for r in dev.planned()
    ]
    assert InProcessPack().analyze_stack(planned) == []


def test_a_resource_environment_tag_overrides_the_component() -> None:
    """A resource tagged environment=dev in a prod stack is held to dev rules."""
    planned = PROD_STACK.planned()
    api = next(r for r in planned if r.name == "api")
    props = apply_set(dict(api.props), {"tags.environment": "dev", "template.scale.minReplicas": 1})
    planned = [PlannedResource(r.type, props, r.urn, r.name) if r is api else r for r in planned]
    assert InProcessPack().analyze_stack(planned, only="high-availability") == []


def _alert(**props: Any) -> Resource:
    base = {
        "enabled": True,
        "actions": [{"actionGroupId": "/ag"}],
        "criteria": {"allOf": [{"metricName": "requests/duration"}]},
    }
    base.update(props)
    return Resource(azure.METRIC_ALERT, base)


def test_alert_facts() -> None:
    assert azure.latency_metric_alert(_alert())
    assert not azure.latency_metric_alert(_alert(enabled=False))
    assert not azure.latency_metric_alert(_alert(actions=[]))
    assert azure.error_metric_alert(_alert(criteria={"allOf": [{"metricName": "requests/failed"}]}))
    five_xx = {"metricName": "Requests", "dimensions": [{"name": "StatusCodeCategory", "values": ["5xx"]}]}
    assert azure.error_metric_alert(_alert(criteria={"allOf": [five_xx]}))
    assert not azure.error_metric_alert(_alert(criteria={"allOf": [{**five_xx, "dimensions": []}]}))
    assert not azure.error_metric_alert(_alert())


def test_budget_fact_needs_a_notification_to_someone() -> None:
    notify = {"enabled": True, "operator": "GreaterThan", "threshold": 80, "contactEmails": ["a@example.com"]}
    assert azure.consumption_budget(Resource(azure.BUDGET, {"notifications": {"n": notify}}))
    assert not azure.consumption_budget(Resource(azure.BUDGET, {"notifications": {"n": {**notify, "enabled": False}}}))
    assert not azure.consumption_budget(
        Resource(azure.BUDGET, {"notifications": {"n": {**notify, "contactEmails": []}}})
    )
    assert not azure.consumption_budget(Resource(azure.BUDGET, {}))


@pytest.mark.parametrize(
    ("xml", "rate_limited", "size_limited"),
    [
        ("<policies><inbound><rate-limit calls='5' renewal-period='60'/></inbound></policies>", True, False),
        ("<policies><inbound><rate-limit-by-key calls='5' counter-key='k'/></inbound></policies>", True, False),
        ("<policies><inbound><quota-by-key calls='5' counter-key='k'/></inbound></policies>", False, False),
        (
            "<policies><INBOUND><validate-content max-size='1024' size-exceeded-action='Prevent'/></INBOUND>",
            False,
            True,
        ),
        (
            "<inbound><validate-content max-size='1024' size-exceeded-action='prevent'/></inbound>",
            False,
            True,
        ),
        ("<policies><inbound/><outbound><rate-limit calls='5'/></outbound></policies>", False, False),
        ("not xml at all", False, False),
    ],
)
def test_apim_policy_parsing(xml: str, rate_limited: bool, size_limited: bool) -> None:
    pack = InProcessPack()
    props = {"resourceGroupName": "rg", "serviceName": "apim", "format": "rawxml", "value": xml}
    found = {f.policy for f in pack.analyze(PlannedResource(azure.APIM_POLICY, props, "urn:p", "p"))}
    assert ("rate-limiting" not in found) is rate_limited
    assert ("request-size-limits" not in found) is size_limited


def test_api_policy_base_is_recognised_without_a_space() -> None:
    props = {"value": "<policies><inbound><base/></inbound></policies>"}
    assert InProcessPack().analyze(PlannedResource(azure.APIM_API_POLICY, props, "urn:p", "p")) == []


# --- named opt-outs (azure.insecure) -------------------------------------------------------------------

#: opt-out -> (resource, the insecure inputs it allows, the rule whose condition it waives)
OPT_OUT_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "azure.publicDataServices": ("registry", {"publicNetworkAccess": "Enabled"}, "no-public-data-services"),
    "azure.localAuth": ("queue-ns", {"disableLocalAuth": False}, "no-static-credentials"),
    "azure.externalApiManagement": ("apim", {"virtualNetworkType": "External"}, "waf-on-entry-points"),
    "azure.singleZoneDatabase": ("vector-db", {"highAvailability.mode": "Disabled"}, "high-availability"),
}


def _prod_stack_with(name: str, changes: dict[str, Any], opt_outs: list[str]) -> list[PlannedResource]:
    """The prod stack fixture with ``changes`` on resource ``name`` and the platform's ``optOuts``."""
    planned = []
    for r in PROD_STACK.planned():
        props = dict(r.props)
        if r.name == name:
            props = apply_set(props, changes)
        elif r.type == "ai-platform:azure:AiPlatform":
            props["optOuts"] = opt_outs
        planned.append(PlannedResource(r.type, props, r.urn, r.name, r.parent, r.dependencies, r.property_dependencies))
    return planned


def _type_of(name: str) -> str:
    return next(r["type"] for r in PROD_STACK.resources if r["name"] == name)


@pytest.mark.parametrize("opt_out", sorted(OPT_OUT_CASES))
def test_an_opt_out_waives_its_condition_and_is_reported_instead(opt_out: str) -> None:
    name, changes, rule = OPT_OUT_CASES[opt_out]
    pack = InProcessPack()
    key = f"azure.insecure.{opt_out.split('.')[1]}"
    [without] = pack.check(_prod_stack_with(name, changes, []))
    assert without.policy == rule and without.urn == f"urn:pulumi:test::fixtures::{_type_of(name)}::{name}"
    assert without.message.endswith(f"(allowed only by the named opt-out {key})")
    [reported] = pack.check(_prod_stack_with(name, changes, [opt_out]))
    assert reported.policy == "insecure-opt-outs" and reported.level == "advisory"
    assert f"the stack opts out of a secure default: {key} is set" in reported.message


def test_an_opt_out_waives_nothing_but_its_own_condition() -> None:
    # public access on the registry is waived; its admin user (no opt-out) is still reported
    changes = {"publicNetworkAccess": "Enabled", "adminUserEnabled": True}
    found = InProcessPack().check(_prod_stack_with("registry", changes, ["azure.publicDataServices"]))
    assert sorted(f.policy for f in found) == ["insecure-opt-outs", "no-static-credentials"]
    # another opt-out does not waive it
    found = InProcessPack().check(_prod_stack_with("registry", {"publicNetworkAccess": "Enabled"}, ["azure.localAuth"]))
    assert sorted(f.policy for f in found) == ["insecure-opt-outs", "no-public-data-services"]


def test_a_public_postgres_server_has_no_opt_out() -> None:
    changes = {"network.publicNetworkAccess": "Enabled"}
    found = InProcessPack().check(_prod_stack_with("vector-db", changes, ["azure.publicDataServices"]))
    [public] = [f for f in found if f.policy == "no-public-data-services"]
    assert "named opt-out" not in public.message


def test_a_planned_stack_with_opt_outs_passes_through_the_analyzer_protocol() -> None:
    """azure-dev with External API Management, a public registry and Service Bus SAS keys: the real
    pack process reports no mandatory violation, only the opt-outs (advisory); the same graph with
    the platform's optOuts emptied gives the conditions they waived."""

    from policies.check import check_graph
    from policies.inputs import parse_graph

    opt_outs = {"externalApiManagement": True, "publicDataServices": True, "localAuth": True}
    graph = plan_stack_with(
        "azure-dev",
        insecure=opt_outs,
        apiManagementNetwork="External",
        publicServices=["registry"],
        localAuth=["queue"],
    )
    platform = graph.one("ai-platform:azure:AiPlatform")
    assert sorted(platform.inputs["optOuts"]) == [f"azure.{n}" for n in sorted(opt_outs)]
    assert graph.one(azure.APIM_SERVICE).inputs["virtualNetworkType"] == "External"
    pool = graph.one(azure.APP_GATEWAY).inputs["backendAddressPools"][0]["backendAddresses"][0]
    assert set(pool) == {"fqdn"}
    assert graph.one(azure.REGISTRY).inputs["publicNetworkAccess"] == "Enabled"
    assert graph.one(azure.SERVICE_BUS).inputs["disableLocalAuth"] is False

    report, _ = check_graph(parse_graph(graph.to_json(), "azure-dev"))
    assert report.mandatory == []
    advisory = sorted(
        v.message.split(": ")[1].split(" ")[0] for v in report.violations if v.policy == "insecure-opt-outs"
    )
    assert advisory == [f"azure.insecure.{n}" for n in sorted(opt_outs)]

    raw = graph.to_json()
    for r in raw["resources"]:
        if r["type"] == "ai-platform:azure:AiPlatform":
            for props in (r.get("inputs"), r.get("outputs")):
                if isinstance(props, dict) and "optOuts" in props:
                    props["optOuts"] = []
    report, _ = check_graph(parse_graph(raw, "azure-dev"))
    waived = sorted((v.policy, str(v.urn).rsplit("::", 1)[1]) for v in report.mandatory)
    assert waived == [
        ("no-public-data-services", "ai-platform-registry-registry"),
        ("no-static-credentials", "ai-platform-queue-namespace"),
        ("waf-on-entry-points", "ai-platform-apim-service"),
    ], waived
