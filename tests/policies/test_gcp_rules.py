"""GCP checks beyond the fixtures: unknown values, secrets and missing properties never crash or
produce a false violation; the conditions the fixtures cannot express (always-violating types,
non-prod, alternative inputs); and the generated list of labelable types is current."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pulumi_gcp
import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.inprocess import InProcessPack, PlannedResource
from policies.rules import gcp
from policies.rules.gcp_labelable import LABELABLE_TYPES
from tests.policies.fixtures import ResourceFixture, StackFixture, apply_set, load_all, paths, urn

ROOT = Path(__file__).resolve().parents[2]
RESOURCES, STACKS = load_all()
GCP_RESOURCES = [f for f in RESOURCES if f.path.parent.name == "gcp"]
GCP_STACKS = [f for f in STACKS if f.path.parent.name == "gcp"]
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _fixture(name: str) -> ResourceFixture:
    return next(f for f in GCP_RESOURCES if f.name == name)


def _planned(type_: str, props: dict[str, Any], name: str = "r") -> PlannedResource:
    return PlannedResource(type_, props, urn(type_, name), name)


def _messages(type_: str, props: dict[str, Any], rule: str, name: str = "r") -> list[str]:
    return [f.message for f in InProcessPack().analyze(_planned(type_, props, name), only=rule)]


STACK_TYPES = {
    gcp.BACKEND_SERVICE,
    gcp.SUBNETWORK,
    gcp.FIREWALL,
    gcp.BUDGET,
    gcp.ALERT_POLICY,
    gcp.SERVICE_ACCOUNT_KEY,
    gcp.HMAC_KEY,
}
"""Types only stack checks, facts or the ``gcp:*`` checks look at."""


def _inspected_gcp_types() -> set[str]:
    registered = {t for by_type in gcp.checks.resource_checks.values() for t in by_type if not t.endswith(":*")}
    return registered | STACK_TYPES


# --- the generated list --------------------------------------------------------------------------


def test_labelable_types_are_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_gcp_labelable", ROOT / "scripts" / "generate_gcp_labelable.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    generated = script.labelable_types(Path(pulumi_gcp.__file__).parent)
    assert sorted(LABELABLE_TYPES) == generated
    assert {
        "gcp:cloudrunv2/service:Service",
        "gcp:redis/instance:Instance",
        "gcp:pubsub/topic:Topic",
    } <= LABELABLE_TYPES
    assert "gcp:compute/subnetwork:Subnetwork" not in LABELABLE_TYPES  # subnetworks take no labels


# --- unknowns, secrets, missing properties ------------------------------------------------------


@pytest.mark.parametrize("fixture", GCP_RESOURCES, ids=lambda f: f.path.stem)
def test_an_unknown_value_anywhere_is_never_a_violation(fixture: ResourceFixture) -> None:
    """A preview knows less than the baseline: each value unknown in turn skips checks, never fails them."""
    for path in paths(fixture.baseline):
        pack = InProcessPack()
        resource = _planned(fixture.type, apply_set(fixture.baseline, {path: UNKNOWN_STRING_VALUE}), fixture.name)
        assert pack.analyze(resource) == [], path


@pytest.mark.parametrize("fixture", GCP_STACKS, ids=lambda f: f.path.stem)
def test_an_unknown_value_in_a_stack_is_never_a_violation(fixture: StackFixture) -> None:
    planned = fixture.planned()
    for index, resource in enumerate(planned):
        if not resource.type.startswith(("gcp:", "ai-platform:")):
            continue
        for path in paths(dict(resource.props)):
            if path.count(".") > 2:
                continue  # deeper paths are covered per resource above; this bounds the stack runs
            changed = list(planned)
            props = apply_set(dict(resource.props), {path: UNKNOWN_STRING_VALUE})
            changed[index] = PlannedResource(
                resource.type,
                props,
                resource.urn,
                resource.name,
                resource.parent,
                resource.dependencies,
                resource.property_dependencies,
            )
            assert InProcessPack().analyze_stack(changed) == [], f"{resource.name}: {path}"


@pytest.mark.parametrize("token", sorted(_inspected_gcp_types()))
def test_missing_properties_do_not_crash(token: str) -> None:
    pack = InProcessPack()
    pack.analyze(_planned(token, {}))
    assert pack.unknowns == []


def test_a_stack_of_empty_resources_does_not_crash() -> None:
    resources = [_planned(token, {}, f"r{i}") for i, token in enumerate(sorted(_inspected_gcp_types()))]
    findings = InProcessPack().analyze_stack(resources)
    assert {f.policy for f in findings} >= {"waf-on-entry-points", "access-and-flow-logs", "budget-and-alerts"}


def test_an_unknown_top_level_input_is_reported_as_unknown() -> None:
    fixture = _fixture("vector-db")
    pack = InProcessPack()
    props = dict(fixture.baseline, settings=UNKNOWN_STRING_VALUE)
    assert pack.analyze(_planned(fixture.type, props, fixture.name)) == []
    assert any("settings" in note for note in pack.unknowns)


def test_a_secret_credential_in_a_plain_env_value_is_found() -> None:
    """The SDK unwraps secrets before the checks see them; a secret key is still a credential."""
    fixture = _fixture("api")
    secret = {SECRET_SIG: SECRET_VALUE_SIG, "value": "sk-proj0123456789abcdefXYZ"}
    props = apply_set(fixture.baseline, {"template.containers.0.envs.0.value": secret})
    assert _messages(fixture.type, props, "secrets-not-in-plain-env", "api") == [
        "api (gcp:cloudrunv2/service:Service) template.containers.0.envs.0.value (APP_ENVIRONMENT) looks like a "
        "credential; use valueSource.secretKeyRef"
    ]


def test_secret_inputs_elsewhere_are_not_violations() -> None:
    fixture = _fixture("vector-db")
    props = dict(fixture.baseline, rootPassword={SECRET_SIG: SECRET_VALUE_SIG, "value": "p4ss"})
    assert InProcessPack().analyze(_planned(fixture.type, props, fixture.name)) == []
    labels = {"owner": "[secret]", "cost-center": "ai-123"}
    assert _messages("gcp:pubsub/topic:Topic", {"kmsKeyName": "k", "labels": labels}, "required-tags") == []


# --- conditions the fixtures cannot show --------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "kind"),
    [("gcp:serviceaccount/key:Key", "a service account key"), ("gcp:storage/hmacKey:HmacKey", "an HMAC key")],
)
def test_static_keys_are_violations_by_existing(token: str, kind: str) -> None:
    """No compliant baseline exists for these types, so they are tested here and not in fixtures."""
    assert _messages(token, {"serviceAccountId": "ai-api"}, "no-static-credentials", "key") == [
        f"key ({token}) creates {kind}, a static credential; use the workload's service account (Cloud Run "
        "identity, Workload Identity Federation) instead"
    ]


def test_armor_rules_in_preview_are_fine_outside_prod() -> None:
    fixture = _fixture("edge-policy")
    props = fixture.resource({"labels.environment": "dev", "rules.2.preview": True, "rules.3.preview": True}).props
    assert InProcessPack().analyze(_planned(fixture.type, dict(props), fixture.name)) == []


def test_edge_and_network_armor_policies_are_skipped() -> None:
    labels = {"owner": "a", "cost-center": "b"}
    for kind in ("CLOUD_ARMOR_EDGE", "CLOUD_ARMOR_NETWORK"):
        assert InProcessPack().analyze(_planned(gcp.SECURITY_POLICY, {"type": kind, "labels": labels})) == []


def test_a_body_limit_with_greater_or_equal_counts_one_byte_less() -> None:
    fixture = _fixture("edge-policy")
    expression = "int(request.headers['content-length']) >= 65537"
    props = dict(fixture.resource({"rules.2.match.expr.expression": expression}).props)
    config = {"request-size-limits": {"maximumBodyBytes": 65536}}
    assert InProcessPack(config).analyze(_planned(fixture.type, props)) == []


def test_asymmetric_keys_need_no_rotation() -> None:
    props = {"keyRing": "ring", "purpose": "ASYMMETRIC_SIGN", "labels": {"owner": "a", "cost-center": "b"}}
    assert InProcessPack().analyze(_planned(gcp.CRYPTO_KEY, props)) == []


def test_a_sidecar_needs_limits_but_no_probes() -> None:
    fixture = _fixture("api")
    sidecar = {"name": "otel", "image": "otel/collector@sha256:" + "a" * 64, "resources": {"limits": {"cpu": "0.5"}}}
    props = apply_set(fixture.baseline, {"template.containers": [*fixture.baseline["template"]["containers"], sidecar]})
    assert _messages(fixture.type, props, "container-hardening", "api") == [
        "api (gcp:cloudrunv2/service:Service) template.containers.1.resources.limits.memory is unset; "
        "set a memory limit"
    ]


def test_a_readiness_probe_stands_in_for_the_startup_probe() -> None:
    fixture = _fixture("api")
    props = fixture.resource(
        {"template.containers.0.startupProbe": None, "template.containers.0.readinessProbe": {"httpGet": {}}}
    ).props
    assert _messages(fixture.type, dict(props), "container-hardening") == []


def test_a_url_map_that_routes_needs_no_redirect() -> None:
    assert _messages(gcp.URL_MAP, {"defaultService": "backend"}, "tls-in-transit") == []


def test_user_managed_secret_replicas_all_with_keys_pass() -> None:
    key = {"customerManagedEncryption": {"kmsKeyName": "k"}}
    replication = {"userManaged": {"replicas": [{"location": "a", **key}, {"location": "b", **key}]}}
    props = {"replication": replication, "labels": {"owner": "a", "cost-center": "b"}}
    assert InProcessPack().analyze(_planned(gcp.SECRET, props)) == []


@pytest.mark.parametrize(
    "text",
    [
        'metric.type = "loadbalancing.googleapis.com/https/total_latencies"',
        "fetch cloud_run_revision | metric 'run.googleapis.com/request_latencies' | every 1m",
        "histogram_quantile(0.95, run_googleapis_com:request_latencies_bucket) > 4000",
    ],
)
def test_latency_alerts_are_recognised(text: str) -> None:
    key = "conditionThreshold" if text.startswith("metric") else "conditionMonitoringQueryLanguage"
    field = "filter" if key == "conditionThreshold" else "query"
    if text.startswith("histogram"):
        key = "conditionPrometheusQueryLanguage"
    alert = _planned(gcp.ALERT_POLICY, {"conditions": [{key: {field: text}}]})
    view = gcp.Resource(alert.type, alert.props)
    assert gcp.is_latency_alert(view)
    assert not gcp.is_error_alert(view)


@pytest.mark.parametrize(
    "text",
    [
        'metric.type = "loadbalancing.googleapis.com/https/request_count" AND metric.labels.response_code_class = 500',
        'metric.labels.response_code_class="5xx"',
    ],
)
def test_error_alerts_are_recognised(text: str) -> None:
    view = gcp.Resource(gcp.ALERT_POLICY, {"conditions": [{"conditionThreshold": {"filter": text}}]})
    assert gcp.is_error_alert(view)
    assert not gcp.is_latency_alert(view)


@pytest.mark.parametrize("scaling", [{"minInstanceCount": 2}, {"scalingMode": "MANUAL", "manualInstanceCount": 3}])
def test_service_level_instance_floors_count_for_high_availability(scaling: dict[str, Any]) -> None:
    fixture = next(iter(GCP_STACKS))
    case = next(c for c in fixture.cases if c.rule == "high-availability")
    planned = fixture.planned(case)  # template.scaling.minInstanceCount 1
    api = next(r for r in planned if r.name == "api")
    props = dict(api.props, scaling=scaling)
    changed = [r if r is not api else PlannedResource(r.type, props, r.urn, r.name, r.parent) for r in planned]
    assert InProcessPack().analyze_stack(changed, only="high-availability") == []


# --- the inputs the checks read exist in the SDK --------------------------------------------------

INPUT_PATHS: dict[str, list[str]] = {
    gcp.RUN_SERVICE: [
        "ingress",
        "labels",
        "scaling.minInstanceCount",
        "scaling.manualInstanceCount",
        "template.scaling.minInstanceCount",
        "template.containers.image",
        "template.containers.ports",
        "template.containers.envs.name",
        "template.containers.envs.value",
        "template.containers.envs.valueSource.secretKeyRef.secret",
        "template.containers.resources.limits",
        "template.containers.livenessProbe",
        "template.containers.startupProbe",
        "template.containers.readinessProbe",
    ],
    gcp.SQL_INSTANCE: [
        "databaseVersion",
        "encryptionKeyName",
        "deletionProtection",
        "settings.userLabels",
        "settings.availabilityType",
        "settings.deletionProtectionEnabled",
        "settings.ipConfiguration.ipv4Enabled",
        "settings.ipConfiguration.sslMode",
        "settings.ipConfiguration.authorizedNetworks.value",
        "settings.backupConfiguration.enabled",
        "settings.backupConfiguration.backupRetentionSettings.retainedBackups",
        "settings.databaseFlags.name",
        "settings.databaseFlags.value",
    ],
    gcp.SQL_USER: ["type"],
    gcp.REDIS: [
        "tier",
        "connectMode",
        "authEnabled",
        "transitEncryptionMode",
        "customerManagedKey",
        "deletionProtection",
        "persistenceConfig.persistenceMode",
        "labels",
    ],
    gcp.TOPIC: ["kmsKeyName", "labels"],
    gcp.SUBSCRIPTION: ["pushConfig.pushEndpoint", "labels"],
    gcp.SECRET: [
        "replication.auto.customerManagedEncryption.kmsKeyName",
        "replication.userManaged.replicas.customerManagedEncryption.kmsKeyName",
        "labels",
    ],
    gcp.REPOSITORY: ["format", "kmsKeyName", "dockerConfig.immutableTags", "labels"],
    gcp.CRYPTO_KEY: ["purpose", "rotationPeriod", "labels"],
    gcp.SSL_POLICY: ["minTlsVersion", "profile"],
    gcp.FIREWALL: ["direction", "disabled", "allows", "sourceRanges", "sourceTags", "sourceServiceAccounts"],
    gcp.HTTPS_PROXY: ["sslPolicy"],
    gcp.URL_MAP: ["defaultUrlRedirect.httpsRedirect"],
    gcp.SECURITY_POLICY: [
        "type",
        "labels",
        "rules.action",
        "rules.preview",
        "rules.match.expr.expression",
        "rules.rateLimitOptions.rateLimitThreshold.count",
    ],
    gcp.BACKEND_SERVICE: ["loadBalancingScheme", "securityPolicy", "logConfig.enable"],
    gcp.SUBNETWORK: ["purpose", "logConfig"],
    gcp.LOG_BUCKET: ["retentionDays"],
    gcp.BUDGET: [
        "thresholdRules",
        "allUpdatesRule.disableDefaultIamRecipients",
        "allUpdatesRule.monitoringNotificationChannels",
        "allUpdatesRule.pubsubTopic",
    ],
    gcp.ALERT_POLICY: [
        "enabled",
        "userLabels",
        "conditions.conditionThreshold.filter",
        "conditions.conditionMonitoringQueryLanguage.query",
        "conditions.conditionPrometheusQueryLanguage.query",
    ],
    gcp.NOTIFICATION_CHANNEL: ["userLabels"],
    **{token: ["member"] for token in gcp.IAM_MEMBERS},
}
"""Every input path (list indices left out) a GCP check reads, by type."""

_GETTER = re.compile(r"@pulumi\.getter(?:\(name=\"(\w+)\"\))?\n    def (\w+)\(self\) -> ([^\n]*):\n")
SDK = Path(pulumi_gcp.__file__).parent


def _class_fields(text: str, name: str) -> dict[str, str]:
    """Wire name -> type annotation of an SDK input class's properties."""
    start = text.index(f"\nclass {name}:")
    end = text.find("\nclass ", start + 1)
    body = text[start : end if end > 0 else len(text)]
    return {wire or python: annotation for wire, python, annotation in _GETTER.findall(body)}


