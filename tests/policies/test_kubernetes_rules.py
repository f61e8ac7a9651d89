"""The Kubernetes checks beyond the fixtures: preview unknowns, secrets, missing or odd properties,
config thresholds, the exemptions, the alert facts, and the fixtures' objects against the Kubernetes schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import pytest
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from policies.framework import Resource
from policies.inprocess import Finding, InProcessPack, PlannedResource
from policies.rules import kubernetes as k8s
from tests.policies.fixtures import Case, apply_set, load_all, urn

RESOURCE_FIXTURES, STACK_FIXTURES = load_all()
FIXTURES = {f.path.stem: f for f in RESOURCE_FIXTURES if f.path.parent.name == "kubernetes"}
STACK = next(f for f in STACK_FIXTURES if f.path.parent.name == "kubernetes")
APP = "spec.template.spec.containers.0"
"""The API container in deployment.yaml."""


def secret(value: Any) -> dict[str, Any]:
    """A value as the engine sends a Pulumi secret."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def analyze(fixture: str, changes: Mapping[str, Any] | None = None, **config: Any) -> tuple[list[Finding], list[str]]:
    pack = InProcessPack(config or None)
    findings = pack.analyze(FIXTURES[fixture].resource(dict(changes or {})))
    return findings, pack.unknowns


def analyze_stack(case: Case, **config: Any) -> list[Finding]:
    pack = InProcessPack(config or None)
    planned = STACK.planned(case)
    return pack.check(planned)


def stack_case(set_: dict[str, Any] | None = None, remove: list[str] | None = None) -> Case:
    return Case(id="t", rule="high-availability", expected=[], set=set_ or {}, remove=remove or [])


def rules(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.policy, f.message) for f in findings)


# --- the pack stays light ------------------------------------------------------------------------------


# --- unknown values during preview -------------------------------------------------------------------


def test_an_unknown_image_skips_only_the_digest_check() -> None:
    findings, unknowns = analyze("deployment", {f"{APP}.image": UNKNOWN_STRING_VALUE})
    assert findings == []
    assert unknowns == [
        "pinned-images: string value at .spec.template.spec.containers[app].image can't be known during preview"
    ]


def test_unknown_containers_skip_the_pod_spec_checks_without_findings() -> None:
    findings, unknowns = analyze("deployment", {"spec.template.spec.containers": UNKNOWN_OBJECT_VALUE})
    assert findings == []
    assert sorted(u.split(":", 1)[0] for u in unknowns) == [
        "container-hardening",
        "no-static-credentials",
        "pinned-images",
        "secrets-not-in-plain-env",
    ]


def test_an_unknown_value_of_a_secret_named_variable_is_still_a_plain_value() -> None:
    """Whatever it resolves to, it lands in the pod spec: the name check needs no value."""
    findings, unknowns = analyze(
        "deployment", {f"{APP}.env.2": {"name": "APP_REDIS_PASSWORD", "value": UNKNOWN_STRING_VALUE}}
    )
    assert rules(findings) == [
        (
            "secrets-not-in-plain-env",
            "api (kubernetes:apps/v1:Deployment): spec.template.spec.containers[app].env[APP_REDIS_PASSWORD].value "
            "is set on a secret-named variable; reference a Secret with valueFrom.secretKeyRef instead",
        )
    ]
    assert len(unknowns) == 1 and unknowns[0].startswith("secrets-not-in-plain-env:")


@pytest.mark.parametrize(
    "changes",
    [
        {f"{APP}.securityContext.readOnlyRootFilesystem": UNKNOWN_BOOLEAN_VALUE},
        {"spec.template.spec.securityContext.runAsUser": UNKNOWN_NUMBER_VALUE},
        {f"{APP}.securityContext.capabilities.drop.0": UNKNOWN_STRING_VALUE},
        {f"{APP}.env": UNKNOWN_OBJECT_VALUE},
        {"metadata.labels": UNKNOWN_OBJECT_VALUE},
        {"spec.template.metadata.labels": UNKNOWN_OBJECT_VALUE},
    ],
    ids=lambda c: next(iter(c)),
)
def test_unknown_fields_give_no_false_findings(changes: dict[str, Any]) -> None:
    findings, unknowns = analyze("deployment", changes)
    assert findings == []
    assert unknowns


