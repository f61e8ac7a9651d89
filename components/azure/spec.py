"""The ``ai-platform:azure`` section of a stack file and the rules only Azure has.

``SECTION`` is the section's model; ``check`` adds the Azure cross-key rules (tag syntax, image
in the platform's registry, seed limits in prod) to the neutral spec's, each reported at the key
to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from components.spec import MISSING, NAMESPACE, PlatformSpec, Problem, Section, TargetInsecureSpec

_REGISTRY_NAME = re.compile(r"^[a-zA-Z0-9]{5,50}$")
_VAULT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_SECRET_ID = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.net/secrets/[A-Za-z0-9-]{1,127}/?$")
_VAULT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[A-Za-z0-9-]{3,24}$"
)
_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_TAG_KEY_FORBIDDEN = re.compile(r"[<>%&\\?/]")
#: Container Apps scale limits the seed gives for prod (min 2 for HA, max 20)
PROD_REPLICAS = (2, 20)


def registry_name(value: str) -> str | None:
    """The ACR naming rule, shared by the spec and the Registry block."""
    return None if _REGISTRY_NAME.match(value) else "must be 5-50 letters and digits (a global ACR name)"


def vault_name(value: str) -> str | None:
    """The Key Vault naming rule, shared by the spec and the SecretStore block."""
    if _VAULT_NAME.match(value) and "--" not in value:
        return None
    return "must be 3-24 letters, digits and single hyphens, starting with a letter (a global Key Vault name)"


def certificate_secret_id(value: str) -> str | None:
    """A Key Vault certificate's secret id, as the Application Gateway reads it."""
    if _SECRET_ID.match(value):
        return None
    return "must be a Key Vault secret id such as https://<vault>.vault.azure.net/secrets/<certificate> (no version)"


