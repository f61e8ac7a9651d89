"""The ``ai-platform:kubernetes`` section of a stack file and the rules only Kubernetes has.

``SECTION`` is the section's model; ``check`` adds the Kubernetes cross-key rules (a namespace
that is not ``default``, an image pinned by digest, label syntax, the single-replica opt-out) to
the neutral spec's, each reported at the key to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from components import validation
from components.spec import (
    MISSING,
    NAMESPACE,
    Cidr,
    PlatformSpec,
    Problem,
    Section,
    TargetInsecureSpec,
    _decode,
    to_snake,
)

#: the seed's replica count, used when the stack does not set app.minReplicas
DEFAULT_REPLICAS = 3
#: Kubernetes' rules for names (RFC 1123 labels) and label keys/values
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
_PSA_VERSION = re.compile(r"^(latest|v1\.\d{1,2})$")
_IMAGE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.\-_/]*[a-z0-9])?(:[0-9]{1,5}/[a-z0-9][a-z0-9.\-_/]*)?$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def dns_label(value: str) -> str | None:
    """A Kubernetes object or namespace name (RFC 1123 label)."""
    if _DNS_LABEL.match(value):
        return None
    return "must be a DNS label: 1-63 of a-z, 0-9 and inner hyphens"


def label_problem(key: str, value: str) -> str | None:
    """Why ``key: value`` is not a valid Kubernetes label (None when it is)."""
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name) or (prefix and validation.domain_name(prefix)):
        return f"label key {key!r} must be [prefix/]name with a name of 1-63 alphanumerics, '-', '_' or '.'"
    if not _LABEL_VALUE.match(value):
        return f"label value {value!r} (of {key}) must be at most 63 alphanumerics, '-', '_' or '.'"
    return None


class TlsSpec(Section):
    """Where the edge certificate comes from: cert-manager or an existing ``kubernetes.io/tls`` Secret."""

    cluster_issuer: str | None = None
    """A cert-manager ClusterIssuer that issues the certificate for gateway.domain."""
    secret_name: str | None = None
    """An existing TLS Secret in the namespace holding the certificate for gateway.domain."""

    @model_validator(mode="after")
    def _exactly_one(self) -> TlsSpec:
        if (self.cluster_issuer is None) == (self.secret_name is None):
            raise ValueError("set exactly one of `clusterIssuer` (cert-manager) or `secretName` (an existing Secret)")
        return self


class EdgeSpec(Section):
    """Who may reach the app: the ingress controller's or the gateway's pods (for the NetworkPolicy)."""

    kind: Literal["ingress", "gateway"] = "ingress"
    """``gateway``: Gateway API (Gateway + HTTPRoute v1; the cluster needs its CRDs, and Envoy Gateway for the
    rate and body-size limits); ``ingress``: networking/v1 (limits as ingress-nginx annotations)."""
    class_name: str = "nginx"
    """The IngressClass or GatewayClass name."""
    namespace: str = "ingress-nginx"
    """The namespace of the controller's (or gateway's) pods."""
    pod_labels: dict[str, str] = Field(default_factory=lambda: {"app.kubernetes.io/name": "ingress-nginx"})
    """Labels of the controller's pods."""


class ExternalCacheSpec(Section):
    """A Redis outside the cluster (a managed service) instead of the in-cluster StatefulSet."""

    host: str
    """Its TLS endpoint's DNS name; the certificate must chain to a public CA (the image's bundle)."""
    port: int = Field(default=6379, ge=1, le=65535)
    cidr: Cidr
    """The addresses it answers on: the app's egress NetworkPolicy opens only these, on ``port``."""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        problem = validation.domain_name(value)
        if problem:
            raise ValueError(problem)
        return value


class ExternalVectorStoreSpec(Section):
    """A PostgreSQL with pgvector outside the cluster (a managed, replicated one) for the vector store."""

    url_key: str = "vectorStoreUrl"
    """Secret config key holding its DSN, password included
    (``postgresql://user:password@host:5432/db?sslmode=verify-full``)."""
    cidr: Cidr
    """The addresses it answers on: the app's egress NetworkPolicy opens only these, on ``port``."""
    port: int = Field(default=5432, ge=1, le=65535)

    @field_validator("url_key")
    @classmethod
    def _key(cls, value: str) -> str:
        problem = validation.config_key(value)
        if problem:
            raise ValueError(problem)
        return value