@pytest.mark.parametrize(
    ("fixture", "changes"),
    [
        ("ingress", {"metadata.annotations": UNKNOWN_OBJECT_VALUE}),
        ("ingress", {"spec.tls.0.hosts": UNKNOWN_OBJECT_VALUE}),
        ("ingress", {"spec.rules.0.host": UNKNOWN_STRING_VALUE}),
        ("service", {"spec.type": UNKNOWN_STRING_VALUE}),
        ("networkpolicy", {"spec.ingress.0.from.0": UNKNOWN_OBJECT_VALUE}),
        ("secret", {"type": UNKNOWN_STRING_VALUE}),
        ("configmap", {"data.APP_SERVICE_NAME": UNKNOWN_STRING_VALUE}),
        ("cronjob", {"spec.jobTemplate": UNKNOWN_OBJECT_VALUE}),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_unknowns_on_other_types_give_no_false_findings(fixture: str, changes: dict[str, Any]) -> None:
    findings, unknowns = analyze(fixture, changes)
    assert findings == []
    assert unknowns


def test_unknowns_in_the_stack_give_no_high_availability_findings() -> None:
    case = stack_case(
        {
            "api-hpa": {"spec.minReplicas": UNKNOWN_NUMBER_VALUE},
            "redis": {"spec.replicas": UNKNOWN_NUMBER_VALUE},
            "qdrant": {"metadata.labels": UNKNOWN_OBJECT_VALUE},
            "api-pdb": {"spec.selector": UNKNOWN_OBJECT_VALUE},
            "redis-pdb": {"spec.selector": {"matchLabels": {"app.kubernetes.io/name": UNKNOWN_STRING_VALUE}}},
        }
    )
    findings = [f for f in analyze_stack(case) if f.policy == "high-availability"]
    assert findings == []


# --- secrets as the engine sends them -----------------------------------------------------------------


def test_secret_wrapped_values_are_read_like_plain_ones() -> None:
    findings, unknowns = analyze(
        "deployment",
        {
            f"{APP}.securityContext.readOnlyRootFilesystem": secret(True),
            f"{APP}.env.0.value": secret("sk-proj-abcdefghijklmnopqrstuvwx"),
        },
    )
    assert unknowns == []
    assert rules(findings) == [
        (
            "secrets-not-in-plain-env",
            "api (kubernetes:apps/v1:Deployment): spec.template.spec.containers[app].env[APP_SERVICE_NAME].value "
            "looks like a credential (it matches secretValuePatterns); reference a Secret with valueFrom.secretKeyRef "
            "instead",
        )
    ]


def test_a_wholly_secret_secret_payload_is_not_misread() -> None:
    findings, unknowns = analyze("secret", {"stringData": secret({"AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP"})})
    assert [f.policy for f in findings] == ["no-static-credentials"]
    assert unknowns == []
    findings, _ = analyze("secret", {"stringData": "[secret]"})
    assert findings == []


# --- missing or odd properties -------------------------------------------------------------------------

INSPECTED = sorted({token for by_type in k8s.checks.resource_checks.values() for token in by_type if "*" not in token})


@pytest.mark.parametrize("token", INSPECTED)
@pytest.mark.parametrize(
    "props",
    [
        {},
        {"metadata": [], "spec": "x", "data": 3, "type": None},
        {"spec": {"template": {"spec": {"containers": "x", "initContainers": [None, 1, "x", {"env": "x"}]}}}},
        {"spec": {"containers": [{"env": [None, {"name": 3, "value": 4}], "securityContext": []}]}},
        {"spec": {"tls": [None, {"hosts": "x"}], "rules": "x", "ingress": [None, {"from": "x"}]}},
    ],
    ids=["empty", "wrong-types", "odd-containers", "odd-env", "odd-lists"],
)
def test_missing_or_odd_properties_never_crash(token: str, props: dict[str, Any]) -> None:
    pack = InProcessPack()
    pack.analyze(PlannedResource(token, props, urn(token, "odd"), "odd"))


def test_a_bare_stack_of_empty_objects_never_crashes() -> None:
    pack = InProcessPack()
    tokens = [*INSPECTED, *k8s.HPAS, *k8s.PDBS, k8s.PROMETHEUS_RULE]
    planned = [PlannedResource(t, {}, urn(t, f"r{i}"), f"r{i}") for i, t in enumerate(tokens)]
    pack.analyze_stack(planned)


# --- config thresholds ---------------------------------------------------------------------------------


def test_required_labels_come_from_config() -> None:
    findings, _ = analyze("deployment", **{"required-tags": {"requiredTags": ["owner", "cost-center", "team"]}})
    assert rules(findings) == [
        (
            "required-tags",
            "api (kubernetes:apps/v1:Deployment) is missing required labels team; every taggable resource needs "
            "owner, cost-center, team",
        ),
        (
            "required-tags",
            "api (kubernetes:apps/v1:Deployment): spec.template.metadata.labels is missing required labels team; "
            "pods need them too, for cost allocation",
        ),
    ]


def test_the_body_limit_maximum_is_inclusive() -> None:
    findings, _ = analyze("ingress", **{"request-size-limits": {"maximumBodyBytes": 1048576}})
    assert findings == []


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("1048576", 1048576),
        ("512k", 524288),
        ("10m", 10485760),
        ("1G", 1073741824),
        ("0", 0),
        ("1 MB", None),
        ("", None),
    ],
)
def test_body_sizes_read_as_nginx_reads_them(value: str, size: int | None) -> None:
    assert k8s.body_size_bytes(value) == size


