"""Checks for the kubernetes target: the checklist read off Kubernetes objects (camelCase fields).

Rules and what they inspect:

- ``container-hardening``, ``pinned-images``, ``secrets-not-in-plain-env``, ``no-static-credentials``: the
  pod spec of every workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob), through one pod-spec
  reader (:func:`containers`, :func:`per_container`). Probes are required of long-running containers only
  (not of Jobs, CronJobs or init containers, which run to completion). A field unknown during preview
  skips that container for that check (reported as the advisory "can't run during preview"), never the
  other containers.
- ``secrets-not-in-plain-env`` also reads ConfigMaps (their keys reach containers through ``envFrom``).
- ``no-static-credentials``: long-lived ``kubernetes.io/service-account-token`` Secrets, Secrets holding
  cloud access keys, and containers given cloud access keys (use IRSA / GKE or Azure workload identity).
- ``tls-in-transit``, ``rate-limiting``, ``request-size-limits``: Ingresses, read through the ingress-nginx
  annotations (the controller the platform targets; other controllers' annotations are not read).
  ingress-nginx redirects HTTP to HTTPS by default once an Ingress has TLS, so ``ssl-redirect`` only fails
  when it is turned off. The TLS protocol floor is controller-wide (its ConfigMap; TLS 1.2+ by default)
  and not visible on an Ingress. A rate limit is ``limit-rps`` or ``limit-rpm`` (per client IP);
  ``limit-connections`` bounds concurrency only, so it is checked when set but does not count.
- ``tls-in-transit`` on a Gateway API Gateway: it has an HTTPS listener, and each HTTPS listener names
  its certificate (``tls.certificateRefs``); ``https-redirect`` (stack): every HTTPRoute attached to a
  Gateway's plain HTTP listener (by ``sectionName``, or by none: all listeners) only redirects to https
  (a ``RequestRedirect`` filter with scheme https in every rule, no ``backendRefs``).
- ``rate-limiting``, ``request-size-limits`` on the Gateway API edge: Gateway API has no portable limit,
  so the platform attaches Envoy Gateway's BackendTrafficPolicy to the app's HTTPRoute. Envoy Gateway
  applies one such policy per target (the oldest, unless merged), so every BackendTrafficPolicy must
  carry both: a rate limit with a per-client rule (``sourceCIDR`` or a header of type ``Distinct``;
  ``Exact`` is one bucket for all clients) and ``requestBuffer.limit`` (413 beyond it) within
  ``maximumBodyBytes``. Not checked: an HTTPRoute with no policy attached at all. That is a look across
  resources, and these are resource rules (a resource policy sees one object); the Gateway block always
  attaches one (tests/kubernetes/test_gateway.py).
- ``no-public-data-services``: only the ingress controller may be reachable from outside the cluster, so
  a Service of type LoadBalancer (unless the cloud's internal-load-balancer annotation is set), NodePort,
  or with ``externalIPs`` fails unless it selects the ingress-nginx controller; every data service
  (Redis, PostgreSQL, Qdrant) and the app itself stay ClusterIP behind the Ingress. A NetworkPolicy fails
  when an ingress rule admits any source (no ``from``, or an ``ipBlock`` of 0.0.0.0/0 or ::/0).
- ``high-availability`` (stack): in prod, each Deployment and StatefulSet runs at least ``minimumReplicas``
  (``spec.replicas``, or the ``spec.minReplicas`` of the HorizontalPodAutoscaler scaling it) and some
  PodDisruptionBudget in its namespace selects its pod template's labels.
- ``data-protection`` (stack): prod StatefulSets keep their volumes when deleted
  (``persistentVolumeClaimRetentionPolicy.whenDeleted`` is not ``Delete``). Backups (Velero, volume
  snapshots) are not objects of this stack and are not checked.
- ``required-tags``: every Kubernetes object's ``metadata.labels``, and the pod template's labels of each
  workload (cost allocation tools attribute spend by pod labels).
- facts ``latency-alert`` / ``error-alert`` for ``budget-and-alerts``: a PrometheusRule
  (``monitoring.coreos.com/v1``) alert whose expression reads a latency histogram / 5xx status codes.

Not checked here, and why:

- ``encryption-at-rest``: Secret encryption (the API server's KMS provider) and volume encryption (the
  StorageClass / CSI driver) are cluster settings of EKS/GKE/AKS, not properties of the objects a stack
  deploys into a namespace; the cloud targets check the cluster.
- ``access-and-flow-logs``: access logs are a controller-wide setting (on by default in ingress-nginx) and
  flow logs belong to the CNI or the cloud network, neither visible on these objects.
- ``waf-on-entry-points``: ingress-nginx's ModSecurity only logs with the shipped config (``SecRuleEngine
  DetectionOnly``); blocking needs a ``modsecurity-snippet`` annotation, and current controllers refuse
  snippet annotations by default (``allow-snippet-annotations: false``, a known injection risk), so no
  annotation on an Ingress proves a blocking WAF. A WAF for a cluster's entry point belongs in front of
  it (the cloud load balancer's WAF, checked by the cloud targets).
- default-deny NetworkPolicies per namespace need a look across resources: the stack rule
  ``network-isolation`` (:func:`namespaces_without_default_deny`).
- ``kms-key-rotation``, ``log-retention``, ``private-endpoints``: no Kubernetes object carries them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.framework import (
    SECRET_MARKER,
    UNKNOWN,
    CheckSet,
    Resource,
    ResourceCheck,
    Stack,
    Violation,
    Waivable,
    is_unknown,
    require_known,
)
from policies.rules.common import missing_tags

checks = CheckSet("kubernetes")

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
POD = "kubernetes:core/v1:Pod"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDBS = ("kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:policy/v1beta1:PodDisruptionBudget")
HPAS = (
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
)
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"

POD_SPEC_PATHS: Mapping[str, str] = {
    DEPLOYMENT: "spec.template.spec",
    STATEFUL_SET: "spec.template.spec",
    DAEMON_SET: "spec.template.spec",
    JOB: "spec.template.spec",
    CRON_JOB: "spec.jobTemplate.spec.template.spec",
    POD: "spec",
}
"""Where each workload keeps its pod spec."""

WORKLOADS = tuple(POD_SPEC_PATHS)
LONG_RUNNING = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, POD)
"""Workloads whose containers must have liveness and readiness probes (batch containers run to completion)."""
REPLICATED = (DEPLOYMENT, STATEFUL_SET)
"""Workloads that high availability counts replicas and PodDisruptionBudgets for."""

NGINX = "nginx.ingress.kubernetes.io/"
RATE_LIMIT_ANNOTATIONS = ("limit-rps", "limit-rpm")
"""ingress-nginx's per-client request-rate limits (``limit-connections`` bounds concurrency, not the rate)."""
LIMIT_ANNOTATIONS = (*RATE_LIMIT_ANNOTATIONS, "limit-connections")
INGRESS_CONTROLLER_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
"""The labels the ingress-nginx chart gives the controller's pods: the one workload that may be public."""
INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
"""Annotations (compared case-insensitively) that make a LoadBalancer Service private to the network."""
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
CLOUD_KEY_NAMES = re.compile(
    r"(?i)^(aws_access_key_id|aws_secret_access_key|azure_client_secret|google_application_credentials)$"
)
"""Variable and Secret key names that carry a cloud's static access keys."""
LATENCY_EXPR = re.compile(r"(?i)(duration|latency)\w*_(bucket|sum)\b")
ERROR_EXPR = re.compile(r"""(?i)(status|code)\w*\s*(=~\s*["']([^"']*\|)?\(?5|=\s*["']5)""")
"""A ``status``/``code`` label matched against 5xx: ``=~"5.."``, ``=~"4..|5.."``, ``="503"``, ``="5xx"``."""
SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)\s*$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
NOT_OBJECTS = ("helm.sh/", "yaml", "kustomize")
"""Type-token modules of components (charts, YAML and kustomize groups), which have no labels of their own."""