class InsecureSpec(TargetInsecureSpec):
    """Named opt-outs from the Kubernetes secure defaults (recorded on the platform component).
    README.md's Kubernetes section tables each, and the insecure choices that have none."""

    SPEC_ONLY = frozenset({"singleReplica"})  # dev only; the pack asks for 2 replicas in prod alone

    single_replica: bool = False
    """Allow app.minReplicas 1 (dev only: a local cluster has one node)."""
    image_tag: bool = False
    """Allow kubernetes.image, the app by a tag other than latest (dev only: the inner loop of
    ``docker build && docker push`` without reading back the digest); prod deploys by digest."""
    writable_root_filesystem: bool = False
    """Run the app's containers (API and worker) with a writable root filesystem, for a library
    that writes beside its code rather than to /tmp; Redis and PostgreSQL stay read-only."""


def tagged_image(value: str) -> str | None:
    """Why ``value`` is not a ``<registry>/<repo>:<tag>`` reference with a tag other than latest."""
    if "@" in value:
        return "is pinned by digest: set it as app.image.digest instead"
    repository, _, last = value.rpartition("/")
    name, _, tag = last.partition(":")
    if not tag:
        return "has no tag, which pulls latest: name a tag (<registry>/<repo>:<tag>)"
    if tag == "latest":
        return "is tagged latest, which names whatever was pushed last: name a tag of your own"
    if not _IMAGE_NAME.match(f"{repository}/{name}".lstrip("/")) or not _IMAGE_TAG.match(tag):
        return "must be <registry>/<repo>:<tag> (lower-case repository; tag of letters, digits, '_', '.', '-')"
    return None