def test_high_availability_reads_the_replica_floor_from_config() -> None:
    findings = analyze_stack(stack_case(), **{"high-availability": {"minimumReplicas": 3}})
    assert [(f.policy, f.urn) for f in findings] == [
        ("high-availability", STACK.urn_of("redis")),
        ("high-availability", STACK.urn_of("qdrant")),
    ]


# --- high availability: where it applies ---------------------------------------------------------------


def test_high_availability_is_a_prod_rule() -> None:
    case = stack_case({"platform": {"environment": "dev"}, "redis": {"spec.replicas": 1}}, remove=["api-pdb"])
    assert analyze_stack(case) == []


def test_an_environment_label_overrides_the_platform_environment() -> None:
    labels = {"owner": "platform-team", "cost-center": "cc-1234", "environment": "staging"}
    assert analyze_stack(stack_case({"redis": {"spec.replicas": 1, "metadata.labels": labels}})) == []
    labels["environment"] = "prod"
    case = stack_case({"platform": {"environment": "dev"}, "redis": {"spec.replicas": 1, "metadata.labels": labels}})
    assert [f.urn for f in analyze_stack(case)] == [STACK.urn_of("redis")]


def test_an_hpa_is_matched_by_dependency_when_names_are_not_known() -> None:
    case = stack_case(
        {
            "api": {"metadata.name": None},
            "api-hpa": {"spec.scaleTargetRef.name": UNKNOWN_STRING_VALUE, "spec.minReplicas": 1},
        }
    )
    findings = analyze_stack(case)
    assert [(f.policy, f.urn) for f in findings] == [("high-availability", STACK.urn_of("api-hpa"))]


def test_an_hpa_for_another_workload_does_not_count() -> None:
    case = stack_case({"api-hpa": {"spec.scaleTargetRef.name": "other"}, "api": {"spec.replicas": 1}})
    assert [f.urn for f in analyze_stack(case)] == [STACK.urn_of("api")]


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({}, True),
        (None, False),
        ({"matchLabels": {"app": "api"}}, True),
        ({"matchLabels": {"app": "api", "tier": "x"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}, False),
    ],
)
def test_label_selectors(selector: Any, matches: bool) -> None:
    assert k8s.selector_matches(selector, {"app": "api"}) is matches


# --- exemptions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        ("service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"),
        ("service.beta.kubernetes.io/aws-load-balancer-internal", "true"),
        ("networking.gke.io/load-balancer-type", "Internal"),
        ("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
    ],
)
def test_an_internal_load_balancer_is_not_public(annotation: str, value: str) -> None:
    findings, _ = analyze("service", {"spec.type": "LoadBalancer", "metadata.annotations": {annotation: value}})
    assert findings == []
    findings, _ = analyze("service", {"spec.type": "NodePort", "metadata.annotations": {annotation: value}})
    assert [f.policy for f in findings] == ["no-public-data-services"]