class OpenAiDeploymentSpec(Section):
    """One Azure OpenAI model deployment (the name the app calls it by)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    model: str
    version: str
    sku: Literal["GlobalStandard", "Standard", "DataZoneStandard"] = "GlobalStandard"
    capacity: int = Field(default=10, ge=1, le=10_000)
    """Thousands of tokens per minute."""


PublicService = Literal["keyVault", "registry", "cache", "queue", "openai"]
LocalAuthService = Literal["cache", "queue", "openai"]


class AzureInsecureSpec(TargetInsecureSpec):
    """Azure's named opt-outs (``azure.insecure``); each lets the setting named in its docstring
    take the insecure value, and is recorded on the platform component as ``azure.<camelName>``."""

    SPEC_ONLY = frozenset({"aboveSeedMaxReplicas"})  # the pack sets no replica ceiling

    external_api_management: bool = False
    """Dev only: ``azure.apiManagementNetwork: External`` (API Management reachable from the
    internet past the WAF, e.g. a demo without the gateway's domain)."""
    public_data_services: bool = False
    """``azure.publicServices`` non-empty: those services keep their private endpoint but also
    accept public traffic (e.g. CI on hosted runners pushing to the registry)."""
    local_auth: bool = False
    """``azure.localAuth`` non-empty: those services also accept keys (Redis access keys, Service
    Bus SAS, Azure OpenAI API keys) for tools without Entra ID; the app still uses its identity."""
    single_zone_database: bool = False
    """Prod: PostgreSQL without zone-redundant HA (``vectorStore.highAvailability: false`` or the
    Burstable tier)."""
    above_seed_max_replicas: bool = False
    """Prod: ``app.maxReplicas`` above the seed's 20 (a load the seed did not size for)."""


class JwtSpec(Section):
    """``validate-jwt`` in API Management: callers must bring a token from this OpenID issuer."""

    openid_config_url: str = Field(pattern=r"^https://[^\s]+/\.well-known/openid-configuration$")
    """E.g. https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration"""
    audience: str = Field(min_length=1, max_length=256, pattern=r"^[^<>&\s]+$")


class PostgresAdminGroupSpec(Section):
    """An Entra group (by object id and display name) as PostgreSQL's Entra administrator."""

    object_id: str = Field(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
    name: str = Field(min_length=1, max_length=128)


class AzureSpec(Section):
    resource_group_name: str | None = Field(default=None, pattern=r"^[-\w._()]{1,89}[-\w_()]$")
    """Default: ``ai-platform-<stack>``."""
    registry_name: str
    """The Azure Container Registry's global name; app.image.digest must be in it."""
    key_vault_name: str
    """The Key Vault's global name."""
    certificate_secret_id: str
    """The TLS certificate for gateway.domain: a Key Vault secret id (unversioned, so it renews)."""
    certificate_key_vault_id: str
    """The resource id of the vault holding that certificate (the gateway's identity reads it)."""
    publisher_email: str
    """API Management's publisher contact (Azure mails it about the service)."""
    api_management_sku: Literal["Developer", "Premium"] | None = None
    """Default: dev Developer, prod Premium (v2 tiers have no Internal VNet mode)."""
    redis_sku: str = Field(default="Balanced_B1", pattern=r"^(Balanced|MemoryOptimized|ComputeOptimized)_[A-Z]\d+$")
    postgres_sku: str = Field(default="Standard_B1ms", pattern=r"^Standard_[A-Za-z0-9_]+$")
    postgres_tier: Literal["Burstable", "GeneralPurpose", "MemoryOptimized"] = "Burstable"
    postgres_storage_gb: int = Field(default=32, ge=32, le=32_768)
    openai_subdomain: str | None = None
    """Custom subdomain of the Azure OpenAI account (global); required with openaiDeployments."""
    openai_deployments: list[OpenAiDeploymentSpec] = Field(default_factory=list)
    api_management_network: Literal["Internal", "External"] = "Internal"
    """External needs the dev-only opt-out insecure.externalApiManagement."""
    public_services: list[PublicService] = Field(default_factory=list)
    """Services that also accept public traffic; needs the opt-out insecure.publicDataServices."""
    local_auth: list[LocalAuthService] = Field(default_factory=list)
    """Services that also accept keys; needs the opt-out insecure.localAuth."""
    api_jwt: JwtSpec | None = None
    """Default: no token check in API Management (callers use the app's API keys)."""
    postgres_admin_group: PostgresAdminGroupSpec | None = None
    """The Entra group that administers PostgreSQL (its members run the database bootstrap);
    default: a dedicated managed identity. Never the app's identity."""
    insecure: AzureInsecureSpec = AzureInsecureSpec()

    @field_validator("registry_name")
    @classmethod
    def _registry(cls, value: str) -> str:
        return _raise(registry_name(value), value)

    @field_validator("key_vault_name")
    @classmethod
    def _vault(cls, value: str) -> str:
        return _raise(vault_name(value), value)

    @field_validator("certificate_secret_id")
    @classmethod
    def _certificate(cls, value: str) -> str:
        return _raise(certificate_secret_id(value), value)

    @field_validator("certificate_key_vault_id")
    @classmethod
    def _vault_id(cls, value: str) -> str:
        if not _VAULT_ID.match(value):
            raise ValueError(
                "must be a Key Vault resource id: /subscriptions/<id>/resourceGroups/<group>/providers/"
                "Microsoft.KeyVault/vaults/<name>"
            )
        return value

    @field_validator("openai_subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is not None and not _SUBDOMAIN.match(value):
            raise ValueError("must be 3-64 lower-case letters, digits and inner hyphens")
        return value


def _raise(problem: str | None, value: str) -> str:
    if problem:
        raise ValueError(problem)
    return value


#: the app signs in to Managed Redis with Entra ID tokens, no AUTH token
CACHE_AUTH_TOKEN_FROM_CONFIG = False

SECTION = AzureSpec


def api_management_sku(spec: PlatformSpec) -> str:
    return spec.section(AzureSpec).api_management_sku or ("Premium" if spec.environment == "prod" else "Developer")


def check(spec: PlatformSpec, values: Mapping[str, Any]) -> list[Problem]:
    """The Azure rules that span settings (the spec has already checked each value)."""
    problems: list[Problem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(Problem(f"{NAMESPACE}:{key}", message, value))

    bad = [key for key in spec.tags if len(key) > 512 or _TAG_KEY_FORBIDDEN.search(key)]
    if bad:
        add("tags", spec.tags, f"invalid tag keys {bad}: at most 512 characters, none of < > % & \\ ? /")
    too_long = [key for key, tag in spec.tags.items() if len(tag) > 256]
    if too_long:
        add("tags", spec.tags, f"tag values longer than 256 characters: {too_long}")
    prefix = int(spec.network.cidr.rsplit("/", 1)[1])
    if prefix > 21:
        add(
            "network.cidr",
            spec.network.cidr,
            "the Azure subnets (gateway, apim, apps /23, endpoints, postgres) need /21 or larger",
        )
    if f"{NAMESPACE}:azure" not in values:
        add("azure", MISSING, "the azure section is required (registryName, keyVaultName, certificateSecretId, ...)")
        return problems
    try:
        azure = spec.section(AzureSpec)
    except ValidationError:  # the section's own problems are already reported
        return problems
    digest = spec.app.image.digest
    if digest is None:
        add(
            "app.image",
            spec.app.image.model_dump(by_alias=True, exclude_none=True),
            f"on azure set app.image.digest to an image in {azure.registry_name}.azurecr.io (pushed by CI); "
            "the registry is private, so the program does not build",
        )
    elif not digest.startswith(f"{azure.registry_name.lower()}.azurecr.io/"):
        add("app.image.digest", digest, f"must be an image in the platform's registry {azure.registry_name}.azurecr.io")
    problems.extend(_opt_out_problems(spec, azure))
    if spec.environment == "prod":
        low, high = PROD_REPLICAS
        if not low <= spec.min_replicas <= high:
            add("app.minReplicas", spec.min_replicas, f"prod runs {low}-{high} replicas")
        if spec.app.max_replicas < low or (spec.app.max_replicas > high and not azure.insecure.above_seed_max_replicas):
            add(
                "app.maxReplicas",
                spec.app.max_replicas,
                f"prod runs {low}-{high} replicas (above {high} needs the opt-out "
                f"azure.insecure.{to_camel('above_seed_max_replicas')}: true)",
            )
        if spec.waf_mode != "block" and spec.waf_enabled:
            add(
                "gateway.waf.mode",
                spec.waf_mode,
                "prod blocks (Prevention); detection only needs the opt-out insecure.disableWaf: true",
            )
        single_zone = azure.insecure.single_zone_database
        if spec.vector_store.enabled and azure.postgres_tier == "Burstable" and not single_zone:
            add(
                "azure.postgresTier",
                azure.postgres_tier,
                "prod needs GeneralPurpose or MemoryOptimized (zone-redundant HA); Burstable needs the opt-out "
                "azure.insecure.singleZoneDatabase: true",
            )
        if spec.vector_store.enabled and not spec.vector_high_availability and not single_zone:
            add(
                "vectorStore.highAvailability",
                False,
                "prod runs PostgreSQL zone-redundant (true); false needs the opt-out "
                "azure.insecure.singleZoneDatabase: true",
            )
        if api_management_sku(spec) != "Premium":
            add("azure.apiManagementSku", azure.api_management_sku, "prod needs Premium (Developer has no SLA)")
    if spec.vector_store.enabled and azure.postgres_tier == "Burstable" and spec.vector_high_availability:
        add(
            "vectorStore.highAvailability",
            True,
            "the Burstable tier has no zone-redundant HA: set false, or azure.postgresTier GeneralPurpose",
        )
    if azure.openai_deployments and azure.openai_subdomain is None:
        add("azure.openaiSubdomain", None, "required with openaiDeployments (Entra ID tokens need a custom subdomain)")
    return problems


def _opt_out_problems(spec: PlatformSpec, azure: AzureSpec) -> list[Problem]:
    """Each insecure value needs its named opt-out (and a dev stack, for the dev-only ones)."""
    opt = azure.insecure
    # (key, value given, whether it is insecure, the secure value, opt-out, dev only)
    asked = [
        ("apiManagementNetwork", azure.api_management_network, azure.api_management_network == "External",
         "Internal", "external_api_management", True),
        ("publicServices", azure.public_services, bool(azure.public_services), "[]", "public_data_services", False),
        ("localAuth", azure.local_auth, bool(azure.local_auth), "[]", "local_auth", False),
    ]  # fmt: skip
    problems = []
    for key, value, insecure, secure, name, dev_only in asked:
        if not insecure:
            continue
        opt_out = f"azure.insecure.{to_camel(name)}"
        if dev_only and spec.environment == "prod":
            message = f"must be {secure} in prod; the opt-out {opt_out} is for dev stacks only"
        elif not getattr(opt, name):
            message = f"must be {secure} (the secure default); this value needs the opt-out {opt_out}: true"
        else:
            continue
        problems.append(Problem(f"{NAMESPACE}:azure.{key}", message, value))
    return problems