class KubernetesSpec(Section):
    namespace: str = "ai-platform"
    """The namespace everything runs in (created by the stack; never ``default``)."""
    context: str | None = None
    """A kubeconfig context; default: the provider's (``kubernetes:kubeconfig`` or the ambient one)."""
    tls: TlsSpec = TlsSpec(cluster_issuer="letsencrypt")
    edge: EdgeSpec = EdgeSpec()
    storage_class: str | None = None
    """StorageClass of the data volumes; default: the cluster's default class."""
    volume_gib: int = Field(default=10, ge=1, le=16_384)
    """Size of each data volume (Redis, PostgreSQL)."""
    llm_egress_cidrs: list[Cidr] = Field(default_factory=list)
    """CIDRs the app may reach on 443 (the LLM providers); empty needs llmEgressAnywhere."""
    llm_egress_anywhere: bool = False
    """The named choice to let the app reach any address on 443 (providers' addresses change)."""
    prometheus_operator: bool = True
    """Create a ServiceMonitor and PrometheusRule (the cluster needs monitoring.coreos.com/v1)."""
    monitoring_namespace: str = "monitoring"
    """Where Prometheus runs (admitted to the app's port for scraping)."""
    pod_security_version: str = "v1.34"
    """The pinned Pod Security Standards version (``pod-security.kubernetes.io/enforce-version``)."""
    external_vector_store: ExternalVectorStoreSpec | None = None
    """Use this PostgreSQL (DSN from a secret) instead of running one in the cluster; prod needs it."""
    external_cache: ExternalCacheSpec | None = None
    """Use this Redis (TLS, AUTH from cache.authTokenKey) instead of running one in the cluster."""
    redis_image: str | None = None
    """Redis 7+ pinned by digest (``docker buildx imagetools inspect redis:7.4``); needed with the cache."""
    postgres_image: str | None = None
    """PostgreSQL with pgvector pinned by digest (pgvector/pgvector:pg17); needed with the vector store."""
    redis_primary: int = Field(default=0, ge=0, le=4)
    """The ordinal of the in-cluster Redis primary (its client Service selects that pod). Manual failover:
    set the standby's ordinal (1 in prod) and run ``pulumi up``."""
    image: str | None = None
    """The app by tag (``localhost:5001/ai-api:dev``) instead of app.image.digest, with app.image.build:
    app; dev only, with the opt-out insecure.imageTag."""
    insecure: InsecureSpec = InsecureSpec()

    @field_validator("namespace", "monitoring_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        problem = dns_label(value)
        if problem:
            raise ValueError(problem)
        if value in ("default", "kube-system", "kube-public", "kube-node-lease"):
            raise ValueError(f"{value!r} is a namespace of the cluster itself: use a namespace of your own")
        return value

    @field_validator("redis_image", "postgres_image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        problem = None if value is None else validation.digest_ref(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("image")
    @classmethod
    def _tagged(cls, value: str | None) -> str | None:
        problem = None if value is None else tagged_image(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("pod_security_version")
    @classmethod
    def _psa(cls, value: str) -> str:
        if not _PSA_VERSION.match(value) or value == "latest":
            raise ValueError("must pin a Kubernetes minor version such as v1.34 (not latest)")
        return value

    @model_validator(mode="after")
    def _egress(self) -> KubernetesSpec:
        if self.llm_egress_cidrs and self.llm_egress_anywhere:
            raise ValueError("set llmEgressCidrs or llmEgressAnywhere: true, not both")
        return self


SECTION = KubernetesSpec


def replicas(spec: PlatformSpec) -> int:
    """The app's replica floor: app.minReplicas, else the seed's 3."""
    return spec.app.min_replicas if spec.app.min_replicas is not None else DEFAULT_REPLICAS


def check(spec: PlatformSpec, values: Mapping[str, Any]) -> list[Problem]:
    """The Kubernetes rules that span settings (the spec has already checked each value)."""
    problems: list[Problem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(Problem(f"{NAMESPACE}:{key}", message, value))

    section = _section(spec, values)
    tagged = section.image if section is not None else None
    if spec.app.image.digest is None and tagged is None:
        add(
            "app.image",
            {"build": spec.app.image.build},
            "Kubernetes deploys an image pinned by digest: build and push it, then set "
            "app.image.digest to <registry>/<repo>@sha256:<digest> (a dev stack may deploy a tag instead: "
            "kubernetes.image with the opt-out kubernetes.insecure.imageTag: true)",
        )
    elif spec.app.image.digest is not None and tagged is not None:
        add("kubernetes.image", tagged, "set app.image.digest or kubernetes.image (a tag), not both")
    bad = [p for key, value in spec.tags.items() if (p := label_problem(key, value))]
    if bad:
        add("tags", spec.tags, "; ".join(bad))
    count = replicas(spec)
    if count > spec.app.max_replicas:
        add("app.maxReplicas", spec.app.max_replicas, f"must be at least the replica floor ({count})")
    if spec.environment == "prod" and spec.vector_store.enabled and section and not section.external_vector_store:
        add(
            "vectorStore.enabled",
            True,
            "the in-cluster PostgreSQL is a single instance (no failover), which prod does not run: set "
            "kubernetes.externalVectorStore (a managed PostgreSQL with pgvector), or vectorStore.enabled: false",
        )
    if spec.cache.enabled is False and spec.queue.enabled:
        add("queue.enabled", True, "the queue is a Redis Stream on the cache: enable cache, or set queue.enabled false")
    if section is None:
        return problems  # the section's own errors are reported already; its defaults would mislead
    if not section.llm_egress_cidrs and not section.llm_egress_anywhere:
        add(
            "kubernetes.llmEgressCidrs",
            [],
            "the app needs egress on 443 to its LLM providers: set llmEgressCidrs, or llmEgressAnywhere: true",
        )
    if count < 2 and not section.insecure.single_replica:
        add(
            "app.minReplicas",
            count,
            "one replica is an outage on every rollout or node drain: use at least 2, or (dev only) the opt-out "
            "kubernetes.insecure.singleReplica: true",
        )
    if tagged is not None and not section.insecure.image_tag:
        add(
            "kubernetes.image",
            tagged,
            "a tag can be moved to other bytes, so Kubernetes deploys by digest: set app.image.digest, or "
            "(dev only) the opt-out kubernetes.insecure.imageTag: true",
        )
    for name, why in (
        ("singleReplica", "prod runs at least 2 replicas"),
        ("imageTag", "prod deploys the image it was given by digest (app.image.digest)"),
    ):
        if getattr(section.insecure, to_snake(name)) and spec.environment == "prod":
            add(f"kubernetes.insecure.{name}", True, f"is a dev-only opt-out; {why}")
    redis_pods = 2 if spec.cache_high_availability else 1
    if section.redis_primary >= redis_pods:
        add(
            "kubernetes.redisPrimary",
            section.redis_primary,
            f"must be the ordinal of a Redis pod: 0 to {redis_pods - 1} (this stack runs {redis_pods})",
        )
    for enabled, key, what in (
        (spec.cache.enabled and section.external_cache is None, "redisImage", "Redis 7+ (redis:7.4)"),
        (
            spec.vector_store.enabled and section.external_vector_store is None,
            "postgresImage",
            "PostgreSQL with pgvector (pgvector/pgvector:pg17)",
        ),
    ):
        if enabled and getattr(section, to_snake(key)) is None:
            add(
                f"kubernetes.{key}",
                MISSING,
                f"set the {what} image pinned by digest: <registry>/<repo>@sha256:<digest>",
            )
    return problems


def placeholder_digest(reference: str) -> bool:
    """Whether a digest-pinned reference is a recognisable stand-in such as ``@sha256:000…0004`` (the
    shipped stack files' placeholders, which pass the syntax check but name no image): a real
    SHA-256 digest has more than three distinct hex digits (all but certainly)."""
    _, _, digest = reference.partition("@sha256:")
    return bool(digest) and len(set(digest)) <= 3


def placeholder_images(spec: PlatformSpec) -> list[Problem]:
    """The images the stack deploys whose digests are placeholders, each at its key. Prod refuses them
    when a real engine runs the program (``pulumi preview`` / ``up``): the API server would accept the
    objects and the pods would never pull, until Pulumi's await times out."""
    section = spec.section(KubernetesSpec)
    deployed = [
        ("app.image.digest", spec.app.image.digest),
        ("kubernetes.redisImage", section.redis_image if spec.cache.enabled and not section.external_cache else None),
        (
            "kubernetes.postgresImage",
            section.postgres_image if spec.vector_store.enabled and not section.external_vector_store else None,
        ),
    ]
    return [
        Problem(
            f"{NAMESPACE}:{key}",
            "is a placeholder digest, not an image: pin the image you deploy "
            "(docker buildx imagetools inspect <image> prints its digest)",
            value,
        )
        for key, value in deployed
        if value is not None and placeholder_digest(value)
    ]


def _section(spec: PlatformSpec, values: Mapping[str, Any]) -> KubernetesSpec | None:
    """The stack's section, or None when it is given but invalid (its errors are reported already)."""
    raw = values.get(f"{NAMESPACE}:kubernetes", MISSING)
    if raw is MISSING:
        return KubernetesSpec()
    try:
        return KubernetesSpec.model_validate(_decode(raw))
    except ValidationError:
        return None


def secret_keys(spec: PlatformSpec) -> list[str]:
    """Secret config keys this target needs beyond the shared ones (an external database's DSN)."""
    section = spec.section(KubernetesSpec)
    if spec.vector_store.enabled and section.external_vector_store is not None:
        return [section.external_vector_store.url_key]
    return []


def required_secret_keys(values: Mapping[str, Any]) -> list[str]:
    """:func:`secret_keys` read from raw config, before validation (the offline plan's placeholders)."""
    raw = _decode(values.get(f"{NAMESPACE}:kubernetes", {}))
    store = _decode(values.get(f"{NAMESPACE}:vectorStore", {}))
    external = raw.get("externalVectorStore") if isinstance(raw, dict) else None
    enabled = not (isinstance(store, dict) and store.get("enabled") in (False, "false"))
    if enabled and isinstance(external, dict):
        return [str(external.get("urlKey", ExternalVectorStoreSpec.model_fields["url_key"].default))]
    return []