def _missing_input(token: str, path: str) -> str | None:
    """The first key of ``path`` the SDK's input types do not have, or None if the path exists."""
    module = SDK / token.split(":")[1].split("/")[0]
    source = next(p.read_text() for p in module.glob("*.py") if f"'{token}'" in p.read_text())
    inputs = (module / "_inputs.py").read_text()
    text, cls = source, re.search(r"^class (\w+Args):", source, re.M)
    assert cls is not None, token
    name = cls.group(1)
    for key in path.split("."):
        fields = _class_fields(text, name)
        if key not in fields:
            return key
        nested = re.search(r"'(\w+Args)'", fields[key])
        text, name = inputs, nested.group(1) if nested else ""
    return None


@pytest.mark.parametrize("token", sorted(INPUT_PATHS))
def test_checked_inputs_exist_in_the_sdk(token: str) -> None:
    assert {path: _missing_input(token, path) for path in INPUT_PATHS[token]} == dict.fromkeys(INPUT_PATHS[token])


def test_every_inspected_type_lists_its_inputs() -> None:
    assert _inspected_gcp_types() - {gcp.SERVICE_ACCOUNT_KEY, gcp.HMAC_KEY} <= set(INPUT_PATHS)


# --- least privilege: every IAM grant type, members, bindings and whole policies --------------


