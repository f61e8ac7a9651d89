"""Checks for the azure target (the azure-native provider, 3.x default-module tokens).

Inputs are read as the engine sends them: camelCase, flat like the Python args
(``enableNonSslPort`` on a cache, ``properties.enablePurgeProtection`` on a vault). Every token
and input used here exists in pulumi_azure_native 3.x: ``tests/policies/test_azure_rules.py``
checks the tokens, every input the Azure fixtures set, and the taggable list against the
installed SDK. The pack itself imports no provider SDK.

Decisions:
- encryption-at-rest: Azure encrypts every data service here at rest with platform keys and has no
  switch to turn that off, so there is nothing to check; customer-managed keys are not required.
- required-tags: the types in :data:`TAGGABLE` (every resource of the architecture's modules whose
  args take a ``tags`` map, generated from the SDK); other azure-native types are not asked.
- request-size-limits on API Management: a ``<validate-content max-size="N"
  size-exceeded-action="prevent">`` in ``<inbound>`` (it rejects larger bodies with 413), N at most
  the configured maximum; rate-limiting: ``<rate-limit-by-key>`` or ``<rate-limit>`` in
  ``<inbound>``. An API-scope policy passes with ``<base />`` in ``<inbound>`` (it inherits the
  global policy, which is checked itself). XML comments are ignored.
- access-and-flow-logs: a diagnostic setting with a workspace and an enabled log category for the
  gateway, APIM, Key Vault, Redis, PostgreSQL, Service Bus, ACR and Azure OpenAI; a log destination
  for the Container Apps environment; a VNet flow log for each virtual network.
- waf-on-entry-points: the Application Gateway is the only internet-facing entry point, so API
  Management must be in Internal VNet mode and the Container Apps environment internal.
- data-protection (prod): purge protection on Key Vault; on PostgreSQL, backup retention (unset means
  the service default, 7 days) and a ``CanNotDelete`` ``ManagementLockByScope`` on the server.
- named opt-outs (``azure.insecure``): publicDataServices waives the publicNetworkAccess conditions
  (not PostgreSQL's: a VNet-integrated server has no public mode), localAuth the key and SAS
  conditions, externalApiManagement the Internal-mode condition (dev only in the spec),
  singleZoneDatabase PostgreSQL's zone-redundant HA in prod. Every other condition has no opt-out.
- Unknown values skip the check that needs them (an unknown list entry too); a stack check treats
  an unknown reference, alert criterion or tag as "can't tell" and reports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from policies.framework import (
    SECRET_MARKER,
    UNKNOWN,
    CheckSet,
    Resource,
    Stack,
    Violation,
    Waivable,
    is_unknown,
    require_known,
)
from policies.rules.azure_taggable import TAGGABLE_TYPES
from policies.rules.common import missing_tags

checks = CheckSet("azure")

#: the named opt-outs (``azure.insecure.<name>``, components/azure/spec.py) and the conditions they waive
PUBLIC_DATA_SERVICES = "azure.publicDataServices"
LOCAL_AUTH = "azure.localAuth"
EXTERNAL_API_MANAGEMENT = "azure.externalApiManagement"
SINGLE_ZONE_DATABASE = "azure.singleZoneDatabase"
checks.waive("no-public-data-services", PUBLIC_DATA_SERVICES)
checks.waive("no-static-credentials", LOCAL_AUTH)
checks.waive("waf-on-entry-points", EXTERNAL_API_MANAGEMENT)
checks.waive("high-availability", SINGLE_ZONE_DATABASE)

APIM_API_POLICY = "azure-native:apimanagement:ApiPolicy"
APIM_LOGGER = "azure-native:apimanagement:Logger"
APIM_NAMED_VALUE = "azure-native:apimanagement:NamedValue"
APIM_POLICY = "azure-native:apimanagement:Policy"
APIM_SERVICE = "azure-native:apimanagement:ApiManagementService"
APP_GATEWAY = "azure-native:network:ApplicationGateway"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
BUDGET = "azure-native:consumption:Budget"
CONTAINER_APP = "azure-native:app:ContainerApp"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
FLOW_LOG = "azure-native:network:FlowLog"
KEY = "azure-native:keyvault:Key"
KEY_VAULT = "azure-native:keyvault:Vault"
LOCK = "azure-native:authorization:ManagementLockByScope"
MANAGED_ENVIRONMENT = "azure-native:app:ManagedEnvironment"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
OPENAI_ACCOUNT = "azure-native:cognitiveservices:Account"
POSTGRES = "azure-native:dbforpostgresql:Server"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
REDIS = "azure-native:redis:Redis"
MANAGED_REDIS = "azure-native:redisenterprise:RedisEnterprise"
MANAGED_REDIS_DATABASE = "azure-native:redisenterprise:Database"
REGISTRY = "azure-native:containerregistry:Registry"
SERVICE_BUS = "azure-native:servicebus:Namespace"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
WAF_POLICY = "azure-native:network:WebApplicationFirewallPolicy"
WORKSPACE = "azure-native:operationalinsights:Workspace"

TAGGABLE = TAGGABLE_TYPES
"""azure-native types that carry the required tags (generated by scripts/generate_azure_taggable.py)."""


# --- small helpers ------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as messages print it (``not set`` for a missing one)."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _is(value: Any, expected: str) -> bool:
    """Case-insensitive comparison of an enum-like string (Azure accepts any case)."""
    return isinstance(value, str) and value.lower() == expected.lower()


def _at(item: Any, path: str) -> Any:
    """The value at a dotted path inside a nested input object (an entry of a list input).

    Like :meth:`Resource.get`: None when missing, :data:`UNKNOWN` when unknown during preview.
    """
    if is_unknown(item):
        return UNKNOWN
    return Resource("", item).get(path) if isinstance(item, dict) else None


def _known_list(value: Any, path: str) -> list[Any]:
    """``value`` as a list ([] when missing or not a list); skips the check if it or an entry is unknown."""
    require_known(value, path)
    if not isinstance(value, list):
        return []
    for index, entry in enumerate(value):
        require_known(entry, f"{path}.{index}")
    return value


def _items(r: Resource, path: str) -> list[Any]:
    """The list input at ``path`` of ``r`` (see :func:`_known_list`)."""
    return _known_list(r.get(path), path)


def _tls(value: Any) -> tuple[int, ...] | None:
    """A TLS version as a tuple: "1.2", "TLSv1_2", "TLS1_2", "Tls12" all give (1, 2)."""
    if not isinstance(value, str):
        return None
    digits = re.findall(r"\d", value)
    return tuple(int(d) for d in digits[:2]) if len(digits) >= 2 else None


def _minimum_tls(config: Mapping[str, Any]) -> tuple[int, ...]:
    return _tls(str(config.get("minimumTlsVersion") or "1.2")) or (1, 2)


def _last_segment(resource_id: Any) -> str | None:
    """The child name an ARM id ends with (``.../httpListeners/https`` gives ``https``)."""
    if not isinstance(resource_id, str):
        return None
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _disabled_public_access(r: Resource, path: str, way_in: str = "a private endpoint") -> Iterator[str]:
    """``publicNetworkAccess`` must be Disabled: the service is reached through private endpoints."""
    value = r.known(path)
    if not _is(value, "Disabled"):
        message = f"{r.label}: {path} is {_show(value)}; it must be 'Disabled' (reach it through {way_in})"
        # a VNet-integrated PostgreSQL server has no public mode to opt into
        yield message if r.type == POSTGRES else Waivable(PUBLIC_DATA_SERVICES, message)


def _iso_days(duration: Any) -> int | None:
    """Days in a Key Vault ISO 8601 duration (``P90D``, ``P1Y``, ``P6M``); None if unparsable."""
    if not isinstance(duration, str):
        return None
    match = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?", duration.strip().upper())
    if not match or duration.strip().upper() == "P":
        return None
    years, months, days = (int(g or 0) for g in match.groups())
    return years * 365 + months * 30 + days


# --- required-tags ------------------------------------------------------------------------------


@checks.resource("required-tags", "azure-native:*")
def azure_resource_tagged(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Cost and ownership reports group by tags; only types whose args take a `tags` map are asked."""
    if r.type in TAGGABLE:
        yield from missing_tags(r, config)