def test_the_ingress_controller_may_be_public() -> None:
    findings, _ = analyze(
        "service", {"spec.type": "LoadBalancer", "spec.selector": dict(k8s.INGRESS_CONTROLLER_LABELS)}
    )
    assert findings == []
    findings, _ = analyze(
        "networkpolicy",
        {"spec.podSelector.matchLabels": dict(k8s.INGRESS_CONTROLLER_LABELS), "spec.ingress.0.from": []},
    )
    assert findings == []


def test_containers_that_run_to_completion_need_no_probes() -> None:
    assert analyze("job")[0] == []
    assert analyze("pod", {"spec.restartPolicy": "Never", "spec.containers.0.livenessProbe": None})[0] == []


def test_sidecar_init_containers_need_probes() -> None:
    findings, _ = analyze("pod", {"spec.initContainers.0.restartPolicy": "Always"})
    assert [f.message for f in findings] == [
        f"debug (kubernetes:core/v1:Pod): spec.initContainers[wait-for-redis].{probe} is not set; "
        "long-running containers need liveness and readiness probes"
        for probe in ("livenessProbe", "readinessProbe")
    ]


@pytest.mark.parametrize(
    ("tls_hosts", "host", "covered"),
    [
        (["api.example.com"], "api.example.com", True),
        (["*.example.com"], "api.example.com", True),
        (["*.example.com"], "a.b.example.com", False),
        (["*.example.com"], "example.com", False),
        ([], "api.example.com", False),
    ],
)
def test_tls_hosts_cover_rule_hosts(tls_hosts: list[str], host: str, covered: bool) -> None:
    assert k8s.host_covered(host, tls_hosts) is covered


def test_an_ingress_rule_without_a_host_is_covered_by_tls() -> None:
    findings, _ = analyze("ingress", {"spec.rules.0.host": None})
    assert findings == []


@pytest.mark.parametrize(
    ("token", "labelled"),
    [
        ("kubernetes:apps/v1:Deployment", True),
        ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", True),
        ("kubernetes:helm.sh/v3:Release", False),
        ("kubernetes:yaml/v2:ConfigGroup", False),
        ("kubernetes:kustomize/v2:Directory", False),
        ("kubernetes:core/v1:ConfigMapList", False),
        ("kubernetes:apps/v1:DeploymentPatch", False),
    ],
)
def test_only_objects_need_labels(token: str, labelled: bool) -> None:
    assert k8s.is_labelled_object(Resource(type=token, props={})) is labelled
    findings = InProcessPack().analyze(PlannedResource(token, {}, urn(token, "x"), "x"), only="required-tags")
    assert bool(findings) is labelled


# --- alert facts ---------------------------------------------------------------------------------------


def rule_with(*rules_: dict[str, Any]) -> Resource:
    return Resource(type=k8s.PROMETHEUS_RULE, props={"spec": {"groups": [{"name": "g", "rules": list(rules_)}]}})


@pytest.mark.parametrize(
    ("expr", "latency", "error"),
    [
        ("histogram_quantile(0.95, sum by (le) (rate(ai_http_request_duration_seconds_bucket[5m]))) > 4", True, False),
        ("rate(http_latency_seconds_sum[5m]) / rate(http_latency_seconds_count[5m]) > 2", True, False),
        ('sum(rate(nginx_ingress_controller_requests{status=~"5.."}[5m])) > 1', False, True),
        ('sum(rate(http_requests_total{code="503"}[5m])) > 1', False, True),
        ('sum(rate(http_requests_total{status=~"4..|5.."}[5m])) > 1', False, True),
        ('sum(rate(http_requests_total{status_class="5xx"}[5m])) > 1', False, True),
        ('sum(rate(http_requests_total{status=~"4.."}[5m])) > 1', False, False),
        ('sum(rate(http_requests_total{status!~"5.."}[5m])) < 1', False, False),
        ("sum(rate(ai_upstream_errors_total[5m])) > 1", False, False),
    ],
)
def test_alert_expressions(expr: str, latency: bool, error: bool) -> None:
    resource = rule_with({"alert": "A", "expr": expr})
    assert k8s.prometheus_latency_alert(resource) is latency
    assert k8s.prometheus_error_alert(resource) is error


