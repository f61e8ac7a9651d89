"""Kubernetes deploy-readiness invariants: what would stop the first ``pulumi up`` on a cluster.

The API server refuses an object in a namespace that does not exist yet, a pod that mounts a
Secret nobody created stays ``ContainerCreating`` until Pulumi's await times out, and cert-manager
leaves a Certificate unready while its Issuer is missing. Each rule checks that the graph waits
for what the object needs, by name, when the stack itself creates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from components.readiness import GENERIC, Finding, Invariant, Order, check, finding, invariant
from components.testing import Graph, GraphResource

NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ISSUER = "kubernetes:cert-manager.io/v1:Issuer"
WORKLOADS = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
}


def _get(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _namespace_of(resource: GraphResource) -> str | None:
    value = _get(resource.inputs, "metadata.namespace")
    return value if isinstance(value, str) else None


def _name_of(resource: GraphResource) -> str | None:
    value = _get(resource.inputs, "metadata.name")
    return value if isinstance(value, str) else None


@invariant("namespace-before-objects")
def namespace_before_objects(order: Order) -> Iterable[Finding]:
    """The API server refuses an object whose namespace does not exist yet."""
    namespaces = {_name_of(n): n for n in order.graph.of_type(NAMESPACE)}
    for resource in order.graph.resources:
        namespace = namespaces.get(_namespace_of(resource)) if resource.type.startswith("kubernetes:") else None
        if namespace is not None and not order.waits_for(resource, namespace):
            yield finding(
                resource,
                namespace,
                message=f"{resource.name} is created in namespace {_name_of(namespace)} without waiting for "
                f"{namespace.name}: add it to depends_on",
            )


def _pod_references(pod: Any) -> Iterator[tuple[str, str]]:
    """(kind, name) of every Secret and ConfigMap a pod spec mounts or reads."""
    for volume in pod.get("volumes") or []:
        if _get(volume, "secret.secretName"):
            yield "Secret", volume["secret"]["secretName"]
        if _get(volume, "configMap.name"):
            yield "ConfigMap", volume["configMap"]["name"]
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            if _get(source, "secretRef.name"):
                yield "Secret", source["secretRef"]["name"]
            if _get(source, "configMapRef.name"):
                yield "ConfigMap", source["configMapRef"]["name"]
        for variable in container.get("env") or []:
            if _get(variable, "valueFrom.secretKeyRef.name"):
                yield "Secret", variable["valueFrom"]["secretKeyRef"]["name"]
            if _get(variable, "valueFrom.configMapKeyRef.name"):
                yield "ConfigMap", variable["valueFrom"]["configMapKeyRef"]["name"]


@invariant("workloads-wait-for-their-secrets")
def workloads_wait_for_their_secrets(order: Order) -> Iterable[Finding]:
    """A pod whose Secret or ConfigMap does not exist yet cannot start, and the rollout times out:
    each workload waits for the objects (or the cert-manager Certificates) that make them."""
    makers: dict[tuple[str, str | None, str], GraphResource] = {}
    for resource in order.graph.of_type(SECRET):
        makers[("Secret", _namespace_of(resource), str(_name_of(resource)))] = resource
    for resource in order.graph.of_type(CONFIG_MAP):
        makers[("ConfigMap", _namespace_of(resource), str(_name_of(resource)))] = resource
    for resource in order.graph.of_type(CERTIFICATE):
        makers[("Secret", _namespace_of(resource), str(_get(resource.inputs, "spec.secretName")))] = resource
    for token, path in WORKLOADS.items():
        for workload in order.graph.of_type(token):
            pod = _get(workload.inputs, path) or {}
            for kind, name in sorted(set(_pod_references(pod))):
                maker = makers.get((kind, _namespace_of(workload), name))
                if maker is not None and not order.waits_for(workload, maker):
                    yield finding(
                        workload,
                        maker,
                        message=f"{workload.name} uses {kind} {name} without waiting for {maker.name}, which "
                        "makes it: add it to depends_on",
                    )


@invariant("issuers-before-certificates")
def issuers_before_certificates(order: Order) -> Iterable[Finding]:
    """cert-manager does not issue a Certificate whose Issuer is missing; the pods mounting it wait."""
    issuers = {(_namespace_of(i), _name_of(i)): i for i in order.graph.of_type(ISSUER)}
    for certificate in order.graph.of_type(CERTIFICATE):
        reference = _get(certificate.inputs, "spec.issuerRef") or {}
        if reference.get("kind", "Issuer") != "Issuer":
            continue
        issuer = issuers.get((_namespace_of(certificate), reference.get("name")))
        if issuer is not None and not order.waits_for(certificate, issuer):
            yield finding(
                certificate,
                issuer,
                message=f"{certificate.name} is issued by {issuer.name} without waiting for it: add it to depends_on",
            )


INVARIANTS: tuple[Invariant, ...] = (
    *GENERIC,
    namespace_before_objects,
    workloads_wait_for_their_secrets,
    issuers_before_certificates,
)


def findings(graph: Graph) -> list[Finding]:
    return check(graph, INVARIANTS)