@pytest.mark.parametrize(
    ("token", "props"),
    [
        ("gcp:projects/iAMBinding:IAMBinding", {"role": "roles/editor", "members": ["group:devs@example.com"]}),
        ("gcp:organizations/iAMMember:IAMMember", {"role": "roles/owner", "member": "user:a@example.com"}),
        ("gcp:serviceaccount/iAMMember:IAMMember", {"role": "roles/viewer", "member": "user:a@example.com"}),
    ],
)
def test_a_basic_role_is_refused_on_any_grant(token: str, props: dict[str, Any]) -> None:
    [message] = _messages(token, props, "least-privilege")
    assert f'role is "{props["role"]}"; grant a predefined role' in message


def test_a_policy_binding_a_basic_role_is_refused_and_a_predefined_one_passes() -> None:
    token = "gcp:projects/iAMPolicy:IAMPolicy"
    bindings = [{"role": "roles/editor", "members": ["user:a@example.com"]}, {"role": "roles/run.invoker"}]
    [message] = _messages(token, {"policyData": json.dumps({"bindings": bindings})}, "least-privilege")
    assert 'policyData binds ["roles/editor"]' in message
    assert _messages(token, {"policyData": json.dumps({"bindings": bindings[1:]})}, "least-privilege") == []
    assert _messages(token, {"policyData": UNKNOWN_STRING_VALUE}, "least-privilege") == []


def test_custom_roles_and_other_types_are_not_grants() -> None:
    assert _messages("gcp:projects/iAMCustomRole:IAMCustomRole", {"role": "roles/editor"}, "least-privilege") == []
