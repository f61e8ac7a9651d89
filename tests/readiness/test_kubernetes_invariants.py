"""Each Kubernetes readiness invariant on small hand-made graphs: it reports the problem, and passes the fix."""

from __future__ import annotations

from typing import Any

from components.kubernetes import readiness
from components.readiness import Invariant, check
from components.testing import GraphResource
from tests.readiness.graphs import graph, resource

NS = "apps"


def meta(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NS}}


def namespace() -> GraphResource:
    return resource(readiness.NAMESPACE, "ns", {"metadata": {"name": NS}})


def deployment(pod: dict[str, Any], depends_on: list[GraphResource]) -> GraphResource:
    return resource(
        "kubernetes:apps/v1:Deployment",
        "app",
        {**meta("app"), "spec": {"template": {"spec": pod}}},
        depends_on=depends_on,
    )


def messages(*resources: GraphResource, invariant: Invariant) -> list[str]:
    return [f.message for f in check(graph(*resources), [invariant])]


def test_an_object_not_waiting_for_its_namespace_is_reported() -> None:
    ns = namespace()
    service = resource("kubernetes:core/v1:Service", "svc", meta("svc"))
    assert messages(ns, service, invariant=readiness.namespace_before_objects) == [
        "svc is created in namespace apps without waiting for ns: add it to depends_on"
    ]
    waiting = resource("kubernetes:core/v1:Service", "svc", meta("svc"), depends_on=[ns])
    assert messages(ns, waiting, invariant=readiness.namespace_before_objects) == []


def test_a_namespace_the_stack_does_not_create_is_not_waited_for() -> None:
    other = resource("kubernetes:core/v1:Service", "svc", {"metadata": {"name": "svc", "namespace": "elsewhere"}})
    assert messages(namespace(), other, invariant=readiness.namespace_before_objects) == []


def test_a_workload_not_waiting_for_its_secret_or_certificate_is_reported() -> None:
    secret = resource(readiness.SECRET, "secret", meta("app-secrets"))
    certificate = resource(readiness.CERTIFICATE, "cert", {**meta("tls"), "spec": {"secretName": "redis-tls"}})
    config = resource(readiness.CONFIG_MAP, "config", meta("app-env"))
    pod = {
        "volumes": [{"name": "ca", "secret": {"secretName": "redis-tls"}}],
        "containers": [
            {
                "name": "api",
                "envFrom": [{"configMapRef": {"name": "app-env"}}],
                "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "k"}}}],
            }
        ],
    }
    found = messages(
        secret, certificate, config, deployment(pod, []), invariant=readiness.workloads_wait_for_their_secrets
    )
    assert found == [
        "app uses ConfigMap app-env without waiting for config, which makes it: add it to depends_on",
        "app uses Secret app-secrets without waiting for secret, which makes it: add it to depends_on",
        "app uses Secret redis-tls without waiting for cert, which makes it: add it to depends_on",
    ]
    fixed = deployment(pod, [secret, certificate, config])
    assert messages(secret, certificate, config, fixed, invariant=readiness.workloads_wait_for_their_secrets) == []


def test_a_certificate_not_waiting_for_its_issuer_is_reported() -> None:
    issuer = resource(readiness.ISSUER, "issuer", meta("ca"))
    spec = {"spec": {"secretName": "x", "issuerRef": {"name": "ca", "kind": "Issuer"}}}
    certificate = resource(readiness.CERTIFICATE, "cert", {**meta("x"), **spec})
    assert messages(issuer, certificate, invariant=readiness.issuers_before_certificates) == [
        "cert is issued by issuer without waiting for it: add it to depends_on"
    ]
    fixed = resource(readiness.CERTIFICATE, "cert", {**meta("x"), **spec}, depends_on=[issuer])
    assert messages(issuer, fixed, invariant=readiness.issuers_before_certificates) == []