# --- tls-in-transit -----------------------------------------------------------------------------


def _minimum_tls_version(r: Resource, config: Mapping[str, Any], path: str = "minimumTlsVersion") -> Iterator[str]:
    """Clients must not negotiate TLS older than the configured minimum; unset is not accepted."""
    value = r.known(path)
    version = _tls(value)
    minimum = _minimum_tls(config)
    if version is None or version < minimum:
        wanted = ".".join(str(p) for p in minimum)
        yield f"{r.label}: {path} is {_show(value)}; it must be '{wanted}' or newer"


@checks.resource("tls-in-transit", REDIS)
def redis_tls_only(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The non-TLS port 6379 sends data and the access key in clear text."""
    if r.known("enableNonSslPort") is True:
        yield f"{r.label}: enableNonSslPort is true; it must be false (TLS port 6380 only)"
    yield from _minimum_tls_version(r, config)


@checks.resource("tls-in-transit", MANAGED_REDIS)
def managed_redis_minimum_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Azure Managed Redis accepts TLS 1.0/1.1 clients unless the cluster sets a minimum."""
    yield from _minimum_tls_version(r, config)


@checks.resource("tls-in-transit", MANAGED_REDIS_DATABASE)
def managed_redis_database_encrypted(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """`clientProtocol: Plaintext` serves the database without TLS; the default is Encrypted."""
    value = r.known("clientProtocol")
    if value is not None and not _is(value, "Encrypted"):
        yield f"{r.label}: clientProtocol is {_show(value)}; it must be 'Encrypted' (TLS)"


@checks.resource("tls-in-transit", SERVICE_BUS)
def service_bus_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Service Bus still accepts TLS 1.0/1.1 clients unless the namespace sets a minimum."""
    yield from _minimum_tls_version(r, config)


@checks.resource("tls-in-transit", CONTAINER_APP)
def container_app_https_only(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """`allowInsecure` lets the ingress serve plain HTTP instead of redirecting to HTTPS."""
    if r.known("configuration.ingress.allowInsecure") is True:
        yield f"{r.label}: configuration.ingress.allowInsecure is true; it must be false (HTTP is redirected to HTTPS)"


_APIM_OLD_PROTOCOLS = tuple(
    f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{side}.{protocol}"
    for side in ("Protocols", "Backend.Protocols")
    for protocol in ("Tls10", "Tls11", "Ssl30")
)


@checks.resource("tls-in-transit", APIM_SERVICE)
def apim_no_old_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """API Management keeps TLS 1.0/1.1 off unless `customProperties` turns them back on."""
    custom = r.known("customProperties") or {}
    if not isinstance(custom, dict):
        return
    for key in _APIM_OLD_PROTOCOLS:
        value = require_known(custom.get(key), f"customProperties.{key}")
        if isinstance(value, str | bool) and str(value).lower() == "true":
            yield f"{r.label}: customProperties.{key} is {_show(value)}; it must be 'False' (TLS 1.2 or newer only)"


_APPGW_TLS12_POLICIES = ("AppGwSslPolicy20220101", "AppGwSslPolicy20220101S")


@checks.resource("tls-in-transit", APP_GATEWAY)
def app_gateway_tls_policy(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The listener TLS policy decides the oldest protocol a client may use; older predefined ones allow 1.0."""
    minimum = _minimum_tls(config)
    wanted = ".".join(str(p) for p in minimum)
    allowed = _APPGW_TLS12_POLICIES if minimum <= (1, 2) else ()
    allowed_text = (
        f"a Predefined policy {' or '.join(allowed)}, or " if allowed else ""
    ) + f"a CustomV2 policy with minProtocolVersion TLSv{wanted.replace('.', '_')} or newer"
    policy = r.known("sslPolicy")
    if not isinstance(policy, dict):
        yield f"{r.label}: sslPolicy is not set; set {allowed_text}"
        return
    policy_type = require_known(policy.get("policyType"), "sslPolicy.policyType")
    if _is(policy_type, "Custom") or _is(policy_type, "CustomV2"):
        version = require_known(policy.get("minProtocolVersion"), "sslPolicy.minProtocolVersion")
        if (_tls(version) or (0, 0)) < minimum:
            yield f"{r.label}: sslPolicy.minProtocolVersion is {_show(version)}; it must be {allowed_text}"
        return
    name = require_known(policy.get("policyName"), "sslPolicy.policyName")
    if name not in allowed:
        yield f"{r.label}: sslPolicy.policyName is {_show(name)}; it must be {allowed_text}"


def _named(items: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Sub-resources (listeners, redirect configurations) by name; skips the check if a name is unknown."""
    named = {}
    for item in items:
        name = require_known(_at(item, "name"))
        if isinstance(name, str) and isinstance(item, dict):
            named[name] = item
    return named


def _redirects_to_https(redirect: dict[str, Any] | None, listeners: Mapping[str, dict[str, Any]]) -> bool:
    if redirect is None:
        return False
    target = listeners.get(_last_segment(require_known(_at(redirect, "targetListener.id"))) or "")
    if target is not None:
        return _is(require_known(_at(target, "protocol")), "Https")
    url = require_known(redirect.get("targetUrl"))
    return isinstance(url, str) and url.lower().startswith("https://")


@checks.resource("tls-in-transit", APP_GATEWAY)
def app_gateway_http_redirects(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A plain-HTTP listener may only redirect to HTTPS, never route to the backend."""
    listeners = _named(_items(r, "httpListeners"))
    redirects = _named(_items(r, "redirectConfigurations"))
    for index, rule in enumerate(_items(r, "requestRoutingRules")):
        if not isinstance(rule, dict):
            continue
        listener_name = _last_segment(require_known(_at(rule, "httpListener.id"))) or ""
        listener = listeners.get(listener_name)
        if listener is None or not _is(require_known(_at(listener, "protocol")), "Http"):
            continue
        redirect_id = require_known(_at(rule, "redirectConfiguration.id"))
        redirect = redirects.get(_last_segment(redirect_id) or "")
        if not _redirects_to_https(redirect, listeners):
            yield (
                f"{r.label}: requestRoutingRules.{index} ({rule.get('name')}) serves the Http listener "
                f"{listener_name!r} without a redirect to HTTPS; its redirectConfiguration must target an Https "
                "listener or an https:// URL"
            )


# --- no-public-data-services ----------------------------------------------------------------------


@checks.resource("no-public-data-services", REDIS, MANAGED_REDIS, SERVICE_BUS, REGISTRY)
def public_network_access_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Caches, queues and registries are reached only through private endpoints."""
    yield from _disabled_public_access(r, "publicNetworkAccess")


@checks.resource("no-public-data-services", KEY_VAULT, OPENAI_ACCOUNT)
def properties_public_network_access_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Key vaults and model endpoints are reached only through private endpoints."""
    yield from _disabled_public_access(r, "properties.publicNetworkAccess")


@checks.resource("no-public-data-services", POSTGRES)
def postgres_private_access(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The database is reached over its delegated subnet (private access) only."""
    yield from _disabled_public_access(r, "network.publicNetworkAccess", "its delegated subnet")


@checks.resource("no-public-data-services", REGISTRY)
def registry_no_anonymous_pull(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Anonymous pull lets anyone download the images (and what is baked into them)."""
    if r.known("anonymousPullEnabled") is True:
        yield f"{r.label}: anonymousPullEnabled is true; it must be false"


# --- no-static-credentials ----------------------------------------------------------------------


def _local_auth_off(r: Resource, path: str, why: str) -> Iterator[str]:
    """Keys stay off unless the stack opts into them (``azure.insecure.localAuth``)."""
    value = r.known(path)
    if value is not True:
        yield Waivable(LOCAL_AUTH, f"{r.label}: {path} is {_show(value)}; it must be true ({why})")


@checks.resource("no-static-credentials", OPENAI_ACCOUNT)
def openai_local_auth_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """API keys to the model endpoint leak and never expire; the app uses its managed identity."""
    yield from _local_auth_off(r, "properties.disableLocalAuth", "Entra ID / managed identity only, no API keys")


@checks.resource("no-static-credentials", SERVICE_BUS)
def service_bus_local_auth_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """SAS keys are shared secrets; the app sends and receives with its managed identity."""
    yield from _local_auth_off(r, "disableLocalAuth", "Entra ID / managed identity only, no SAS keys")


@checks.resource("no-static-credentials", REDIS)
def redis_access_keys_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Redis access keys are shared secrets; Entra ID authentication replaces them."""
    yield from _local_auth_off(r, "disableAccessKeyAuthentication", "Entra ID authentication only, no access keys")


@checks.resource("no-static-credentials", MANAGED_REDIS_DATABASE)
def managed_redis_access_keys_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Access keys are shared secrets and Managed Redis enables them unless told not to; Entra ID replaces them."""
    value = r.known("accessKeysAuthentication")
    if not _is(value, "Disabled"):
        message = f"{r.label}: accessKeysAuthentication is {_show(value)}; it must be 'Disabled' (Entra ID only)"
        yield Waivable(LOCAL_AUTH, message)


@checks.resource("no-static-credentials", REGISTRY)
def registry_admin_user_disabled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The admin user is one shared password with push rights; pulls use the app's identity (AcrPull)."""
    if r.known("adminUserEnabled") is True:
        yield f"{r.label}: adminUserEnabled is true; it must be false (pull with a managed identity)"


@checks.resource("no-static-credentials", POSTGRES)
def postgres_entra_auth(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The app signs in with its managed identity; a database password is a static credential."""
    entra = r.known("authConfig.activeDirectoryAuth")
    if not _is(entra, "Enabled"):
        yield f"{r.label}: authConfig.activeDirectoryAuth is {_show(entra)}; it must be 'Enabled'"
    password = r.known("authConfig.passwordAuth")
    if not _is(password, "Disabled"):
        yield f"{r.label}: authConfig.passwordAuth is {_show(password)}; it must be 'Disabled' (Entra ID only)"


@checks.resource("no-static-credentials", CONTAINER_APP)
def container_app_registry_identity(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Image pulls authenticate with the app's managed identity, not a registry password."""
    for index, registry in enumerate(_items(r, "configuration.registries")):
        if isinstance(registry, dict) and registry.get("passwordSecretRef") is not None:
            yield (
                f"{r.label}: configuration.registries.{index}.passwordSecretRef is "
                f"{_show(registry['passwordSecretRef'])}; pull with a managed identity (`identity`) instead"
            )


# --- secrets-not-in-plain-env ---------------------------------------------------------------------


def _secret_env_problem(name: Any, value: Any, config: Mapping[str, Any]) -> str | None:
    """Why a plain env value looks like a secret (by its name, a secret marker, or its format)."""
    if not isinstance(value, str) or is_unknown(value):
        return None
    if value == SECRET_MARKER:
        return "it is a Pulumi secret"
    if isinstance(name, str) and any(re.search(p, name) for p in config.get("secretNamePatterns") or ()):
        return "its name marks it as a secret"
    if any(re.search(p, value) for p in config.get("secretValuePatterns") or ()):
        return "it matches a known secret format"
    return None


@checks.resource("secrets-not-in-plain-env", CONTAINER_APP)
def container_app_env_uses_secret_refs(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Env values are visible to anyone who can read the app; secrets go in as `secretRef`."""
    for kind in ("containers", "initContainers"):
        for c_index, container in enumerate(_items(r, f"template.{kind}")):
            if not isinstance(container, dict):
                continue
            env = container.get("env")
            for e_index, var in enumerate(env if isinstance(env, list) else []):
                if not isinstance(var, dict):
                    continue
                problem = _secret_env_problem(var.get("name"), var.get("value"), config)
                if problem:
                    yield (
                        f"{r.label}: template.{kind}.{c_index}.env.{e_index}.value ({var.get('name')}) is a plain "
                        f"value but {problem}; use secretRef to a Key Vault-referenced secret"
                    )


@checks.resource("secrets-not-in-plain-env", CONTAINER_APP)
def container_app_secrets_from_key_vault(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """An inline secret `value` lives in the program and its state; a Key Vault reference does not."""
    for index, secret in enumerate(_items(r, "configuration.secrets")):
        if isinstance(secret, dict) and secret.get("value") is not None and secret.get("keyVaultUrl") is None:
            yield (
                f"{r.label}: configuration.secrets.{index} ({secret.get('name')}) has an inline value; "
                "use keyVaultUrl with a managed identity (a Key Vault reference)"
            )


@checks.resource("secrets-not-in-plain-env", APIM_NAMED_VALUE)
def apim_secret_named_values_from_key_vault(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A secret named value with an inline value lives in the program and its state; a Key Vault
    reference is read by the service's identity and rotates in the vault."""
    if r.known("secret") is True and r.known("value") is not None and r.known("keyVault") is None:
        yield (
            f"{r.label}: secret is true with an inline value; use keyVault.secretIdentifier (a Key Vault "
            "reference the service reads with its identity)"
        )


_NAMED_VALUE_REFERENCE = re.compile(r"\{\{[^{}]+\}\}")


@checks.resource("secrets-not-in-plain-env", APIM_LOGGER)
def apim_logger_credentials_by_named_value(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """An inline connection string or instrumentation key is stored in the logger itself; a named
    value reference (``{{name}}``) keeps it in one place, backed by Key Vault."""
    credentials = r.known("credentials")
    if not isinstance(credentials, dict):
        return
    for key in ("connectionString", "instrumentationKey"):
        value = require_known(credentials.get(key), f"credentials.{key}")
        if isinstance(value, str) and not _NAMED_VALUE_REFERENCE.fullmatch(value.strip()):
            yield f"{r.label}: credentials.{key} is an inline value; reference a named value ({{{{name}}}})"


# --- container-hardening, pinned-images -----------------------------------------------------------


def _containers(r: Resource) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, container in enumerate(_items(r, "template.containers")):
        if isinstance(container, dict):
            yield index, container


@checks.resource("container-hardening", CONTAINER_APP)
def container_app_resources(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Without cpu and memory the scheduler can't place or bound the container."""
    for index, container in _containers(r):
        for key in ("cpu", "memory"):
            value = require_known(_at(container, f"resources.{key}"))
            if value in (None, "", 0):
                yield f"{r.label}: template.containers.{index}.resources.{key} is not set; set cpu and memory"


@checks.resource("container-hardening", CONTAINER_APP)
def container_app_probes(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Liveness restarts a hung replica; readiness keeps traffic off one that isn't ready."""
    for index, container in _containers(r):
        probes = _known_list(_at(container, "probes"), f"template.containers.{index}.probes")
        types = {str(require_known(_at(p, "type"))).lower() for p in probes}
        for wanted in ("Liveness", "Readiness"):
            if wanted.lower() not in types:
                yield f"{r.label}: template.containers.{index}.probes has no {wanted} probe; add Liveness and Readiness"


@checks.resource("pinned-images", CONTAINER_APP)
def container_app_image_digest(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """ACR has no immutable tags, so only a digest guarantees the image that was tested is the one that runs."""
    for kind in ("containers", "initContainers"):
        for index, container in enumerate(_items(r, f"template.{kind}")):
            if not isinstance(container, dict):
                continue
            image = require_known(container.get("image"), f"template.{kind}.{index}.image")
            if isinstance(image, str) and "@sha256:" not in image:
                yield f"{r.label}: template.{kind}.{index}.image is {image!r}; pin it by digest (image@sha256:...)"


# --- kms-key-rotation ------------------------------------------------------------------------------


def _rotate_actions(r: Resource) -> list[dict[str, Any]]:
    actions = _items(r, "properties.rotationPolicy.lifetimeActions")
    return [a for a in actions if _is(require_known(_at(a, "action.type")), "rotate")]


def _rotation_period(r: Resource, action: dict[str, Any]) -> tuple[str, Any]:
    """The path and value that bound one rotate action's period."""
    after = require_known(_at(action, "trigger.timeAfterCreate"))
    if after is None and _at(action, "trigger.timeBeforeExpiry") is not None:
        path = "properties.rotationPolicy.attributes.expiryTime"
        return path, r.known(path)
    return "trigger.timeAfterCreate", after


@checks.resource("kms-key-rotation", KEY)
def key_vault_key_rotates(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A key that never rotates protects more data for longer if it leaks."""
    maximum = int(config.get("maximumRotationDays") or 365)
    actions = _rotate_actions(r)
    if not actions:
        yield (
            f"{r.label}: properties.rotationPolicy.lifetimeActions has no 'rotate' action; add one with "
            f"trigger.timeAfterCreate of at most P{maximum}D"
        )
        return
    periods = [_rotation_period(r, action) for action in actions]
    if any((_iso_days(value) or maximum + 1) <= maximum for _, value in periods):
        return
    path, value = periods[0]
    yield f"{r.label}: the rotate action's {path} is {_show(value)}; the rotation period must be at most P{maximum}D"


# --- rate-limiting, request-size-limits (API Management policies) ---------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INBOUND = re.compile(r"<inbound\b[^>]*>(.*?)</inbound\s*>", re.S | re.I)
_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _inbound_elements(r: Resource, element: str) -> list[dict[str, str]]:
    """The attributes of each ``<element>`` in the policy's ``<inbound>`` section (comments ignored)."""
    xml = r.known("value")
    if not isinstance(xml, str):
        return []
    inbound = _INBOUND.search(_COMMENT.sub("", xml))
    if inbound is None:
        return []
    found = []
    for match in re.finditer(rf"<{re.escape(element)}(?=[\s/>])([^>]*)>", inbound.group(1), re.I):
        found.append(
            {
                m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                for m in _ATTRIBUTE.finditer(match.group(1))
            }
        )
    return found


def _inherits(r: Resource) -> bool:
    """An API-scope policy with `<base />` in `<inbound>` applies the service-wide (global) policy."""
    return r.type == APIM_API_POLICY and bool(_inbound_elements(r, "base"))


@checks.resource("rate-limiting", APIM_POLICY, APIM_API_POLICY)
def apim_rate_limit(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Each client gets a bounded number of calls; without it one caller can exhaust the LLM budget."""
    if _inherits(r):
        return
    if not (_inbound_elements(r, "rate-limit-by-key") or _inbound_elements(r, "rate-limit")):
        inherit = " (or `<base />` to inherit the global policy)" if r.type == APIM_API_POLICY else ""
        yield f"{r.label}: value has no <rate-limit-by-key> or <rate-limit> in <inbound>; add one{inherit}"


@checks.resource("request-size-limits", APIM_POLICY, APIM_API_POLICY)
def apim_body_size_limit(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """`validate-content` with `max-size` and `size-exceeded-action="prevent"` rejects oversized bodies early."""
    if _inherits(r):
        return
    maximum = int(config.get("maximumBodyBytes") or 10485760)
    limits = _inbound_elements(r, "validate-content")
    wanted = f'<validate-content max-size="{maximum}" (or less) size-exceeded-action="prevent">'
    if not limits:
        inherit = " (or `<base />` to inherit the global policy)" if r.type == APIM_API_POLICY else ""
        yield f"{r.label}: value has no <validate-content> in <inbound>; add {wanted}{inherit}"
        return
    for limit in limits:
        size = limit.get("max-size")
        action = limit.get("size-exceeded-action")
        if not (size and size.isdigit() and int(size) <= maximum):
            yield f"{r.label}: <validate-content> max-size is {_show(size)}; it must be at most {maximum} bytes"
        elif not _is(action, "prevent"):
            yield f"{r.label}: <validate-content> size-exceeded-action is {_show(action)}; it must be 'prevent'"


@checks.resource("request-size-limits", WAF_POLICY)
def waf_policy_body_limit(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The WAF inspects and bounds request bodies only with requestBodyCheck and enforcement on."""
    maximum = int(config.get("maximumBodyBytes") or 10485760)
    if r.known("policySettings.requestBodyCheck") is not True:
        check = r.get("policySettings.requestBodyCheck")
        yield f"{r.label}: policySettings.requestBodyCheck is {_show(check)}; it must be true"
    if r.known("policySettings.requestBodyEnforcement") is False:
        yield f"{r.label}: policySettings.requestBodyEnforcement is false; it must be true (reject oversized bodies)"
    size_kb = r.known("policySettings.maxRequestBodySizeInKb")
    if not isinstance(size_kb, int | float) or size_kb * 1024 > maximum:
        yield (
            f"{r.label}: policySettings.maxRequestBodySizeInKb is {_show(size_kb)}; it must be at most "
            f"{maximum // 1024} ({maximum} bytes)"
        )


# --- log-retention ---------------------------------------------------------------------------------


@checks.resource("log-retention", WORKSPACE, APP_INSIGHTS)
def retention_days(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Incidents are investigated weeks later; logs must still be there. Unset means the 30/90-day service default."""
    minimum = int(config.get("minimumRetentionDays") or 30)
    value = r.known("retentionInDays")
    effective = value if isinstance(value, int) else (30 if r.type == WORKSPACE else 90)
    if effective < minimum:
        shown = _show(value) if value is not None else f"not set (service default {effective})"
        yield f"{r.label}: retentionInDays is {shown}; it must be at least {minimum}"


# --- stack rules -----------------------------------------------------------------------------------


def _violation(r: Resource, message: str, opt_out: str | None = None) -> Violation:
    """A violation at ``r``; one the named ``opt_out`` may waive when given."""
    text = f"{r.label}: {message}"
    return Violation(Waivable(opt_out, text) if opt_out else text, r.urn)


def _is_prod(r: Resource, config: Mapping[str, Any], stack: Stack) -> bool:
    """Whether ``r`` is prod; unknown tags during preview: can't tell, so not prod (nothing reported)."""
    return not is_unknown(r.get("tags")) and r.is_prod(config, stack)


def _prod(stack: Stack, config: Mapping[str, Any], *types: str) -> Iterator[Resource]:
    """The resources of these types that are prod."""
    return (r for r in stack.of_type(*types) if _is_prod(r, config, stack))


def _points_at(r: Resource, list_path: str, field: str, target: Resource) -> bool:
    """Whether any ``list_path[i].field`` of ``r`` refers to ``target``."""
    entries = r.get(list_path)
    count = len(entries) if isinstance(entries, list) else 0
    return any(r.refers_to(f"{list_path}.{i}.{field}", target) for i in range(max(count, 1)))


@checks.stack("high-availability")
def container_apps_replicas(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """One replica means every deployment and every platform restart is an outage."""
    minimum = int(config.get("minimumReplicas") or 2)
    for r in _prod(stack, config, CONTAINER_APP):
        value = r.get("template.scale.minReplicas")
        if is_unknown(value):
            continue
        if not isinstance(value, int) or value < minimum:
            yield _violation(r, f"template.scale.minReplicas is {_show(value)}; prod needs at least {minimum}")


@checks.stack("high-availability")
def zone_redundant_services(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """A zone outage must not take down the runtime, the cache or the database."""
    for r in _prod(stack, config, MANAGED_ENVIRONMENT):
        if r.get("zoneRedundant") is not True and not is_unknown(r.get("zoneRedundant")):
            yield _violation(r, f"zoneRedundant is {_show(r.get('zoneRedundant'))}; it must be true in prod")
    for r in _prod(stack, config, REDIS):
        zones, policy = r.get("zones"), r.get("zonalAllocationPolicy")
        if is_unknown(zones) or is_unknown(policy):
            continue
        if not (_is(policy, "Automatic") or (isinstance(zones, list) and len(zones) >= 2)):
            yield _violation(
                r, f"zonalAllocationPolicy is {_show(policy)}; prod needs 'Automatic' or at least two zones"
            )
    for r in _prod(stack, config, POSTGRES):
        mode = r.get("highAvailability.mode")
        if not is_unknown(mode) and not _is(mode, "ZoneRedundant"):
            message = f"highAvailability.mode is {_show(mode)}; it must be 'ZoneRedundant' in prod"
            yield _violation(r, message, SINGLE_ZONE_DATABASE)


DIAGNOSABLE = (APP_GATEWAY, APIM_SERVICE, KEY_VAULT, REDIS, POSTGRES, SERVICE_BUS, REGISTRY, OPENAI_ACCOUNT)
"""The architecture's resources whose logs reach Log Analytics only through a diagnostic setting."""


def _sends_logs(setting: Resource) -> bool:
    """A diagnostic setting that sends at least one log category (or group) to a workspace."""
    if setting.get("workspaceId") is None:
        return False
    logs = setting.get("logs")
    if is_unknown(logs):
        return True
    return any(is_unknown(log) or (isinstance(log, dict) and log.get("enabled") is not False) for log in logs or [])


@checks.stack("access-and-flow-logs")
def diagnostic_settings(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Gateway access logs, WAF logs and data-plane audit logs exist only with a diagnostic setting."""
    settings = [s for s in stack.of_type(DIAGNOSTIC_SETTING) if _sends_logs(s)]
    for r in stack.of_type(*DIAGNOSABLE):
        if not any(s.refers_to("resourceUri", r) for s in settings):
            yield _violation(
                r,
                "no monitor:DiagnosticSetting sends its logs to Log Analytics; add one with resourceUri set to it, "
                "workspaceId and an enabled log category",
            )


@checks.stack("access-and-flow-logs")
def container_app_logs(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Without a log destination the environment discards the apps' console and system logs."""
    settings = [s for s in stack.of_type(DIAGNOSTIC_SETTING) if _sends_logs(s)]
    for r in stack.of_type(MANAGED_ENVIRONMENT):
        destination = r.get("appLogsConfiguration.destination")
        if is_unknown(destination):
            continue
        if _is(destination, "log-analytics"):
            if r.get("appLogsConfiguration.logAnalyticsConfiguration.customerId") is None:
                yield _violation(
                    r, "appLogsConfiguration.logAnalyticsConfiguration.customerId is not set; name the workspace"
                )
        elif _is(destination, "azure-monitor"):
            if not any(s.refers_to("resourceUri", r) for s in settings):
                yield _violation(
                    r,
                    "appLogsConfiguration.destination is 'azure-monitor' but no monitor:DiagnosticSetting sends its "
                    "logs to Log Analytics; add one with resourceUri set to it",
                )
        else:
            yield _violation(
                r,
                f"appLogsConfiguration.destination is {_show(destination)}; it must be 'log-analytics' or "
                "'azure-monitor' (with a diagnostic setting)",
            )


@checks.stack("access-and-flow-logs")
def vnet_flow_logs(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Flow logs are the record of who talked to what inside the network."""
    flow_logs = [f for f in stack.of_type(FLOW_LOG) if f.get("enabled") is not False]
    for r in stack.of_type(VIRTUAL_NETWORK):
        if not any(f.refers_to("targetResourceId", r) for f in flow_logs):
            yield _violation(r, "no enabled network:FlowLog has targetResourceId set to it; add a VNet flow log")


def _waf_policy_problems(gateway: Resource, policy: Resource, prod: bool) -> Iterator[str]:
    state, mode = policy.get("policySettings.state"), policy.get("policySettings.mode")
    if _is(state, "Disabled"):
        yield f"its WAF policy {policy.name} has policySettings.state 'Disabled'; it must be 'Enabled'"
    if prod and not is_unknown(mode) and not _is(mode, "Prevention"):
        yield f"its WAF policy {policy.name} has policySettings.mode {_show(mode)}; prod needs 'Prevention'"
    rule_sets = policy.get("managedRules.managedRuleSets")
    if not is_unknown(rule_sets) and not rule_sets:
        yield f"its WAF policy {policy.name} has no managedRules.managedRuleSets; add OWASP 3.2"


@checks.stack("waf-on-entry-points")
def app_gateways_have_waf(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """The Application Gateway is the internet-facing entry point; its WAF blocks OWASP attacks."""
    policies = stack.of_type(WAF_POLICY)
    for gateway in stack.of_type(APP_GATEWAY):
        tier = gateway.get("sku.tier")
        if not is_unknown(tier) and not _is(tier, "WAF_v2"):
            yield _violation(gateway, f"sku.tier is {_show(tier)}; it must be 'WAF_v2'")
        policy = next((p for p in policies if gateway.refers_to("firewallPolicy.id", p)), None)
        if policy is None:
            policy_id = gateway.get("firewallPolicy.id")
            if not is_unknown(policy_id):
                yield _violation(
                    gateway,
                    f"firewallPolicy.id is {_show(policy_id)}; it must name a network:WebApplicationFirewallPolicy "
                    "of the stack",
                )
            continue
        prod = _is_prod(gateway, config, stack)
        for problem in _waf_policy_problems(gateway, policy, prod):
            yield _violation(gateway, problem)


@checks.stack("waf-on-entry-points")
def no_entry_point_bypasses_the_waf(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """API Management and the Container Apps environment must not be reachable from the internet past the WAF."""
    for r in stack.of_type(APIM_SERVICE):
        mode = r.get("virtualNetworkType")
        if not is_unknown(mode) and not _is(mode, "Internal"):
            message = f"virtualNetworkType is {_show(mode)}; it must be 'Internal' (reached only through the WAF)"
            yield _violation(r, message, EXTERNAL_API_MANAGEMENT)
    for r in stack.of_type(MANAGED_ENVIRONMENT):
        internal = r.get("vnetConfiguration.internal")
        if not is_unknown(internal) and internal is not True:
            yield _violation(
                r, f"vnetConfiguration.internal is {_show(internal)}; it must be true (reached only through the WAF)"
            )


PRIVATE_LINKED = (KEY_VAULT, REDIS, SERVICE_BUS, OPENAI_ACCOUNT, REGISTRY)
"""PaaS services the app reaches through a private endpoint."""


def _has_private_endpoint(r: Resource, endpoints: list[Resource]) -> bool:
    return any(
        _points_at(pe, "privateLinkServiceConnections", "privateLinkServiceId", r)
        or _points_at(pe, "manualPrivateLinkServiceConnections", "privateLinkServiceId", r)
        for pe in endpoints
    )


@checks.stack("private-endpoints")
def paas_private_endpoints(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """With public access off, a private endpoint is the only way in (and keeps traffic on the VNet)."""
    endpoints = stack.of_type(PRIVATE_ENDPOINT)
    for r in stack.of_type(*PRIVATE_LINKED):
        if not _has_private_endpoint(r, endpoints):
            yield _violation(
                r,
                "no network:PrivateEndpoint has a privateLinkServiceConnections entry whose privateLinkServiceId is it",
            )
    for r in stack.of_type(POSTGRES):
        if r.get("network.delegatedSubnetResourceId") is None and not _has_private_endpoint(r, endpoints):
            yield _violation(
                r, "network.delegatedSubnetResourceId is not set and no network:PrivateEndpoint points at it"
            )


@checks.stack("private-endpoints")
def private_endpoints_resolve(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Without a private DNS zone group, clients still resolve the service's public address and fail."""
    groups = [g for g in stack.of_type(PRIVATE_DNS_ZONE_GROUP) if not _is_empty_list(g.get("privateDnsZoneConfigs"))]
    for endpoint in stack.of_type(PRIVATE_ENDPOINT):
        if not any(g.refers_to("privateEndpointName", endpoint) for g in groups):
            yield _violation(
                endpoint,
                "no network:PrivateDnsZoneGroup with privateDnsZoneConfigs has privateEndpointName set to it; "
                "link it to the service's private DNS zone",
            )


def _is_empty_list(value: Any) -> bool:
    return not is_unknown(value) and not (isinstance(value, list) and value)


@checks.stack("data-protection")
def key_vault_purge_protection(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Without purge protection a deleted vault (and every key) can be destroyed for good at once."""
    for r in _prod(stack, config, KEY_VAULT):
        value = r.get("properties.enablePurgeProtection")
        if not is_unknown(value) and value is not True:
            yield _violation(r, f"properties.enablePurgeProtection is {_show(value)}; it must be true in prod")


@checks.stack("data-protection")
def postgres_backups_and_lock(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Prod data survives a bad migration (backups) and a mistaken delete (a CanNotDelete lock)."""
    minimum = int(config.get("minimumBackupRetentionDays") or 7)
    locks = [
        lock for lock in stack.of_type(LOCK) if _is(lock.get("level"), "CanNotDelete") or is_unknown(lock.get("level"))
    ]
    for r in _prod(stack, config, POSTGRES):
        days = r.get("backup.backupRetentionDays")
        effective = days if isinstance(days, int) else 7
        if not is_unknown(days) and effective < minimum:
            shown = _show(days) if days is not None else "not set (service default 7)"
            yield _violation(r, f"backup.backupRetentionDays is {shown}; prod needs at least {minimum}")
        if not any(lock.refers_to("scope", r) for lock in locks):
            yield _violation(r, "no authorization:ManagementLockByScope with level 'CanNotDelete' has scope set to it")


# --- facts for budget-and-alerts -------------------------------------------------------------------

LATENCY_METRICS = frozenset(
    m.lower()
    for m in (
        "requests/duration",
        "Duration",
        "BackendDuration",
        "ApplicationGatewayTotalTime",
        "BackendLastByteResponseTime",
        "ResponseTime",
    )
)
ERROR_METRICS = frozenset(m.lower() for m in ("requests/failed", "exceptions/server", "Http5xx"))


@checks.fact("budget")
def consumption_budget(r: Resource) -> bool:
    """A consumption budget with at least one enabled notification to someone."""
    if r.type != BUDGET:
        return False
    notifications = r.get("notifications")
    if is_unknown(notifications):
        return True
    return (
        any(
            isinstance(n, dict)
            and n.get("enabled") is not False
            and any(n.get(k) for k in ("contactEmails", "contactGroups", "contactRoles"))
            for n in (notifications or {}).values()
        )
        if isinstance(notifications, dict)
        else False
    )


def _alert_criteria(r: Resource) -> list[dict[str, Any]] | None:
    """The criteria of an enabled metric alert that notifies an action group; None if unknown (preview)."""
    if r.type != METRIC_ALERT or r.get("enabled") is False:
        return []
    actions = r.get("actions")
    if not is_unknown(actions) and not actions:
        return []
    criteria = r.get("criteria.allOf")
    if is_unknown(criteria) or (isinstance(criteria, list) and any(is_unknown(c) for c in criteria)):
        return None
    return [c for c in criteria if isinstance(c, dict)] if isinstance(criteria, list) else []


def _metric(criterion: dict[str, Any]) -> str:
    name = criterion.get("metricName")
    return name.lower() if isinstance(name, str) else ""


def _alert_on(r: Resource, matches: Callable[[dict[str, Any]], bool]) -> bool:
    """Whether a metric alert has a criterion that ``matches`` (an unknown one may: counted, not reported)."""
    criteria = _alert_criteria(r)
    if criteria is None:
        return True
    return any(is_unknown(c.get("metricName")) or matches(c) for c in criteria)


def _filters_5xx(criterion: dict[str, Any]) -> bool:
    """Whether the criterion's dimensions select 5xx responses (an unknown dimension may: counted)."""
    dimensions = criterion.get("dimensions")
    if is_unknown(dimensions):
        return True
    for dimension in dimensions if isinstance(dimensions, list) else []:
        values = _at(dimension, "values")
        if is_unknown(values):
            return True
        for value in values if isinstance(values, list) else []:
            if is_unknown(value) or (isinstance(value, str) and re.fullmatch(r"5(xx|\d\d)", value, re.I)):
                return True
    return False


@checks.fact("latency-alert")
def latency_metric_alert(r: Resource) -> bool:
    """A metric alert on request duration (App Insights, APIM, App Gateway, Container Apps)."""
    return _alert_on(r, lambda c: _metric(c) in LATENCY_METRICS)


@checks.fact("error-alert")
def error_metric_alert(r: Resource) -> bool:
    """A metric alert on failed requests, or on a request count filtered to 5xx responses."""
    return _alert_on(r, lambda c: _metric(c) in ERROR_METRICS or _filters_5xx(c))