def test_recording_rules_unknown_expressions_and_other_types_are_no_alerts() -> None:
    expr = 'sum(rate(x_duration_seconds_bucket{status=~"5.."}[5m]))'
    assert not k8s.prometheus_latency_alert(rule_with({"record": "r", "expr": expr}))
    assert not k8s.prometheus_error_alert(rule_with({"alert": "A", "expr": UNKNOWN_STRING_VALUE}))
    assert not k8s.prometheus_latency_alert(rule_with({"alert": "A", "expr": 3}))
    assert not k8s.prometheus_error_alert(Resource(type=k8s.PROMETHEUS_RULE, props={"spec": {"groups": "x"}}))
    assert not k8s.prometheus_error_alert(Resource(type="kubernetes:core/v1:ConfigMap", props={"data": {"e": expr}}))


# --- the fixtures' objects are valid Kubernetes objects ------------------------------------------------

KUBERNETES_VERSION = "1.34.0"


CUSTOM_KINDS = {
    "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
}
"""Kinds from CRDs: no built-in schema (they are checked by the rules' own tests)."""


def _objects() -> list[tuple[str, str, dict[str, Any]]]:
    objects = [(f"{f.path.stem}", f.type, f.baseline) for f in FIXTURES.values()]
    objects += [(f"stack/{r['name']}", r["type"], r.get("props") or {}) for r in STACK.resources]
    return [(name, token, props) for name, token, props in objects if token.startswith("kubernetes:")]


def _schema_file(token: str) -> tuple[str, str, str]:
    _, group_version, kind = token.split(":")
    group, version = group_version.split("/")
    api_version = version if group == "core" else group_version
    suffix = "" if group == "core" else "-" + group.split(".")[0]
    return api_version, kind, f"{kind.lower()}{suffix}-{version}.json"


BUILT_IN = [o for o in _objects() if o[1] not in CUSTOM_KINDS]


