"""The ``ai-platform:gcp`` section of a stack file and the rules only GCP has.

``SECTION`` is the section's model; ``check`` adds the GCP cross-key rules (project id, label
syntax, prod-only requirements such as an enforcing WAF and an HA cache) to the neutral spec's,
each reported at the key to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, field_validator

from components.spec import MISSING, NAMESPACE, PlatformSpec, Problem, Section, TargetInsecureSpec, to_snake

_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_POSTGRES = re.compile(r"^POSTGRES_\d{2}$")

#: the newest PostgreSQL major version pulumi-gcp 10.x offers for Cloud SQL
NEWEST_POSTGRES = "POSTGRES_18"
#: Cloud Armor's preconfigured WAF rule sets the gateway denies (``<name>-v33-stable``)
WAF_RULE_SETS = (
    "sqli",
    "xss",
    "lfi",
    "rfi",
    "rce",
    "scannerdetection",
    "protocolattack",
    "sessionfixation",
    "methodenforcement",
)


def project_id(value: str) -> str | None:
    """The project id rule, shared by the spec and the blocks."""
    if _PROJECT_ID.match(value):
        return None
    return "must be a project id: 6-30 lower-case letters, digits and hyphens, starting with a letter"


def postgres_version(value: str) -> str | None:
    return None if _POSTGRES.match(value) else "must be a Cloud SQL PostgreSQL version such as POSTGRES_18"


class GcpInsecureSpec(TargetInsecureSpec):
    """GCP's named opt-outs from the secure defaults (``ai-platform:gcp: {insecure: {...}}``); the
    README's GCP section tabulates what each allows, the rule condition it waives and where it is
    allowed. ``DEV_ONLY`` ones are refused in prod."""

    SPEC_ONLY = frozenset({"sqlEncryptedOnly"})  # the pack accepts ENCRYPTED_ONLY (TLS) as encrypted in transit
    DEV_ONLY: ClassVar[frozenset[str]] = frozenset({"googleManagedKeys", "mutableTags", "publicIngress"})

    sql_encrypted_only: bool = False
    """Cloud SQL sslMode ENCRYPTED_ONLY (TLS without client certificates) instead of
    TRUSTED_CLIENT_CERTIFICATE_REQUIRED, for clients that use neither the connector nor the proxy."""
    google_managed_keys: bool = False
    """Dev only: no Cloud KMS key; Pub/Sub, Artifact Registry, Secret Manager, Memorystore and Cloud
    SQL use Google-managed encryption keys (saves the key's cost and the per-service agent grants)."""
    mutable_tags: bool = False
    """Dev only: Artifact Registry tags can be pushed over (the service still runs a digest)."""
    public_ingress: bool = False
    """Dev only: Cloud Run ingress INGRESS_TRAFFIC_ALL, so the ``run.app`` URL is reachable from the
    internet without the load balancer and its Cloud Armor policy (the app still asks for API keys)."""
    sql_public_ip: bool = False
    """Cloud SQL gets a public IP (``ipv4Enabled: true``) beside its private one, e.g. for a migration
    service outside the VPC; authorized networks stay empty, so only the Cloud SQL connector and
    Auth Proxy (IAM-authorised) can reach it."""
    waf_preview: bool = False
    """Allows ``gateway.waf.mode: count`` in prod: Cloud Armor's WAF rules log but do not block, while
    a rule change is tuned against production traffic (throttle and size limits still enforce)."""
    basic_tier_cache: bool = False
    """Allows ``cache.highAvailability: false`` in prod: Memorystore BASIC (no replica, no failover);
    the app treats Redis as a cache, so an outage degrades rather than breaks it."""


class GcpSpec(Section):
    billing_account: str
    """The Cloud Billing account the budget watches (XXXXXX-XXXXXX-XXXXXX)."""
    waf_sensitivity: int = Field(default=1, ge=1, le=4)
    """Cloud Armor preconfigured WAF sensitivity (1 = fewest false positives, 4 = most rules)."""
    ssl_profile: Literal["RESTRICTED", "MODERN"] = "RESTRICTED"
    """The load balancer's SSL policy profile (COMPATIBLE is not offered: it accepts weak ciphers)."""
    adaptive_protection: bool | None = None
    """Cloud Armor Adaptive Protection (L7 DDoS defense). Default: dev off, prod on."""
    cache_memory_gb: int = Field(default=1, ge=1, le=300)
    database_tier: str = "db-custom-2-7680"
    postgres_version: str = NEWEST_POSTGRES
    """Pin a major version; default the newest the provider offers."""
    insecure: GcpInsecureSpec = GcpInsecureSpec()

    @field_validator("billing_account")
    @classmethod
    def _billing(cls, value: str) -> str:
        if not _BILLING_ACCOUNT.match(value):
            raise ValueError("must be a billing account id: XXXXXX-XXXXXX-XXXXXX (upper-case hex)")
        return value

    @field_validator("postgres_version")
    @classmethod
    def _postgres(cls, value: str) -> str:
        problem = postgres_version(value)
        if problem:
            raise ValueError(problem)
        return value


#: Memorystore makes its own AUTH string; the platform stores it in Secret Manager
CACHE_AUTH_TOKEN_FROM_CONFIG = False

SECTION = GcpSpec


def adaptive_protection(spec: PlatformSpec) -> bool:
    chosen = spec.section(GcpSpec).adaptive_protection
    return chosen if chosen is not None else spec.environment == "prod"


def _insecure(spec: PlatformSpec) -> GcpInsecureSpec:
    """The stack's opt-outs; none while the section itself is invalid (its errors are reported)."""
    try:
        return spec.section(GcpSpec).insecure
    except ValidationError:
        return GcpInsecureSpec()


def check(spec: PlatformSpec, values: Mapping[str, Any]) -> list[Problem]:
    """The GCP rules that span settings (the spec has already checked each value)."""
    problems: list[Problem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(Problem(key if ":" in key else f"{NAMESPACE}:{key}", message, value))

    project = values.get("gcp:project", MISSING)
    if project is MISSING:
        add("gcp:project", MISSING, "must be set for cloud gcp (pulumi config set gcp:project my-project)")
    elif not isinstance(project, str) or project_id(project):
        add("gcp:project", project, project_id(str(project)) or "must be a string")
    bad_keys = [key for key in spec.tags if not _LABEL_KEY.match(key)]
    if bad_keys:
        add("tags", spec.tags, f"invalid label keys {bad_keys}: 1-63 of a-z, 0-9, _ and -, starting with a letter")
    bad_values = [key for key, value in spec.tags.items() if not _LABEL_VALUE.match(value)]
    if bad_values:
        add("tags", spec.tags, f"label values of {bad_values} are not 0-63 of a-z, 0-9, _ and -")
    if f"{NAMESPACE}:gcp" not in values:
        add("gcp", values.get(f"{NAMESPACE}:gcp", MISSING), "required: billingAccount (the budget's account)")
    insecure = _insecure(spec)
    if spec.environment == "prod":
        if spec.waf_mode == "count" and spec.waf_enabled and not insecure.waf_preview:
            add(
                "gateway.waf.mode",
                "count",
                "prod blocks: Cloud Armor rules in preview only log (use block, "
                "or opt out: gcp.insecure.wafPreview: true)",
            )
        if not spec.cache_high_availability and spec.cache.enabled and not insecure.basic_tier_cache:
            add(
                "cache.highAvailability",
                False,
                "prod needs Memorystore STANDARD_HA, a replica with failover "
                "(or opt out: gcp.insecure.basicTierCache: true)",
            )
        for name in sorted(GcpInsecureSpec.DEV_ONLY):
            if getattr(insecure, to_snake(name)):
                add(f"gcp.insecure.{name}", True, "a dev-only opt-out: refused in prod (remove it or set it false)")
        if not spec.vector_high_availability and spec.vector_store.enabled:
            add("vectorStore.highAvailability", False, "prod needs Cloud SQL REGIONAL availability")
    return problems