# --- reading values ----------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as a message shows it: JSON-like, ``not set`` for a missing one."""
    if value is None:
        return "not set"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _patterns(config: Mapping[str, Any], key: str) -> list[re.Pattern[str]]:
    """The rule's configured regular expressions; an invalid one is ignored rather than crashing the pack."""
    compiled = []
    for pattern in config.get(key) or ():
        try:
            compiled.append(re.compile(pattern))
        except (re.error, TypeError):
            continue
    return compiled


def known_items(value: Any, path: str) -> list[Any]:
    """A list's items, skipping the check if any is unknown during preview; [] if it is not a list."""
    if not isinstance(value, list):
        return []
    return [require_known(item, f"{path}.{index}") for index, item in enumerate(value)]


def _kind(resource: Resource) -> str:
    return resource.type.rsplit(":", 1)[-1]


def _object_name(resource: Resource) -> str:
    name = resource.get("metadata.name")
    return name if isinstance(name, str) else resource.name


def _annotations(resource: Resource) -> dict[str, Any]:
    annotations = resource.known("metadata.annotations", {})
    return annotations if isinstance(annotations, dict) else {}


# --- the pod-spec reader, shared by every workload type ----------------------------------------------


class _UnknownField(Exception):
    """A field of one container (or variable) is unknown during preview: that item is skipped, not the check."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _known(value: Any, path: str) -> Any:
    if is_unknown(value):
        raise _UnknownField(path)
    return value


@dataclass(frozen=True)
class Container:
    """One container of a workload's pod spec, with the path messages name it by."""

    path: str
    """``spec.template.spec.containers[app]`` (by name, else by index)."""
    view: Resource
    init: bool

    def get(self, path: str, default: Any = None) -> Any:
        return self.view.get(path, default)

    def known(self, path: str, default: Any = None) -> Any:
        """The field's value; an unknown one skips this container for the current check."""
        return _known(self.view.get(path, default), f"{self.path}.{path}")


@dataclass(frozen=True)
class Workload:
    """A workload's pod spec and where it sits (``spec.template.spec``, ``spec`` for a Pod, ...)."""

    resource: Resource
    base: str
    pod: Resource

    def pod_known(self, path: str) -> Any:
        return _known(self.pod.get(path), f"{self.base}.{path}")


def pod_spec_path(resource: Resource) -> str:
    return POD_SPEC_PATHS[resource.type]


def workload(resource: Resource) -> Workload:
    """The pod spec as a resource view of its own (so pod-level fields read like any other)."""
    base = pod_spec_path(resource)
    spec = resource.known(base, {})
    return Workload(resource, base, Resource(type=resource.type, props=spec if isinstance(spec, dict) else {}))


def containers(w: Workload) -> tuple[list[Container], list[str]]:
    """Every init container and container, and the paths of those unknown during preview."""
    found: list[Container] = []
    unknown: list[str] = []
    for group in ("initContainers", "containers"):
        items = w.resource.known(f"{w.base}.{group}", [])
        for index, item in enumerate(items if isinstance(items, list) else []):
            if is_unknown(item):
                unknown.append(f"{w.base}.{group}.{index}")
                continue
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            key = name if isinstance(name, str) and name and not is_unknown(name) else str(index)
            view = Resource(type=w.resource.type, props=item)
            found.append(Container(f"{w.base}.{group}[{key}]", view, group == "initContainers"))
    return found, unknown


ContainerCheck = Callable[[Workload, Container, Mapping[str, Any]], Iterator[str]]