def test_only_custom_kinds_lack_a_built_in_schema() -> None:
    unknown = set()
    for _, token, _ in _objects():
        api_version, kind, _ = _schema_file(token)
        try:
            kubernetes_validate.validate({"apiVersion": api_version, "kind": kind}, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.add(token)
        except kubernetes_validate.ValidationError:
            pass
    assert unknown == CUSTOM_KINDS


@pytest.mark.parametrize(("name", "token", "props"), BUILT_IN, ids=[o[0] for o in BUILT_IN])
def test_fixture_objects_match_the_kubernetes_schema(name: str, token: str, props: dict[str, Any]) -> None:
    """Strict validation (unknown fields fail) with kubernetes-validate's schemas for Kubernetes 1.34."""
    api_version, kind, _ = _schema_file(token)
    obj = {"apiVersion": api_version, "kind": kind, **deserialize_properties(apply_set(props, {}))}
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_schema_file_names() -> None:
    assert _schema_file("kubernetes:networking.k8s.io/v1:Ingress") == (
        "networking.k8s.io/v1",
        "Ingress",
        "ingress-networking-v1.json",
    )
    assert _schema_file("kubernetes:core/v1:Service") == ("v1", "Service", "service-v1.json")


def test_an_unknown_in_one_container_does_not_hide_another_containers_violation() -> None:
    findings, unknowns = analyze(
        "pod", {"spec.initContainers.0.image": UNKNOWN_STRING_VALUE, "spec.containers.0.image": "ghcr.io/x/app:1"}
    )
    assert rules(findings) == [
        (
            "pinned-images",
            'debug (kubernetes:core/v1:Pod): spec.containers[shell].image is "ghcr.io/x/app:1"; '
            "pin it by digest (repository@sha256:<digest>) (allowed only by the named opt-out "
            "kubernetes.insecure.imageTag)",
        )
    ]
    assert unknowns == [
        "pinned-images: string value at .spec.initContainers[wait-for-redis].image can't be known during preview"
    ]


def test_an_unknown_env_value_does_not_hide_a_credential_in_another() -> None:
    findings, unknowns = analyze(
        "deployment",
        {f"{APP}.env.0.value": UNKNOWN_STRING_VALUE, f"{APP}.env.1.value": "redis://u:hunter2@redis:6379/0"},
    )
    assert [f.message.split(": ", 1)[1].split(".value", 1)[0] for f in findings] == [
        "spec.template.spec.containers[app].env[APP_REDIS_URL]"
    ]
    assert unknowns == [
        "secrets-not-in-plain-env: string value at .spec.template.spec.containers[app].env[APP_SERVICE_NAME].value "
        "can't be known during preview"
    ]


# --- data protection -----------------------------------------------------------------------------------

DELETE_VOLUMES = {"redis": {"spec.persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}}}


def test_volume_retention_is_a_prod_rule_and_can_be_opted_out() -> None:
    assert analyze_stack(stack_case({**DELETE_VOLUMES, "platform": {"environment": "dev"}})) == []
    opted_out = {**DELETE_VOLUMES, "platform": {"environment": "prod", "optOuts": ["disableDeletionProtection"]}}
    assert [f.policy for f in analyze_stack(stack_case(opted_out))] == ["insecure-opt-outs"]


def test_volume_retention_ignores_stateful_sets_without_volumes_and_unknowns() -> None:
    assert analyze_stack(stack_case({"redis": {**DELETE_VOLUMES["redis"], "spec.volumeClaimTemplates": None}})) == []
    unknown = {"redis": {"spec.persistentVolumeClaimRetentionPolicy": UNKNOWN_OBJECT_VALUE}}
    assert analyze_stack(stack_case(unknown)) == []


# --- default-deny NetworkPolicies (written, not yet registered) -----------------------------------------


def stack_view(case: Case) -> k8s.Stack:
    planned = STACK.planned(case)
    return k8s.Stack(
        [Resource(type=r.type, props=deserialize_properties(dict(r.props)), urn=r.urn, name=r.name) for r in planned]
    )


def default_deny(case: Case) -> list[tuple[str | None, str]]:
    return [(v.urn, v.message) for v in k8s.namespaces_without_default_deny(stack_view(case), {})]


def test_the_stack_fixture_denies_by_default() -> None:
    assert default_deny(stack_case()) == []


def test_a_namespace_without_default_deny_is_reported_on_the_namespace() -> None:
    assert default_deny(stack_case(remove=["default-deny"])) == [
        (
            STACK.urn_of("namespace"),
            "namespace (kubernetes:core/v1:Namespace): namespace ai-platform has no default-deny NetworkPolicy for "
            'Ingress and Egress (spec.podSelector {} with policyTypes ["Ingress", "Egress"] and no rules)',
        )
    ]


@pytest.mark.parametrize(
    ("spec", "denied"),
    [
        ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, {"Ingress", "Egress"}),
        ({"podSelector": {}}, {"Ingress"}),
        ({"podSelector": {}, "policyTypes": ["Egress"]}, {"Egress"}),
        ({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}, set()),
        ({"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}, set()),
        ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"to": []}]}, {"Ingress"}),
    ],
)
def test_denied_directions(spec: dict[str, Any], denied: set[str]) -> None:
    policy = Resource(type=k8s.NETWORK_POLICY, props={"spec": spec})
    assert k8s.denied_directions(policy) == denied


def test_default_deny_is_judged_per_namespace_and_not_on_unknowns() -> None:
    case = stack_case({"default-deny": {"metadata.namespace": "other"}})
    assert [urn for urn, _ in default_deny(case)] == [STACK.urn_of("namespace")]
    case = stack_case({"default-deny": {"spec.podSelector": UNKNOWN_OBJECT_VALUE}})
    assert default_deny(case) == []


def _floats(value: Any) -> Any:
    """Numbers as the engine sends them (protobuf Struct numbers are doubles)."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def test_numbers_read_the_same_as_doubles() -> None:
    fixture = FIXTURES["deployment"]
    pack = InProcessPack()
    assert pack.analyze(PlannedResource(fixture.type, _floats(fixture.baseline), urn(fixture.type, "api"), "api")) == []
    props = _floats(apply_set(fixture.baseline, {"spec.template.spec.securityContext.runAsUser": 0}))
    findings = pack.analyze(PlannedResource(fixture.type, props, urn(fixture.type, "api"), "api"))
    assert [f.message for f in findings] == [fixture.cases[0].expected[0].message]
    case = stack_case({"redis": {"spec.replicas": 1.0}, "api-hpa": {"spec.minReplicas": 3.0}})
    assert [f.message.split(": ", 1)[1] for f in analyze_stack(case)] == [
        "spec.replicas is 1; prod needs at least 2 (or a HorizontalPodAutoscaler with spec.minReplicas of at least 2)"
    ]