def per_container(check: ContainerCheck) -> ResourceCheck:
    """A resource check running ``check`` on each container: it reports what is known, then (if a container's
    field is unknown during preview) skips for the rest, so one unknown image never hides another's violation."""

    def run(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
        w = workload(r)
        items, pending = containers(w)
        for c in items:
            try:
                yield from check(w, c, config)
            except _UnknownField as unknown:
                pending.append(unknown.path)
        if pending:
            require_known(UNKNOWN, ", ".join(pending))

    run.__name__ = check.__name__
    run.__doc__ = check.__doc__
    return run


def env_vars(c: Container) -> Iterator[tuple[str, Resource]]:
    """(path, variable) for each env entry of a container."""
    items = c.known("env", [])
    for index, item in enumerate(items if isinstance(items, list) else []):
        _known(item, f"{c.path}.env.{index}")
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        key = name if isinstance(name, str) and not is_unknown(name) else str(index)
        yield f"{c.path}.env[{key}]", Resource(type="", props=item)


# --- container-hardening -------------------------------------------------------------------------------


def _effective(w: Workload, c: Container, field: str) -> tuple[Any, str]:
    """A securityContext field and where it is set: the container's, else the pod's (Kubernetes' precedence)."""
    value = c.known(f"securityContext.{field}")
    if value is not None:
        return value, f"{c.path}.securityContext.{field}"
    return w.pod_known(f"securityContext.{field}"), f"{w.base}.securityContext.{field}"


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def runs_as_non_root(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Root in a container is root on the node once anything escapes; Kubernetes enforces runAsNonRoot at start."""
    user, user_path = _effective(w, c, "runAsUser")
    non_root, _ = _effective(w, c, "runAsNonRoot")
    label = w.resource.label
    if _is_number(user) and user == 0:
        where = "" if user_path.startswith(c.path) else f" for {c.path}"
        yield f"{label}: {user_path} is 0 (root){where}; use a non-zero user"
    elif non_root is not True and not (_is_number(user) and user > 0):
        yield (
            f"{label}: {c.path}.securityContext.runAsNonRoot is {show(non_root)} and no runAsUser is set "
            f"(here or in {w.base}.securityContext); set runAsNonRoot: true or a non-zero runAsUser"
        )


WRITABLE_ROOT = "kubernetes.writableRootFilesystem"
"""The opt-out that lets containers write to their root filesystem."""
checks.waive("container-hardening", WRITABLE_ROOT)


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def read_only_root_filesystem(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """A writable root filesystem lets an intruder drop tools and persist; writable paths go on volumes."""
    value = c.known("securityContext.readOnlyRootFilesystem")
    if value is not True:
        yield Waivable(
            WRITABLE_ROOT,
            f"{w.resource.label}: {c.path}.securityContext.readOnlyRootFilesystem is {show(value)}; it must be true",
        )


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def no_privilege_escalation(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """setuid binaries and privileged mode undo every other restriction; allowPrivilegeEscalation defaults to true."""
    if c.known("securityContext.privileged") is True:
        yield f"{w.resource.label}: {c.path}.securityContext.privileged is true; containers must not be privileged"
    escalation = c.known("securityContext.allowPrivilegeEscalation")
    if escalation is not False:
        yield (
            f"{w.resource.label}: {c.path}.securityContext.allowPrivilegeEscalation is {show(escalation)}; "
            "it must be false"
        )


#: seccomp profiles that filter system calls (Pod Security "restricted" allows only these)
FILTERING_SECCOMP_PROFILES = ("RuntimeDefault", "Localhost")


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def seccomp_profile(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Without a seccomp profile a container may make every system call the kernel offers; Unconfined is the default."""
    profile, where = _effective(w, c, "seccompProfile.type")
    if profile not in FILTERING_SECCOMP_PROFILES:
        yield (
            f"{w.resource.label}: {where} is {show(profile)} for {c.path}; "
            f"set seccompProfile.type to {' or '.join(FILTERING_SECCOMP_PROFILES)} (pod or container)"
        )


def _known_list(value: Any, path: str) -> list[Any]:
    return [_known(item, f"{path}.{i}") for i, item in enumerate(value)] if isinstance(value, list) else []


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def capabilities_dropped(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """The runtime's default capabilities (NET_RAW, CHOWN, ...) are more than an API server needs."""
    path = f"{c.path}.securityContext.capabilities"
    drop = c.known("securityContext.capabilities.drop")
    if "ALL" not in [d.upper() for d in _known_list(drop, f"{path}.drop") if isinstance(d, str)]:
        yield f"{w.resource.label}: {path}.drop is {show(drop)}; it must include ALL"
    add = c.known("securityContext.capabilities.add")
    added = _known_list(add, f"{path}.add")
    if any(not (isinstance(a, str) and a.upper() in ALLOWED_ADDED_CAPABILITIES) for a in added):
        yield (
            f"{w.resource.label}: {path}.add is {show(add)}; "
            f"only {', '.join(sorted(ALLOWED_ADDED_CAPABILITIES))} may be added back"
        )


@checks.resource("container-hardening", *WORKLOADS)
def no_host_namespaces(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Sharing the node's network, PID or IPC namespace exposes the node's traffic and processes."""
    w = workload(r)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if require_known(w.pod.get(field), f"{w.base}.{field}") is True:
            yield f"{r.label}: {w.base}.{field} is true; pods must not share the node's namespaces"


@checks.resource("container-hardening", *WORKLOADS)
@per_container
def requests_and_limits(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Requests let the scheduler place pods; limits stop one pod starving the node (and its neighbours)."""
    missing = [
        f"{kind}.{resource}"
        for kind in ("requests", "limits")
        for resource in ("cpu", "memory")
        if c.known(f"resources.{kind}.{resource}") in (None, "")
    ]
    if missing:
        yield (
            f"{w.resource.label}: {c.path}.resources has no {', '.join(missing)}; "
            "every container needs cpu and memory requests and limits"
        )


@checks.resource("container-hardening", *LONG_RUNNING)
@per_container
def health_probes(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Without probes a hung process keeps receiving traffic and is never restarted.

    Containers that run to completion are exempt: init containers (but not sidecars, ``restartPolicy: Always``)
    and the containers of a bare Pod with ``restartPolicy`` Never or OnFailure."""
    if c.init and c.known("restartPolicy") != "Always":
        return
    if w.resource.type == POD and w.pod_known("restartPolicy") in ("Never", "OnFailure"):
        return
    for probe in ("livenessProbe", "readinessProbe"):
        if c.known(probe) is None:
            yield (
                f"{w.resource.label}: {c.path}.{probe} is not set; "
                "long-running containers need liveness and readiness probes"
            )


# --- pinned-images -----------------------------------------------------------------------------------

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
IMAGE_TAG = "kubernetes.imageTag"
"""The dev-only opt-out that lets a workload's image be a tag other than latest."""
checks.waive("pinned-images", IMAGE_TAG)


@checks.resource("pinned-images", *WORKLOADS)
@per_container
def images_pinned_by_digest(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """A tag can be moved to other bytes; a digest names exactly what was scanned and tested."""
    image = c.known("image")
    if not (isinstance(image, str) and DIGEST.search(image)):
        message = f"{w.resource.label}: {c.path}.image is {show(image)}; pin it by digest (repository@sha256:<digest>)"
        yield Waivable(IMAGE_TAG, message) if isinstance(image, str) and named_tag(image) else message


def named_tag(image: str) -> bool:
    """Whether the image names a tag other than latest (a dev stack's opt-out may allow one; a
    missing tag or latest never)."""
    last = image.rpartition("/")[2]
    tag = last.partition(":")[2]
    return "@" not in image and bool(tag) and tag != "latest"


# --- secrets-not-in-plain-env --------------------------------------------------------------------------


def _secret_named(name: Any, patterns: Sequence[re.Pattern[str]]) -> bool:
    return isinstance(name, str) and any(p.search(name) for p in patterns)


@checks.resource("secrets-not-in-plain-env", *WORKLOADS)
@per_container
def secret_named_env_from_secret_refs(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """A value in the pod spec is readable by anyone who can read the workload; a secretKeyRef is not.

    Needs no known value: whatever an unknown value resolves to, it lands in the pod spec."""
    names = _patterns(config, "secretNamePatterns")
    for path, var in env_vars(c):
        if not _secret_named(var.get("name"), names):
            continue
        value = var.get("value")
        if value is not None and value != "":
            yield (
                f"{w.resource.label}: {path}.value is set on a secret-named variable; "
                "reference a Secret with valueFrom.secretKeyRef instead"
            )
        elif var.get("valueFrom.configMapKeyRef") is not None:
            yield (
                f"{w.resource.label}: {path}.valueFrom.configMapKeyRef reads a secret-named variable from a "
                "ConfigMap; reference a Secret with valueFrom.secretKeyRef instead"
            )


@checks.resource("secrets-not-in-plain-env", *WORKLOADS)
@per_container
def no_secret_values_in_env(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Whatever the variable is called, a key-shaped value or a Pulumi secret must not sit in the spec."""
    values = _patterns(config, "secretValuePatterns")
    pending: list[str] = []
    for path, var in env_vars(c):
        value = var.get("value")
        if is_unknown(value):
            pending.append(f"{path}.value")
        elif value == SECRET_MARKER:
            yield (
                f"{w.resource.label}: {path}.value is a Pulumi secret written as a plain value (readable in the pod "
                "spec); reference a Secret with valueFrom.secretKeyRef instead"
            )
        elif isinstance(value, str) and any(p.search(value) for p in values):
            yield (
                f"{w.resource.label}: {path}.value looks like a credential (it matches secretValuePatterns); "
                "reference a Secret with valueFrom.secretKeyRef instead"
            )
    if pending:
        raise _UnknownField(", ".join(pending))


@checks.resource("secrets-not-in-plain-env", CONFIG_MAP)
def no_secrets_in_config_maps(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """ConfigMaps are not access-controlled like Secrets, and envFrom turns their keys into plain env."""
    names = _patterns(config, "secretNamePatterns")
    values = _patterns(config, "secretValuePatterns")
    data = r.known("data", {})
    if data == SECRET_MARKER:
        yield f"{r.label}: data is a Pulumi secret in a ConfigMap; put it in a Secret"
    pending: list[str] = []
    for key, value in sorted(data.items()) if isinstance(data, dict) else []:
        if _secret_named(key, names) and value not in (None, ""):
            yield f"{r.label}: data[{key}] is a secret-named key in a ConfigMap; put it in a Secret"
        elif is_unknown(value):
            pending.append(f"data.{key}")
        elif value == SECRET_MARKER:
            yield f"{r.label}: data[{key}] is a Pulumi secret in a ConfigMap; put it in a Secret"
        elif isinstance(value, str) and any(p.search(value) for p in values):
            yield f"{r.label}: data[{key}] looks like a credential (it matches secretValuePatterns); put it in a Secret"
    if pending:
        require_known(UNKNOWN, ", ".join(pending))


# --- no-static-credentials -----------------------------------------------------------------------------


@checks.resource("no-static-credentials", *WORKLOADS)
@per_container
def no_cloud_keys_in_containers(w: Workload, c: Container, config: Mapping[str, Any]) -> Iterator[str]:
    """Cloud access keys never expire; pods get cloud access through workload identity instead."""
    for path, var in env_vars(c):
        name = var.get("name")
        if isinstance(name, str) and CLOUD_KEY_NAMES.match(name):
            yield (
                f"{w.resource.label}: {path} gives the container a static cloud credential; use workload identity "
                "(EKS IRSA or Pod Identity, GKE or Azure workload identity) instead"
            )


@checks.resource("no-static-credentials", SECRET)
def no_static_credential_secrets(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Legacy service-account token Secrets never expire; projected tokens (the default) rotate."""
    kind = r.known("type")
    if kind == "kubernetes.io/service-account-token":
        yield (
            f'{r.label}: type is "kubernetes.io/service-account-token", a token that never expires; '
            "rely on the projected, rotating service account token instead"
        )
    for field in ("data", "stringData"):
        data = r.known(field, {})
        if not isinstance(data, dict):
            continue
        for key in sorted(k for k in data if CLOUD_KEY_NAMES.match(k)):
            yield (
                f"{r.label}: {field}[{key}] stores a static cloud credential; use workload identity "
                "(EKS IRSA or Pod Identity, GKE or Azure workload identity) instead"
            )


# --- Ingress: tls-in-transit, rate-limiting, request-size-limits ----------------------------------------


def host_covered(host: str, tls_hosts: Iterable[Any]) -> bool:
    """Whether a TLS host (exact, or a ``*.`` wildcard for one label) covers the rule's host."""
    for pattern in tls_hosts:
        if not isinstance(pattern, str):
            continue
        if pattern == host:
            return True
        if pattern.startswith("*."):
            head, _, rest = host.partition(".")
            if head and rest == pattern[2:]:
                return True
    return False


@checks.resource("tls-in-transit", INGRESS)
def ingress_serves_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Without a tls section the controller serves the hosts over plain HTTP (or with its fake certificate)."""
    tls = r.known("spec.tls", [])
    if not isinstance(tls, list) or not tls:
        yield f"{r.label}: spec.tls is {show(tls or None)}; every Ingress needs a tls section with a certificate Secret"
        return
    tls_hosts = [
        h for entry in tls if isinstance(entry, dict) for h in (require_known(entry.get("hosts"), "spec.tls") or [])
    ]
    rules = r.known("spec.rules", [])
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        host = require_known(rule.get("host"), f"spec.rules.{index}.host") if isinstance(rule, dict) else None
        if isinstance(host, str) and not host_covered(host, tls_hosts):
            yield (
                f"{r.label}: spec.rules[{index}].host is {show(host)}, which no spec.tls[].hosts covers; "
                "it would be served without TLS"
            )


@checks.resource("tls-in-transit", INGRESS)
def ingress_redirects_http(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """ingress-nginx redirects HTTP to HTTPS unless told not to; turning it off leaves a plain-HTTP path."""
    annotations = _annotations(r)
    for name in ("ssl-redirect", "force-ssl-redirect"):
        value = require_known(annotations.get(NGINX + name), f"metadata.annotations.{NGINX}{name}")
        if isinstance(value, str) and value.strip().lower() == "false":
            yield f'{r.label}: metadata.annotations["{NGINX}{name}"] is "false"; HTTP must redirect to HTTPS'


def _positive_int(value: Any) -> bool:
    return isinstance(value, str) and value.strip().isdigit() and int(value) > 0


@checks.resource("rate-limiting", INGRESS)
def ingress_limits_rate(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Per-client rate limits stop one client exhausting the API (and its LLM budget)."""
    annotations = _annotations(r)
    set_limits = {}
    for name in LIMIT_ANNOTATIONS:
        value = require_known(annotations.get(NGINX + name), f"metadata.annotations.{NGINX}{name}")
        if value is not None:
            set_limits[name] = value
    if not any(name in set_limits for name in RATE_LIMIT_ANNOTATIONS):
        yield (
            f"{r.label}: metadata.annotations has no {NGINX}limit-rps or limit-rpm; every Ingress needs a "
            "per-client request rate limit (limit-connections alone bounds concurrency, not the rate)"
        )
    for name, value in set_limits.items():
        if not _positive_int(value):
            yield f'{r.label}: metadata.annotations["{NGINX}{name}"] is {show(value)}; it must be a positive integer'
    for name in ("limit-allowlist", "limit-whitelist"):
        allow = require_known(annotations.get(NGINX + name), f"metadata.annotations.{NGINX}{name}")
        if isinstance(allow, str) and OPEN_CIDRS & {cidr.strip() for cidr in allow.split(",")}:
            yield (
                f'{r.label}: metadata.annotations["{NGINX}{name}"] is {show(allow)}, which exempts every client '
                "from the rate limit"
            )


def body_size_bytes(value: str) -> int | None:
    """An nginx size (``10m``, ``512k``, ``1048576``) in bytes; None if it is not one."""
    match = SIZE.match(value)
    if not match:
        return None
    return int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]


@checks.resource("request-size-limits", INGRESS)
def ingress_limits_body_size(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Unbounded bodies let one request tie up memory and tokens; 0 means unlimited to nginx."""
    maximum = int(config.get("maximumBodyBytes") or 10485760)
    path = f'metadata.annotations["{NGINX}proxy-body-size"]'
    value = require_known(_annotations(r).get(NGINX + "proxy-body-size"), path)
    size = body_size_bytes(value) if isinstance(value, str) else None
    if value is None:
        yield f"{r.label}: {path} is not set; set a body size limit of at most {maximum} bytes"
    elif size is None:
        yield f"{r.label}: {path} is {show(value)}, not an nginx size; use bytes or k/m/g (at most {maximum} bytes)"
    elif size == 0:
        yield f"{r.label}: {path} is {show(value)}, which disables the limit; at most {maximum} bytes is allowed"
    elif size > maximum:
        yield f"{r.label}: {path} is {show(value)} ({size} bytes); at most {maximum} bytes is allowed"


# --- Gateway API edge: tls-in-transit, https-redirect (stack) ---------------------------------------------

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def _listeners(gateway: Resource) -> list[dict[str, Any]]:
    items = gateway.known("spec.listeners", [])
    return [item for item in known_items(items, "spec.listeners") if isinstance(item, dict)]


@checks.resource("tls-in-transit", GATEWAY)
def gateway_serves_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The API is served by an HTTPS listener that terminates TLS with a certificate; a plain HTTP listener
    may only redirect (``https-redirect`` reads its routes)."""
    listeners = _listeners(r)
    https = [item for item in listeners if item.get("protocol") == "HTTPS"]
    if not https:
        yield f"{r.label}: spec.listeners has no HTTPS listener; the API must be served over TLS"
    for item in https:
        tls = item.get("tls")
        if not (isinstance(tls, dict) and tls.get("certificateRefs")):
            yield (
                f"{r.label}: listener {show(item.get('name'))} is HTTPS with no tls.certificateRefs; "
                "name the certificate Secret it terminates TLS with"
            )


def _redirects_to_https(route: Resource) -> bool:
    """Whether every rule of an HTTPRoute only redirects to https (no backend behind it)."""
    rules = route.get("spec.rules")
    if not isinstance(rules, list) or not rules:
        return False
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("backendRefs"):
            return False
        filters = rule.get("filters")
        redirects = [
            f.get("requestRedirect")
            for f in (filters if isinstance(filters, list) else [])
            if isinstance(f, dict) and f.get("type") == "RequestRedirect"
        ]
        if not any(isinstance(x, dict) and x.get("scheme") == "https" for x in redirects):
            return False
    return True


def _attached(route: Resource, gateway: Resource, listeners: set[str]) -> bool:
    """Whether the route attaches to one of these listeners of the gateway (no sectionName: to all)."""
    refs = route.get("spec.parentRefs")
    for ref in refs if isinstance(refs, list) else []:
        if not isinstance(ref, dict) or ref.get("kind", "Gateway") != "Gateway":
            continue
        namespace = ref.get("namespace") or _namespace(route)
        if ref.get("name") != gateway.get("metadata.name") or namespace != _namespace(gateway):
            continue
        section = ref.get("sectionName")
        if section is None or section in listeners:
            return True
    return False


@checks.stack("https-redirect")
def gateway_http_listeners_only_redirect(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """A Gateway's plain HTTP listener serves whatever routes attach to it: each must only redirect to https."""
    routes = stack.of_type(HTTP_ROUTE)
    for gateway in stack.of_type(GATEWAY):
        listeners = gateway.get("spec.listeners")
        if _has_unknown(listeners) or _has_unknown(gateway.get("metadata")):
            continue
        items = listeners if isinstance(listeners, list) else []
        plain = {str(item.get("name")) for item in items if isinstance(item, dict) and item.get("protocol") == "HTTP"}
        for route in routes:
            if _has_unknown(route.get("spec")) or not (plain and _attached(route, gateway, plain)):
                continue
            if not _redirects_to_https(route):
                yield Violation(
                    f"{route.label}: attaches to the plain HTTP listener of Gateway {_object_name(gateway)} and "
                    "does not only redirect to https; give that listener only a RequestRedirect (scheme https) "
                    "route, and route the API from the HTTPS listener",
                    route.urn,
                )


# --- Gateway API edge (Envoy Gateway's policies): rate-limiting, request-size-limits ----------------------

BACKEND_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy"
QUANTITY = re.compile(r"^\s*(\d+)\s*([KMGTPE]i|[kMGTPE])?\s*$")
QUANTITY_UNITS = {
    None: 1,
    **{suffix + "i": 1024 ** (i + 1) for i, suffix in enumerate("KMGTPE")},
    **{suffix: 1000 ** (i + 1) for i, suffix in enumerate("kMGTPE")},
}


def quantity_bytes(value: Any) -> int | None:
    """A Kubernetes quantity (``1048576``, ``512Ki``, ``10M``) in bytes; None if it is not one."""
    if _is_number(value) and value == int(value):
        return int(value)
    match = QUANTITY.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * QUANTITY_UNITS[match.group(2)] if match else None


def _per_client(rule: Any) -> bool:
    """Whether a rate-limit rule gives each client address (or each value of a header) its own bucket."""
    selectors = rule.get("clientSelectors") if isinstance(rule, dict) else None
    for selector in selectors if isinstance(selectors, list) else []:
        if not isinstance(selector, dict):
            continue
        source = selector.get("sourceCIDR")
        if isinstance(source, dict) and source.get("type") == "Distinct":
            return True
        headers = selector.get("headers")
        if any(isinstance(h, dict) and h.get("type") == "Distinct" for h in headers or ()):
            return True
    return False


def _rate_limit_rules(r: Resource) -> list[dict[str, Any]]:
    """The local and global rules of a BackendTrafficPolicy's rate limit."""
    found: list[dict[str, Any]] = []
    for scope in ("local", "global"):
        items = r.known(f"spec.rateLimit.{scope}.rules", [])
        found.extend(i for i in known_items(items, f"spec.rateLimit.{scope}.rules") if isinstance(i, dict))
    return found


@checks.resource("rate-limiting", BACKEND_TRAFFIC_POLICY)
def gateway_limits_rate(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Envoy Gateway applies one BackendTrafficPolicy per route (the oldest, unless merged), so the one
    attached must carry the per-client limit; a rule without a Distinct selector is one bucket for all."""
    rules = _rate_limit_rules(r)
    if not rules:
        yield (
            f"{r.label}: spec.rateLimit has no rules; the policy attached to a route must limit each client's "
            "request rate (a local or global rule with a sourceCIDR of type Distinct)"
        )
        return
    if not any(_per_client(rule) for rule in rules):
        yield (
            f"{r.label}: no spec.rateLimit rule selects clients with type Distinct, so every client shares one "
            "bucket; limit each client (clientSelectors: sourceCIDR {type: Distinct, value: 0.0.0.0/0})"
        )
    for index, rule in enumerate(rules):
        limit = rule.get("limit")
        requests = limit.get("requests") if isinstance(limit, dict) else None
        if not (isinstance(requests, int | float) and not isinstance(requests, bool) and requests >= 1):
            yield f"{r.label}: spec.rateLimit rule {index} has limit.requests {show(requests)}; it must be at least 1"


@checks.resource("request-size-limits", BACKEND_TRAFFIC_POLICY)
def gateway_limits_body_size(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The request buffer's limit is Envoy Gateway's body-size limit (413 beyond it); no buffer, no limit."""
    maximum = int(config.get("maximumBodyBytes") or 10485760)
    value = r.known("spec.requestBuffer.limit")
    size = quantity_bytes(value)
    if value is None:
        yield (
            f"{r.label}: spec.requestBuffer.limit is not set; the policy attached to a route must bound the body "
            f"(at most {maximum} bytes)"
        )
    elif size is None or size < 1:
        yield f"{r.label}: spec.requestBuffer.limit is {show(value)}, not a positive quantity (at most {maximum} bytes)"
    elif size > maximum:
        yield f"{r.label}: spec.requestBuffer.limit is {show(value)} ({size} bytes); at most {maximum} bytes is allowed"


# --- no-public-data-services ---------------------------------------------------------------------------


def _selects_ingress_controller(labels: Any) -> bool:
    return isinstance(labels, dict) and all(labels.get(k) == v for k, v in INGRESS_CONTROLLER_LABELS.items())


def _internal_load_balancer(annotations: Mapping[str, Any]) -> bool:
    return any(
        isinstance(annotations.get(key), str) and annotations[key].strip().lower() == value
        for key, value in INTERNAL_LB_ANNOTATIONS.items()
    )


@checks.resource("no-public-data-services", SERVICE)
def only_ingress_controller_is_exposed(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Everything but the ingress controller is reached through the Ingress (TLS, rate limits) or not at all."""
    if _selects_ingress_controller(r.known("spec.selector")):
        return
    kind = r.known("spec.type")
    if kind == "LoadBalancer" and not _internal_load_balancer(_annotations(r)):
        yield (
            f'{r.label}: spec.type is "LoadBalancer" (public); only the ingress controller may be exposed, '
            "other Services must be ClusterIP (or an internal load balancer)"
        )
    elif kind == "NodePort":
        yield (
            f'{r.label}: spec.type is "NodePort", which opens the port on every node; only the ingress controller '
            "may be exposed, other Services must be ClusterIP"
        )
    external = r.known("spec.externalIPs")
    if external:
        yield f"{r.label}: spec.externalIPs is {show(external)}; only the ingress controller may be exposed"


@checks.resource("no-public-data-services", NETWORK_POLICY)
def network_policy_admits_named_sources(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """An ingress rule without sources (or from 0.0.0.0/0) re-opens the pods the default deny closed."""
    if _selects_ingress_controller(r.known("spec.podSelector.matchLabels")):
        return
    rules = r.known("spec.ingress", [])
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        rule = require_known(rule, f"spec.ingress.{index}")
        sources = rule.get("from") if isinstance(rule, dict) else None
        peers = known_items(require_known(sources, f"spec.ingress.{index}.from"), f"spec.ingress.{index}.from")
        if not peers:
            yield (
                f"{r.label}: spec.ingress[{index}].from is {show(sources)}, which admits every source; "
                "name the pods or namespaces allowed in"
            )
            continue
        for peer in peers:
            block = peer.get("ipBlock") if isinstance(peer, dict) else None
            cidr = require_known(block.get("cidr"), f"spec.ingress.{index}.from") if isinstance(block, dict) else None
            if cidr in OPEN_CIDRS:
                yield (
                    f"{r.label}: spec.ingress[{index}].from has an ipBlock of {show(cidr)}, which admits the "
                    "internet; name the pods or namespaces allowed in"
                )


# --- required-tags -------------------------------------------------------------------------------------


def is_labelled_object(resource: Resource) -> bool:
    """Kubernetes objects carry labels; chart, YAML and kustomize components, lists and patches do not."""
    parts = resource.type.split(":")
    if len(parts) != 3:
        return False
    module, kind = parts[1], parts[2]
    return not (module.startswith(NOT_OBJECTS) or kind.endswith(("List", "Patch")))


@checks.resource("required-tags", "kubernetes:*")
def object_labels(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Owner and cost center on every object, so spend and incidents reach a team."""
    if is_labelled_object(r):
        yield from missing_tags(r, config)


TEMPLATE_LABELS = {
    DEPLOYMENT: "spec.template.metadata.labels",
    STATEFUL_SET: "spec.template.metadata.labels",
    DAEMON_SET: "spec.template.metadata.labels",
    JOB: "spec.template.metadata.labels",
    CRON_JOB: "spec.jobTemplate.spec.template.metadata.labels",
}


@checks.resource("required-tags", *TEMPLATE_LABELS)
def pod_template_labels(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Cost tools (Kubecost, GKE cost allocation) attribute spend by the pods' labels, not the workload's."""
    path = TEMPLATE_LABELS[r.type]
    labels = r.known(path, {})
    labels = labels if isinstance(labels, dict) else {}
    required: Sequence[str] = config.get("requiredTags") or ()
    missing = [key for key in required if not (isinstance(labels.get(key), str) and labels[key].strip())]
    if missing:
        yield (
            f"{r.label}: {path} is missing required labels {', '.join(missing)}; "
            "pods need them too, for cost allocation"
        )


# --- high-availability (stack) -------------------------------------------------------------------------


def _namespace(resource: Resource) -> str | None:
    """The object's namespace (``default`` when unset); None when unknown during preview."""
    value = resource.get("metadata.namespace")
    if is_unknown(value):
        return None
    return value if isinstance(value, str) and value else "default"


def _same_namespace(a: Resource, b: Resource) -> bool:
    na, nb = _namespace(a), _namespace(b)
    return na is None or nb is None or na == nb


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects pods with these labels."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict) or any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    expressions = selector.get("matchExpressions") or []
    return all(_expression_matches(e, labels) for e in expressions if isinstance(e, dict))


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    values = expression.get("values") or []
    if not isinstance(key, str):
        return False
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def _scales(hpa: Resource, workload: Resource) -> bool:
    """Whether this HorizontalPodAutoscaler targets the workload (by kind and name, or by its dependency)."""
    if not _same_namespace(hpa, workload) or hpa.get("spec.scaleTargetRef.kind") != _kind(workload):
        return False
    target = hpa.get("spec.scaleTargetRef.name")
    name = workload.get("metadata.name")
    if isinstance(target, str) and isinstance(name, str):
        return target == name
    return bool(workload.urn) and workload.urn in hpa.property_dependencies.get("spec", ())


def _prod(workload: Resource, config: Mapping[str, Any], stack: Stack) -> bool | None:
    """Whether the workload is production; None while its labels are unknown."""
    if is_unknown(workload.get("metadata.labels")):
        return None
    return workload.is_prod(config, stack)


def _replica_violations(workload: Resource, hpas: Sequence[Resource], minimum: int) -> Iterator[Violation]:
    scalers = [h for h in hpas if _scales(h, workload)]
    for hpa in scalers:
        floor = hpa.get("spec.minReplicas")
        if is_unknown(floor):
            continue
        if floor is None or (_is_number(floor) and floor < minimum):
            shown = "not set (1)" if floor is None else show(floor)
            yield Violation(
                f"{hpa.label}: spec.minReplicas is {shown} for {_kind(workload)} {_object_name(workload)}; "
                f"prod needs at least {minimum}",
                hpa.urn,
            )
    if scalers:
        return
    replicas = workload.get("spec.replicas")
    if is_unknown(replicas):
        return
    if replicas is None or (_is_number(replicas) and replicas < minimum):
        shown = "not set (1)" if replicas is None else show(replicas)
        yield Violation(
            f"{workload.label}: spec.replicas is {shown}; prod needs at least {minimum} "
            f"(or a HorizontalPodAutoscaler with spec.minReplicas of at least {minimum})",
            workload.urn,
        )


def _has_unknown(value: Any) -> bool:
    """Whether a value, or anything inside it, is unknown during preview."""
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return is_unknown(value)


def _disruption_budget_violations(workload: Resource, pdbs: Sequence[Resource]) -> Iterator[Violation]:
    labels = workload.get("spec.template.metadata.labels")
    if is_unknown(labels):
        return
    labels = labels if isinstance(labels, dict) else {}
    candidates = [p for p in pdbs if _same_namespace(p, workload)]
    if _has_unknown(labels) or any(_has_unknown(p.get("spec.selector")) for p in candidates):
        return
    if not any(selector_matches(p.get("spec.selector"), labels) for p in candidates):
        yield Violation(
            f"{workload.label}: no PodDisruptionBudget in its namespace selects spec.template.metadata.labels "
            f"{show(labels)}; prod workloads need one so node drains keep replicas serving",
            workload.urn,
        )


@checks.stack("high-availability")
def prod_workloads_are_redundant(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """One replica (or one drained node) is an outage; a PDB keeps voluntary disruptions from taking all pods."""
    minimum = int(config.get("minimumReplicas") or 2)
    hpas = stack.of_type(*HPAS)
    pdbs = stack.of_type(*PDBS)
    for workload in stack.of_type(*REPLICATED):
        if not _prod(workload, config, stack):
            continue
        yield from _replica_violations(workload, hpas, minimum)
        yield from _disruption_budget_violations(workload, pdbs)


# --- data-protection (stack) ---------------------------------------------------------------------------


@checks.stack("data-protection")
def prod_volumes_outlive_their_stateful_sets(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Deleting (or replacing) a StatefulSet must not delete its data; ``whenDeleted: Delete`` does exactly that."""
    for workload in stack.of_type(STATEFUL_SET):
        templates = workload.get("spec.volumeClaimTemplates")
        if not _prod(workload, config, stack) or not (is_unknown(templates) or templates):
            continue
        when_deleted = workload.get("spec.persistentVolumeClaimRetentionPolicy.whenDeleted")
        if when_deleted == "Delete":
            yield Violation(
                f'{workload.label}: spec.persistentVolumeClaimRetentionPolicy.whenDeleted is "Delete"; prod data '
                "volumes must be retained when the StatefulSet is deleted (Retain, the default)",
                workload.urn,
            )


# --- default-deny NetworkPolicies (stack; not registered: no stack-scoped catalog rule fits yet) ---------


def _selects_all_pods(policy: Resource) -> bool:
    selector = policy.get("spec.podSelector")
    return isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")


def denied_directions(policy: Resource) -> set[str]:
    """The directions (Ingress, Egress) a NetworkPolicy denies by default for every pod of its namespace."""
    if not _selects_all_pods(policy):
        return set()
    types = policy.get("spec.policyTypes")
    if not isinstance(types, list):
        types = ["Ingress", "Egress"] if policy.get("spec.egress") is not None else ["Ingress"]
    return {t for t in ("Ingress", "Egress") if t in types and not policy.get(f"spec.{t.lower()}")}


@checks.stack("network-isolation")
def namespaces_without_default_deny(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Each namespace running workloads has default-deny NetworkPolicies for ingress and egress, so only the
    explicit allows (ingress controller -> API -> Redis/Qdrant, DNS, the LLM providers) carry traffic."""
    namespaces: dict[str, Resource] = {}
    for workload in stack.of_type(*WORKLOADS):
        namespace = _namespace(workload)
        if namespace is not None:
            namespaces.setdefault(namespace, workload)
    policies = stack.of_type(NETWORK_POLICY)
    if any(_has_unknown(p.get("spec")) or _namespace(p) is None for p in policies):
        return
    for namespace, first in sorted(namespaces.items()):
        denied = set().union(*(denied_directions(p) for p in policies if _namespace(p) == namespace))
        missing = [d for d in ("Ingress", "Egress") if d not in denied]
        if missing:
            anchor = next(
                (n for n in stack.of_type("kubernetes:core/v1:Namespace") if n.get("metadata.name") == namespace),
                first,
            )
            yield Violation(
                f"{anchor.label}: namespace {namespace} has no default-deny NetworkPolicy for "
                f"{' and '.join(missing)} (spec.podSelector {{}} with policyTypes {show(missing)} and no rules)",
                anchor.urn,
            )


# --- facts for budget-and-alerts -----------------------------------------------------------------------


def alert_expressions(resource: Resource) -> Iterator[str]:
    """The ``expr`` of each alerting rule (not recording rule) of a PrometheusRule; unknown ones are left out."""
    if resource.type != PROMETHEUS_RULE:
        return
    groups = resource.get("spec.groups")
    for group in groups if isinstance(groups, list) else []:
        rules = group.get("rules") if isinstance(group, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if not isinstance(rule, dict) or not isinstance(rule.get("alert"), str):
                continue
            expr = rule.get("expr")
            if isinstance(expr, str) and not is_unknown(expr):
                yield expr


@checks.fact("latency-alert")
def prometheus_latency_alert(resource: Resource) -> bool:
    """An alert on a latency histogram (``..._duration_seconds_bucket``, or its ``_sum`` for the mean)."""
    return any(LATENCY_EXPR.search(expr) for expr in alert_expressions(resource))


@checks.fact("error-alert")
def prometheus_error_alert(resource: Resource) -> bool:
    """An alert on 5xx responses (a ``status``/``code`` label matched against 5..)."""
    return any(ERROR_EXPR.search(expr) for expr in alert_expressions(resource))
