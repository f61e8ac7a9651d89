"""Checks for the gcp target: the production checklist against pulumi-gcp 10.x resource inputs.

Type tokens and camelCase input names are the ones the installed pulumi_gcp SDK sends (note the
SDK's odd casing of some tokens: ``gcp:compute/sSLPolicy:SSLPolicy``, ``gcp:compute/uRLMap:URLMap``).

Decisions, per checklist item:

- encryption-at-rest: GCP always encrypts at rest with Google-managed keys, so the rule asks for
  what the platform controls, a customer-managed key (CMEK), on every data store it creates that
  takes one: Pub/Sub topics (``kmsKeyName``; subscriptions store messages under the topic's key),
  Secret Manager secrets (``replication.auto.customerManagedEncryption.kmsKeyName`` or the same on
  every ``replication.userManaged.replicas[]``), Cloud SQL (``encryptionKeyName``), Memorystore Redis
  (``customerManagedKey``) and Artifact Registry (``kmsKeyName``). Log buckets are left out: CMEK
  on the ``_Default`` bucket is an organisation-level setting, not a bucket input.
- kms-key-rotation: ``rotationPeriod`` on symmetric (``ENCRYPT_DECRYPT``) crypto keys, at most
  ``maximumRotationDays``; other purposes cannot rotate automatically and are skipped.
- tls-in-transit: SSL policies with ``minTlsVersion`` at least the minimum (unset means TLS 1.0)
  and a ``profile`` of MODERN or RESTRICTED (unset means COMPATIBLE, which keeps weak ciphers),
  an ``sslPolicy`` on every HTTPS target proxy (without one the LB accepts TLS 1.0), Cloud SQL
  ``settings.ipConfiguration.sslMode`` ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED,
  Memorystore ``transitEncryptionMode: SERVER_AUTHENTICATION``, https:// push endpoints on Pub/Sub
  subscriptions, and a URL map that redirects (``defaultUrlRedirect``) must redirect to HTTPS.
  That an HTTP target proxy's URL map redirects at all takes two resources: the stack rule
  https-redirect.
- no-public-data-services: Cloud SQL without a public IP (``ipv4Enabled: false``; unset means
  public) and no ``authorizedNetworks``; Memorystore over Private Service Access with AUTH on (it
  has no public IP, so reachability from the VPC is all that guards it); no ``allUsers`` /
  ``allAuthenticatedUsers`` IAM member on registries, topics, subscriptions, secrets and keys.
- rate-limiting / request-size-limits: on Cloud Armor policies (the entry point's edge). A
  ``throttle`` or ``rate_based_ban`` rule; a ``deny`` rule on
  ``int(request.headers['content-length']) > N`` with N at most ``maximumBodyBytes`` (Cloud Armor
  has no body-size setting; that custom rule is the documented way). In prod neither may be in
  ``preview`` (log only); prod is the policy's ``environment`` label (a resource rule sees no
  stack). Edge and network policies (``type``) cannot hold these rules: skipped.
- secrets-not-in-plain-env: Cloud Run v2 ``template.containers[].envs[]`` with a plain ``value``
  whose name or value looks like a secret, or whose value is a secret output.
- no-static-credentials: Cloud SQL users must be IAM users (``type`` CLOUD_IAM_*; BUILT_IN has a
  password), Cloud SQL must enable IAM database authentication (``cloudsql.iam_authentication``).
  Service account keys and HMAC keys are violations by existing; a fixture baseline cannot be
  compliant, so they dispatch through ``gcp:*`` and are tested in tests/policies/test_gcp_rules.py.
- container-hardening: Cloud Run exposes no user, read-only root filesystem, privilege escalation
  or capabilities settings (gVisor/the second-generation sandbox isolates instances), so the rule
  checks what it does expose: ``resources.limits`` cpu and memory (Cloud Run has no requests), an
  explicit ``livenessProbe``, and an explicit ``startupProbe`` or ``readinessProbe`` (Cloud Run
  routes traffic once the startup probe passes; the default is a bare TCP check).
- pinned-images: Cloud Run images pinned by digest (``@sha256:``); one resource cannot show that a
  tag lives in an immutable repository. Artifact Registry Docker repositories set
  ``dockerConfig.immutableTags: true``.
- high-availability (prod): Cloud Run's instance floor (service ``scaling.minInstanceCount`` or
  ``manualInstanceCount``, or ``template.scaling.minInstanceCount``) at least ``minimumReplicas``;
  Memorystore ``tier: STANDARD_HA``; Cloud SQL ``availabilityType: REGIONAL``.
- log-retention: log buckets' ``retentionDays`` (unset: Cloud Logging's default, 30).
- access-and-flow-logs: external backend services log (``logConfig.enable``); every regular
  subnetwork has flow logs (``logConfig``).
- network-isolation: no enabled ingress ``allow`` firewall rule admits 0.0.0.0/0 or ::/0 (an
  ingress rule with no source ranges, tags or service accounts means 0.0.0.0/0).
- waf-on-entry-points: every external backend service has a Cloud Armor ``securityPolicy``; that
  policy has a preconfigured WAF rule (``evaluatePreconfiguredWaf``/``evaluatePreconfiguredExpr``)
  that denies, not in ``preview`` in prod; Cloud Run ingress is internal / LB only (otherwise the
  service is an entry point that bypasses the policy).
- data-protection (prod): Cloud SQL ``deletionProtection`` not false (unset is true),
  ``settings.deletionProtectionEnabled: true``, backups on, ``retainedBackups`` (daily backups, so days) at
  least the minimum (unset: Cloud SQL's 7); Memorystore ``deletionProtection`` not false and RDB
  snapshots (``persistenceConfig.persistenceMode: RDB``).
- least-privilege: no IAM member or binding of any GCP type grants a basic role (``roles/owner``,
  ``roles/editor``, ``roles/viewer``), and no IAM policy's ``policyData`` binds one.
- dead-letter-queues: every Pub/Sub subscription has ``deadLetterPolicy.deadLetterTopic``, except
  one that reads a topic another subscription dead-letters to (it holds the dead letters).
- required-tags: every type in :data:`LABELABLE_TYPES` (generated from the SDK) through ``gcp:*``,
  plus Cloud SQL, whose labels are ``settings.userLabels``; notification channels are read from
  ``userLabels`` (their ``labels`` are the channel's configuration).
- named opt-outs (README "GCP opt-outs"): the conditions a stack may waive by name yield a
  :class:`Waivable` and are declared with ``checks.waive`` beside their check: no CMEK
  (``gcp.googleManagedKeys``), mutable tags (``gcp.mutableTags``), a Cloud SQL public IP without
  authorized networks (``gcp.sqlPublicIp``), public Cloud Run ingress (``gcp.publicIngress``), the
  WAF in preview in prod (``gcp.wafPreview``) and a BASIC cache in prod (``gcp.basicTierCache``).
- budget-and-alerts facts: a billing budget with threshold rules and someone to notify; alert
  policies whose condition filter or query names a latency metric, or the 5xx response class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from policies.framework import (
    SECRET_MARKER,
    CheckSet,
    Resource,
    Stack,
    Violation,
    Waivable,
    is_unknown,
    parse_json,
    require_known,
)
from policies.rules.common import missing_tags
from policies.rules.gcp_labelable import LABELABLE_TYPES

checks = CheckSet("gcp")

RUN_SERVICE = "gcp:cloudrunv2/service:Service"
SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
SQL_USER = "gcp:sql/user:User"
REDIS = "gcp:redis/instance:Instance"
TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
SECRET = "gcp:secretmanager/secret:Secret"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
SECURITY_POLICY = "gcp:compute/securityPolicy:SecurityPolicy"
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
BUDGET = "gcp:billing/budget:Budget"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
HMAC_KEY = "gcp:storage/hmacKey:HmacKey"
NOTIFICATION_CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"

LABEL_PATHS = {SQL_INSTANCE: "settings.userLabels", NOTIFICATION_CHANNEL: "userLabels"}
"""Where resource labels live when Resource.tags would miss or misread them: Cloud SQL nests them, and a
notification channel's ``labels`` are its configuration (``email_address``), its own labels ``userLabels``."""

IAM_MEMBERS = (
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
)
"""IAM members on data services: none may grant the public."""

STATIC_KEY_TYPES = frozenset({SERVICE_ACCOUNT_KEY, HMAC_KEY})
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
SQL_SSL_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
SSL_PROFILES = ("MODERN", "RESTRICTED")
FIREWALL = "gcp:compute/firewall:Firewall"
ANYWHERE = ("0.0.0.0/0", "::/0")
IAM_SQL_USER_TYPES = ("CLOUD_IAM_SERVICE_ACCOUNT", "CLOUD_IAM_USER", "CLOUD_IAM_GROUP")
PRIVATE_RUN_INGRESS = ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")
EXTERNAL_SCHEMES = ("EXTERNAL", "EXTERNAL_MANAGED")
RATE_ACTIONS = ("throttle", "rate_based_ban")
SKIPPED_ARMOR_TYPES = ("CLOUD_ARMOR_EDGE", "CLOUD_ARMOR_NETWORK")
TLS_VERSIONS = {"TLS_1_0": 1.0, "TLS_1_1": 1.1, "TLS_1_2": 1.2, "TLS_1_3": 1.3}
DAY = 86400

_WAF_EXPRESSION = re.compile(r"evaluatePreconfigured(Waf|Expr)\(")
_BODY_LIMIT = re.compile(r"int\(\s*request\.headers\[\s*['\"]content-length['\"]\s*\]\s*\)\s*(>=?)\s*(\d+)")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")
_LATENCY = re.compile(r"latenc", re.I)
_SERVER_ERRORS = re.compile(r"response_code_class\s*(=|==)\s*\"?(5xx|500)\b|response_code\s*>=\s*500", re.I)


def _show(value: Any) -> str:
    """A value as messages quote it: JSON for plain values, ``unset`` for a missing one."""
    if value is None:
        return "unset"
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _items(resource: Resource, path: str) -> list[Any]:
    """A list input as a list (skips the check while it is unknown; missing or malformed is empty)."""
    value = resource.known(path)
    return value if isinstance(value, list) else []


def _sub(value: Any, path: str) -> Any:
    """The value at a dotted path inside an already-read input (None when missing, unknown kept)."""
    return Resource("", value if isinstance(value, dict) else {}).get(path)


# --- encryption at rest (customer-managed keys) -------------------------------------------------


GOOGLE_MANAGED_KEYS = "gcp.googleManagedKeys"
MUTABLE_TAGS = "gcp.mutableTags"
SQL_PUBLIC_IP = "gcp.sqlPublicIp"
PUBLIC_INGRESS = "gcp.publicIngress"
WAF_PREVIEW = "gcp.wafPreview"
BASIC_TIER_CACHE = "gcp.basicTierCache"
"""The GCP section's named opt-outs (``ai-platform:gcp: {insecure: {...}}``) each rule below may waive."""


def _cmek(resource: Resource, path: str, what: str) -> Iterator[str]:
    if resource.known(path) in (None, ""):
        yield Waivable(
            GOOGLE_MANAGED_KEYS,
            f"{resource.label} {path} is unset; {what} must be encrypted with the platform's Cloud KMS key",
        )


checks.waive("encryption-at-rest", GOOGLE_MANAGED_KEYS)


@checks.resource("encryption-at-rest", TOPIC)
def topic_uses_cmek(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Messages rest in the topic's storage; CMEK lets the platform revoke and audit access to them."""
    yield from _cmek(r, "kmsKeyName", "a Pub/Sub topic")


@checks.resource("encryption-at-rest", SQL_INSTANCE)
def sql_uses_cmek(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The vector database holds user documents and embeddings."""
    yield from _cmek(r, "encryptionKeyName", "a Cloud SQL instance")


@checks.resource("encryption-at-rest", REDIS)
def redis_uses_cmek(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The cache holds model responses and rate-limit state."""
    yield from _cmek(r, "customerManagedKey", "a Memorystore instance")


@checks.resource("encryption-at-rest", REPOSITORY)
def repository_uses_cmek(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Images carry the application code and its configuration."""
    yield from _cmek(r, "kmsKeyName", "an Artifact Registry repository")


@checks.resource("encryption-at-rest", SECRET)
def secret_uses_cmek(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Provider keys and passwords: every replica's payload is encrypted with the platform's key."""
    replication = r.known("replication")
    if not isinstance(replication, dict) or ("auto" not in replication and "userManaged" not in replication):
        yield f"{r.label} replication is unset; a secret must set replication with a customerManagedEncryption key"
        return
    if "auto" in replication:
        yield from _cmek(r, "replication.auto.customerManagedEncryption.kmsKeyName", "a secret")
    for index, _ in enumerate(_items(r, "replication.userManaged.replicas")):
        yield from _cmek(
            r, f"replication.userManaged.replicas.{index}.customerManagedEncryption.kmsKeyName", "a secret"
        )


# --- key rotation -------------------------------------------------------------------------------


@checks.resource("kms-key-rotation", CRYPTO_KEY)
def crypto_key_rotates(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A rotated key limits how much data one key version protects; only symmetric keys auto-rotate."""
    if r.known("purpose") not in (None, "ENCRYPT_DECRYPT"):
        return
    maximum = int(config.get("maximumRotationDays", 365))
    period = r.known("rotationPeriod")
    match = _DURATION.match(period) if isinstance(period, str) else None
    if match is None:
        yield (
            f"{r.label} rotationPeriod is {_show(period)}; set a rotation period in seconds "
            f'("<n>s") of at most {maximum} days'
        )
    elif float(match.group(1)) > maximum * DAY:
        days = float(match.group(1)) / DAY
        yield f"{r.label} rotationPeriod is {_show(period)} ({days:g} days); the longest allowed is {maximum} days"


# --- TLS in transit -----------------------------------------------------------------------------


def _allowed_tls(config: Mapping[str, Any]) -> list[str]:
    minimum = float(config.get("minimumTlsVersion", "1.2"))
    return [name for name, version in TLS_VERSIONS.items() if version >= minimum]


@checks.resource("tls-in-transit", SSL_POLICY)
def ssl_policy_minimum_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The load balancer's SSL policy is what refuses old TLS versions and weak ciphers: unset means
    TLS 1.0, and the COMPATIBLE profile (the default) keeps 3DES and RSA key exchange."""
    allowed = _allowed_tls(config)
    version = r.known("minTlsVersion")
    if version not in allowed:
        shown = _show(version) + (" (TLS_1_0 by default)" if version is None else "")
        yield f"{r.label} minTlsVersion is {shown}; allowed: {', '.join(allowed)}"
    profile = r.known("profile")
    if profile not in SSL_PROFILES:
        shown = _show(profile) + (" (COMPATIBLE by default)" if profile is None else "")
        yield f"{r.label} profile is {shown}; allowed: {', '.join(SSL_PROFILES)} (no weak ciphers)"


@checks.resource("tls-in-transit", HTTPS_PROXY)
def https_proxy_has_ssl_policy(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Without an SSL policy a target proxy uses Google's default, which accepts TLS 1.0."""
    if r.known("sslPolicy") in (None, ""):
        yield (
            f"{r.label} sslPolicy is unset (the default policy accepts TLS 1.0); "
            "attach an SSL policy with minTlsVersion TLS_1_2 or newer"
        )


@checks.resource("tls-in-transit", URL_MAP)
def redirect_goes_to_https(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A redirecting URL map (the HTTP side of the LB) must send clients to HTTPS."""
    redirect = r.known("defaultUrlRedirect")
    if isinstance(redirect, dict) and r.known("defaultUrlRedirect.httpsRedirect") is not True:
        value = r.get("defaultUrlRedirect.httpsRedirect")
        yield f"{r.label} defaultUrlRedirect.httpsRedirect is {_show(value)}; a redirect must go to HTTPS (true)"


HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"


@checks.stack("https-redirect")
def http_proxies_only_redirect(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """The HTTP side of a load balancer is a proxy plus a URL map: only the map shows whether port 80
    serves the API in plain text or redirects."""
    maps = stack.of_type(URL_MAP)
    for proxy in stack.of_type(HTTP_PROXY):
        for url_map in (m for m in maps if proxy.refers_to("urlMap", m)):
            redirect = url_map.get("defaultUrlRedirect.httpsRedirect")
            if is_unknown(redirect) or redirect is True:
                continue
            yield Violation(
                f"{proxy.label} serves plain HTTP: its urlMap {url_map.name} has defaultUrlRedirect.httpsRedirect "
                f"{_show(redirect)}; point it at a URL map that redirects to HTTPS",
                proxy.urn,
            )


@checks.resource("tls-in-transit", SQL_INSTANCE)
def sql_requires_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Unset sslMode accepts unencrypted connections."""
    mode = r.known("settings.ipConfiguration.sslMode")
    if mode not in SQL_SSL_MODES:
        yield f"{r.label} settings.ipConfiguration.sslMode is {_show(mode)}; allowed: {', '.join(SQL_SSL_MODES)}"


@checks.resource("tls-in-transit", REDIS)
def redis_requires_tls(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Memorystore speaks plain Redis unless transit encryption is on (set at creation only)."""
    mode = r.known("transitEncryptionMode")
    if mode != "SERVER_AUTHENTICATION":
        yield f"{r.label} transitEncryptionMode is {_show(mode)}; allowed: SERVER_AUTHENTICATION"


@checks.resource("tls-in-transit", SUBSCRIPTION)
def push_endpoint_is_https(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A push subscription delivers every message to its endpoint; over http:// they cross in clear text."""
    endpoint = r.known("pushConfig.pushEndpoint")
    if isinstance(endpoint, str) and not endpoint.lower().startswith("https://"):
        yield f"{r.label} pushConfig.pushEndpoint is {_show(endpoint)}; allowed: an https:// URL"


# --- no public data services --------------------------------------------------------------------


@checks.resource("no-public-data-services", SQL_INSTANCE)
def sql_has_no_public_ip(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Cloud SQL gets a public IP unless ipv4Enabled is false; authorized networks open it further."""
    if r.known("settings.ipConfiguration.ipv4Enabled") is not False:
        value = r.get("settings.ipConfiguration.ipv4Enabled")
        shown = _show(value) + (" (a public IP by default)" if value is None else "")
        yield Waivable(
            SQL_PUBLIC_IP,
            f"{r.label} settings.ipConfiguration.ipv4Enabled is {shown}; allowed: false (private IP only)",
        )
    networks = _items(r, "settings.ipConfiguration.authorizedNetworks")
    if networks:
        values = [_sub(n, "value") for n in networks]
        yield (
            f"{r.label} settings.ipConfiguration.authorizedNetworks is {_show(values)}; "
            "allowed: none (reach the instance over its private IP)"
        )


checks.waive("no-public-data-services", SQL_PUBLIC_IP)


@checks.resource("no-public-data-services", REDIS)
def redis_is_private(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The cache is reached over Private Service Access and, since any VPC host can reach it, needs AUTH."""
    mode = r.known("connectMode")
    if mode != "PRIVATE_SERVICE_ACCESS":
        shown = _show(mode) + (" (DIRECT_PEERING by default)" if mode is None else "")
        yield f"{r.label} connectMode is {shown}; allowed: PRIVATE_SERVICE_ACCESS"
    if r.known("authEnabled") is not True:
        yield f"{r.label} authEnabled is {_show(r.get('authEnabled'))}; allowed: true (clients must AUTH)"


@checks.resource("no-public-data-services", *IAM_MEMBERS)
def iam_member_is_not_public(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """allUsers / allAuthenticatedUsers opens a registry, queue, secret or key to anyone."""
    member = r.known("member")
    if member in PUBLIC_MEMBERS:
        yield f"{r.label} member is {_show(member)}; grant roles to named principals, not {' or '.join(PUBLIC_MEMBERS)}"


# --- rate and size limits (Cloud Armor) ---------------------------------------------------------


def _armor_rules(r: Resource) -> list[tuple[int, Resource]] | None:
    """The policy's rules as views with their index, or None for types that cannot hold these rules.

    A rule whose action or expression is unknown skips the check: it might be the one asked for.
    """
    if r.known("type") in SKIPPED_ARMOR_TYPES:
        return None
    rules = []
    for index, rule in enumerate(_items(r, "rules")):
        view = Resource(r.type, require_known(rule, f"rules.{index}") or {}, r.urn, r.name)
        view.known("action")
        view.known("match.expr.expression")
        rules.append((index, view))
    return rules


def _in_preview(rule: Resource) -> bool:
    return rule.get("preview") is True


@checks.resource("rate-limiting", SECURITY_POLICY)
def armor_rate_limits(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Per-client throttling keeps one client from exhausting the model budget; in prod it must act."""
    rules = _armor_rules(r)
    if rules is None:
        return
    limiting = [(i, rule) for i, rule in rules if rule.get("action") in RATE_ACTIONS]
    if not limiting:
        yield f"{r.label} rules has no throttle or rate_based_ban rule; add a per-client rate limit"
        return
    if r.is_prod(config) and all(_in_preview(rule) for _, rule in limiting):
        index = limiting[0][0]
        yield f"{r.label} rules.{index}.preview is true; in prod the rate limit must enforce, not only log"


def _body_limit(rule: Resource) -> int | None:
    """The byte limit a deny rule puts on Content-Length, or None if it is not such a rule."""
    action = rule.get("action")
    expression = rule.get("match.expr.expression")
    if not (isinstance(action, str) and action.startswith("deny") and isinstance(expression, str)):
        return None
    match = _BODY_LIMIT.search(expression)
    if match is None:
        return None
    return int(match.group(2)) - (1 if match.group(1) == ">=" else 0)


@checks.resource("request-size-limits", SECURITY_POLICY)
def armor_limits_body_size(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Oversized bodies cost tokens and memory; Cloud Armor bounds them with a Content-Length rule."""
    rules = _armor_rules(r)
    if rules is None:
        return
    maximum = int(config.get("maximumBodyBytes", 10485760))
    limits = [(i, rule, limit) for i, rule in rules if (limit := _body_limit(rule)) is not None]
    if not limits:
        yield (
            f"{r.label} rules has no deny rule on int(request.headers['content-length']) > N; "
            f"add one with N at most {maximum} bytes"
        )
        return
    index, rule, limit = min(limits, key=lambda item: item[2])
    if limit > maximum:
        yield f"{r.label} rules.{index} allows bodies of {limit} bytes; the largest allowed limit is {maximum} bytes"
    elif r.is_prod(config) and _in_preview(rule):
        yield f"{r.label} rules.{index}.preview is true; in prod the body-size limit must enforce, not only log"


# --- Cloud Run: secrets, hardening, images ------------------------------------------------------


def _containers(r: Resource) -> list[tuple[str, Resource]]:
    """Each container as its own view (so ``known`` and ``get`` work inside it), with its path."""
    found = []
    for index, container in enumerate(_items(r, "template.containers")):
        path = f"template.containers.{index}"
        if isinstance(require_known(container, path), dict):
            found.append((path, Resource(r.type, container, r.urn, r.name)))
    return found


def _matches_any(patterns: Any, text: str) -> bool:
    return any(re.search(p, text) for p in patterns or () if isinstance(p, str))


def _plain_env(container: Resource) -> Iterator[tuple[int, str, str]]:
    """(index, name, value) of the env entries with a known plain value."""
    envs = container.known("envs")
    for index, env in enumerate(envs if isinstance(envs, list) else []):
        name, value = _sub(env, "name"), _sub(env, "value")
        if isinstance(name, str) and isinstance(value, str) and not is_unknown(name) and not is_unknown(value):
            yield index, name, value


@checks.resource("secrets-not-in-plain-env", RUN_SERVICE)
def run_env_has_no_plain_secrets(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A plain env value is readable by anyone who can view the revision; secrets go through valueSource."""
    names = config.get("secretNamePatterns") or ()
    values = config.get("secretValuePatterns") or ()
    for prefix, container in _containers(r):
        for index, name, value in _plain_env(container):
            path = f"{prefix}.envs.{index}.value"
            if value == SECRET_MARKER:
                yield f"{r.label} {path} ({name}) is a secret output in a plain value; use valueSource.secretKeyRef"
            elif _matches_any(names, name):
                yield f"{r.label} {path} ({name}) is a plain value for a secret name; use valueSource.secretKeyRef"
            elif _matches_any(values, value):
                yield f"{r.label} {path} ({name}) looks like a credential; use valueSource.secretKeyRef"


def _serves_traffic(container: Resource, count: int) -> bool:
    """The ingress container: the one that declares ports, or the only one."""
    return count == 1 or container.get("ports") is not None


@checks.resource("container-hardening", RUN_SERVICE)
def run_containers_hardened(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Limits bound a noisy instance; probes let Cloud Run route only to, and restart, healthy ones."""
    containers = _containers(r)
    for prefix, container in containers:
        for key in ("cpu", "memory"):
            if container.known(f"resources.limits.{key}") in (None, ""):
                yield f"{r.label} {prefix}.resources.limits.{key} is unset; set a {key} limit"
        if not _serves_traffic(container, len(containers)):
            continue
        if container.known("livenessProbe") is None:
            yield f"{r.label} {prefix}.livenessProbe is unset; add a liveness probe (httpGet /health)"
        if container.known("startupProbe") is None and container.known("readinessProbe") is None:
            yield (
                f"{r.label} {prefix}.startupProbe is unset (and no readinessProbe); "
                "add a startup or readiness probe (httpGet /ready)"
            )


@checks.resource("pinned-images", RUN_SERVICE)
def run_images_pinned(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A tag can move after review; a digest is the image that was tested."""
    for prefix, container in _containers(r):
        image = container.known("image")
        if isinstance(image, str) and "@sha256:" not in image:
            yield f"{r.label} {prefix}.image is {_show(image)}; pin it by digest (<image>@sha256:<digest>)"


@checks.resource("pinned-images", REPOSITORY)
def repository_tags_immutable(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Immutable tags make a tag as good as a digest: no one can push over a deployed tag."""
    if r.known("format") not in (None, "DOCKER"):
        return
    if r.known("dockerConfig.immutableTags") is not True:
        value = r.get("dockerConfig.immutableTags")
        yield Waivable(MUTABLE_TAGS, f"{r.label} dockerConfig.immutableTags is {_show(value)}; allowed: true")


checks.waive("pinned-images", MUTABLE_TAGS)


# --- static credentials -------------------------------------------------------------------------


@checks.resource("no-static-credentials", SQL_USER)
def sql_user_is_iam(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """A BUILT_IN user has a password to store and rotate; IAM users log in with their identity."""
    kind = r.known("type")
    if kind not in IAM_SQL_USER_TYPES:
        shown = _show(kind) + (" (BUILT_IN, a password user, by default)" if kind is None else "")
        yield f"{r.label} type is {shown}; allowed: {', '.join(IAM_SQL_USER_TYPES)}"


@checks.resource("no-static-credentials", SQL_INSTANCE)
def sql_accepts_iam_auth(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """The app's service account signs in with IAM database authentication instead of a password."""
    version = r.known("databaseVersion")
    if isinstance(version, str) and not version.startswith(("POSTGRES", "MYSQL")):
        return
    flags = {}
    for index, flag in enumerate(_items(r, "settings.databaseFlags")):
        path = f"settings.databaseFlags.{index}.name"
        flags[require_known(_sub(require_known(flag, path), "name"), path)] = _sub(flag, "value")
    value = require_known(flags.get("cloudsql.iam_authentication"), "settings.databaseFlags")
    if value != "on":
        yield (
            f"{r.label} settings.databaseFlags cloudsql.iam_authentication is {_show(value)}; "
            'allowed: "on" (IAM database authentication)'
        )


@checks.resource("no-static-credentials", "gcp:*")
def no_static_keys(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Service account and HMAC keys are long-lived secrets; workloads use their attached identity."""
    if r.type in STATIC_KEY_TYPES:
        kind = "a service account key" if r.type == SERVICE_ACCOUNT_KEY else "an HMAC key"
        yield (
            f"{r.label} creates {kind}, a static credential; use the workload's service account "
            "(Cloud Run identity, Workload Identity Federation) instead"
        )


# --- least privilege ----------------------------------------------------------------------------


BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
_IAM_GRANTS = ("iammember", "iambinding")


@checks.resource("least-privilege", "gcp:*")
def no_basic_roles(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Basic roles reach every service in their scope (editor writes to all of them): one leaked
    identity then owns the project. Members and bindings name a ``role``; policies list ``bindings``."""
    kind = r.type.rsplit(":", 1)[-1].lower()
    if kind.endswith(_IAM_GRANTS):
        role = r.known("role")
        if role in BASIC_ROLES:
            refused = ", ".join(BASIC_ROLES)
            yield f"{r.label} role is {_show(role)}; grant a predefined role (basic roles {refused} are refused)"
    elif kind.endswith("iampolicy"):
        policy = parse_json(r.known("policyData"))
        bindings = policy.get("bindings") if isinstance(policy, dict) else None
        roles = [b.get("role") for b in bindings if isinstance(b, dict)] if isinstance(bindings, list) else []
        basic = [role for role in roles if role in BASIC_ROLES]
        if basic:
            yield f"{r.label} policyData binds {_show(basic)}; grant predefined roles (basic roles are refused)"


# --- log retention ------------------------------------------------------------------------------


@checks.resource("log-retention", LOG_BUCKET)
def log_bucket_retention(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Incident investigation and audits need the logs of the last weeks."""
    minimum = int(config.get("minimumRetentionDays", 30))
    days = r.known("retentionDays")
    effective = 30 if days is None else days
    if isinstance(effective, int | float) and effective < minimum:
        shown = _show(days) + (" (30 days by default)" if days is None else "")
        yield f"{r.label} retentionDays is {shown}; the shortest allowed is {minimum} days"


# --- required labels ----------------------------------------------------------------------------


@checks.resource("required-tags", "gcp:*")
def labelable_resources_labelled(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Owner and cost center make every resource attributable (types from the SDK, see gcp_labelable)."""
    if r.type in LABELABLE_TYPES and r.type not in LABEL_PATHS:
        yield from missing_tags(r, config)


@checks.resource("required-tags", *LABEL_PATHS)
def labels_elsewhere(r: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    """Types whose resource labels are not where Resource.tags looks first (see LABEL_PATHS)."""
    labels = r.known(LABEL_PATHS[r.type])
    view = Resource(r.type, {"labels": labels if isinstance(labels, dict) else {}}, r.urn, r.name)
    yield from missing_tags(view, config)


# --- stack rules --------------------------------------------------------------------------------


def _is_external(backend: Resource) -> bool:
    scheme = backend.get("loadBalancingScheme")
    return scheme is None or scheme in EXTERNAL_SCHEMES


RUN_INSTANCE_FLOORS = ("scaling.minInstanceCount", "scaling.manualInstanceCount", "template.scaling.minInstanceCount")
"""Where a Cloud Run service says how many instances it keeps: service-level minimum or manual count, or the
revision template's minimum; the largest applies."""


def _min_instances(service: Resource) -> int | None:
    """The instance floor, or None while one of its inputs is unknown."""
    counts = [service.get(path) for path in RUN_INSTANCE_FLOORS]
    if any(is_unknown(c) for c in counts):
        return None
    known = [c for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    return int(max(known, default=0))


@checks.stack("high-availability")
def prod_is_highly_available(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """In prod a zone outage must not take the API, the cache or the database down."""
    minimum = int(config.get("minimumReplicas", 2))
    for svc in stack.of_type(RUN_SERVICE):
        floor = _min_instances(svc)
        if floor is not None and floor < minimum and svc.is_prod(config, stack):
            value = svc.get("template.scaling.minInstanceCount")
            yield Violation(
                f"{svc.label} template.scaling.minInstanceCount is {_show(value)}; prod needs at least {minimum}",
                svc.urn,
            )
    for redis in stack.of_type(REDIS):
        tier = redis.get("tier")
        if redis.is_prod(config, stack) and not is_unknown(tier) and tier != "STANDARD_HA":
            yield Violation(
                Waivable(BASIC_TIER_CACHE, f"{redis.label} tier is {_show(tier)}; prod needs STANDARD_HA"), redis.urn
            )
    for sql in stack.of_type(SQL_INSTANCE):
        availability = sql.get("settings.availabilityType")
        if sql.is_prod(config, stack) and not is_unknown(availability) and availability != "REGIONAL":
            shown = _show(availability) + (" (ZONAL by default)" if availability is None else "")
            yield Violation(f"{sql.label} settings.availabilityType is {shown}; prod needs REGIONAL", sql.urn)


checks.waive("high-availability", BASIC_TIER_CACHE)


def _open_to_anyone(firewall: Resource) -> bool | None:
    """Whether an enabled ingress allow rule admits every address (None while an input is unknown).
    An ingress rule with no source ranges, tags or service accounts applies to 0.0.0.0/0."""
    direction, disabled, allows, ranges = (
        firewall.get(key) for key in ("direction", "disabled", "allows", "sourceRanges")
    )
    sources = [firewall.get(key) for key in ("sourceTags", "sourceServiceAccounts")]
    if any(is_unknown(v) for v in (direction, disabled, allows, ranges, *sources)):
        return None
    if direction not in (None, "INGRESS") or disabled is True or not allows:
        return False
    if not ranges:
        return not any(sources)
    return any(cidr in ANYWHERE for cidr in ranges)


@checks.stack("network-isolation")
def no_firewall_allows_the_internet(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Ingress is denied by default; allows name their sources (Google's load-balancer and health-check
    ranges for the platform), never the whole internet."""
    for firewall in stack.of_type(FIREWALL):
        if _open_to_anyone(firewall):
            ranges = firewall.get("sourceRanges")
            shown = _show(ranges) + (" (0.0.0.0/0 by default)" if not ranges else "")
            yield Violation(
                f"{firewall.label} allows ingress from sourceRanges {shown}; allow only named sources "
                "(e.g. Google's load-balancer ranges 35.191.0.0/16, 130.211.0.0/22)",
                firewall.urn,
            )


@checks.stack("dead-letter-queues")
def subscriptions_dead_letter(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Without a dead-letter policy a message the worker keeps failing on is redelivered until the
    retention period drops it: retries burn model calls and the job is lost without a trace."""
    subscriptions = stack.of_type(SUBSCRIPTION)
    dead_letters = [
        topic
        for topic in stack.of_type(TOPIC)
        if any(
            s.get("deadLetterPolicy.deadLetterTopic") not in (None, "")
            for s in stack.referring(topic, SUBSCRIPTION, "deadLetterPolicy.deadLetterTopic")
        )
    ]
    for sub in subscriptions:
        target = sub.get("deadLetterPolicy.deadLetterTopic")
        if is_unknown(target) or target not in (None, ""):
            continue
        if any(sub.refers_to("topic", topic) for topic in dead_letters):
            continue  # it reads the dead letters themselves
        yield Violation(
            f"{sub.label} deadLetterPolicy is unset; give it a dead-letter topic and maxDeliveryAttempts "
            "(5 by default)",
            sub.urn,
        )


@checks.stack("access-and-flow-logs")
def load_balancers_and_subnets_log(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Access logs show who called the API; flow logs show what moved inside the network."""
    for backend in stack.of_type(BACKEND_SERVICE):
        enabled = backend.get("logConfig.enable")
        if _is_external(backend) and not is_unknown(enabled) and enabled is not True:
            yield Violation(
                f"{backend.label} logConfig.enable is {_show(enabled)}; external backend services must log requests",
                backend.urn,
            )
    for subnet in stack.of_type(SUBNETWORK):
        purpose = subnet.get("purpose")
        log_config = subnet.get("logConfig")
        if purpose in (None, "PRIVATE") and log_config is None:
            yield Violation(f"{subnet.label} logConfig is unset; enable VPC flow logs on the subnetwork", subnet.urn)


def _waf_rules(policy: Resource) -> list[tuple[int, Resource]] | None:
    """The policy's enforcing preconfigured WAF rules, or None while a rule is not known yet."""
    rules = policy.get("rules")
    if is_unknown(rules):
        return None
    found = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        view = Resource(policy.type, rule if isinstance(rule, dict) else {}, policy.urn, policy.name)
        expression, action = view.get("match.expr.expression"), view.get("action")
        if is_unknown(rule) or is_unknown(expression) or is_unknown(action):
            return None
        if isinstance(expression, str) and _WAF_EXPRESSION.search(expression) and str(action).startswith("deny"):
            found.append((index, view))
    return found


def _policy_problems(policy: Resource, stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    waf = _waf_rules(policy)
    if waf is None:
        return
    if not waf:
        yield Violation(
            f"{policy.label} rules has no preconfigured WAF rule (evaluatePreconfiguredWaf with a deny action); "
            "add the OWASP rule sets",
            policy.urn,
        )
    elif policy.is_prod(config, stack) and all(_in_preview(rule) for _, rule in waf):
        message = f"{policy.label} rules.{waf[0][0]}.preview is true; in prod the WAF must block"
        yield Violation(Waivable(WAF_PREVIEW, message), policy.urn)


@checks.stack("waf-on-entry-points")
def entry_points_behind_cloud_armor(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every way in from the internet passes a Cloud Armor policy that blocks the OWASP top ten."""
    policies = stack.of_type(SECURITY_POLICY)
    attached: dict[str, Resource] = {}
    for backend in stack.of_type(BACKEND_SERVICE):
        if not _is_external(backend):
            continue
        if backend.get("securityPolicy") in (None, ""):
            yield Violation(
                f"{backend.label} securityPolicy is unset; attach a Cloud Armor policy to every external backend "
                "service",
                backend.urn,
            )
            continue
        attached.update({p.urn: p for p in policies if backend.refers_to("securityPolicy", p)})
    for policy in attached.values():
        yield from _policy_problems(policy, stack, config)
    for svc in stack.of_type(RUN_SERVICE):
        ingress = svc.get("ingress")
        if not is_unknown(ingress) and ingress not in PRIVATE_RUN_INGRESS:
            shown = _show(ingress) + (" (INGRESS_TRAFFIC_ALL by default)" if ingress is None else "")
            message = (
                f"{svc.label} ingress is {shown}; allowed: {', '.join(PRIVATE_RUN_INGRESS)} (reach it through the "
                "load balancer and its Cloud Armor policy)"
            )
            yield Violation(Waivable(PUBLIC_INGRESS, message), svc.urn)


checks.waive("waf-on-entry-points", PUBLIC_INGRESS, WAF_PREVIEW)


def _sql_protection(sql: Resource, minimum: int) -> Iterator[str]:
    if sql.get("deletionProtection") is False:
        yield f"{sql.label} deletionProtection is false; prod databases keep deletion protection on"
    protected = sql.get("settings.deletionProtectionEnabled")
    if protected is not True and not is_unknown(protected):
        yield f"{sql.label} settings.deletionProtectionEnabled is {_show(protected)}; prod databases need true"
    enabled = sql.get("settings.backupConfiguration.enabled")
    if enabled is not True and not is_unknown(enabled):
        yield f"{sql.label} settings.backupConfiguration.enabled is {_show(enabled)}; prod databases need backups"
        return
    retained = sql.get("settings.backupConfiguration.backupRetentionSettings.retainedBackups")
    effective = 7 if retained is None else retained
    if isinstance(effective, int | float) and effective < minimum:
        shown = _show(retained) + (" (7 by default)" if retained is None else "")
        yield (
            f"{sql.label} settings.backupConfiguration.backupRetentionSettings.retainedBackups is {shown}; "
            f"prod keeps at least {minimum} daily backups"
        )


def _redis_protection(redis: Resource) -> Iterator[str]:
    if redis.get("deletionProtection") is False:
        yield f"{redis.label} deletionProtection is false; prod caches keep deletion protection on"
    mode = redis.get("persistenceConfig.persistenceMode")
    if not is_unknown(mode) and mode != "RDB":
        yield f"{redis.label} persistenceConfig.persistenceMode is {_show(mode)}; prod caches need RDB snapshots"


@checks.stack("data-protection")
def prod_data_is_protected(stack: Stack, config: Mapping[str, Any]) -> Iterator[Violation]:
    """A mistaken destroy or a bad migration must be recoverable in prod."""
    minimum = int(config.get("minimumBackupRetentionDays", 7))
    for sql in stack.of_type(SQL_INSTANCE):
        if sql.is_prod(config, stack):
            yield from (Violation(m, sql.urn) for m in _sql_protection(sql, minimum))
    for redis in stack.of_type(REDIS):
        if redis.is_prod(config, stack):
            yield from (Violation(m, redis.urn) for m in _redis_protection(redis))


# --- facts for budget-and-alerts ----------------------------------------------------------------


@checks.fact("budget")
def is_budget_with_notifications(r: Resource) -> bool:
    """A billing budget that alerts someone: threshold rules, and IAM recipients or channels.

    Facts read with ``known``: an unknown input skips budget-and-alerts rather than failing it.
    """
    if r.type != BUDGET:
        return False
    thresholds = r.known("thresholdRules")
    if not (isinstance(thresholds, list) and thresholds):
        return False
    if r.known("allUpdatesRule") is None:
        return True
    default_recipients = r.known("allUpdatesRule.disableDefaultIamRecipients") is not True
    channels = r.known("allUpdatesRule.monitoringNotificationChannels")
    topic = r.known("allUpdatesRule.pubsubTopic")
    return default_recipients or bool(channels) or bool(topic)


def _alert_texts(r: Resource) -> list[str]:
    """The filters and queries of an enabled alert policy's conditions."""
    if r.type != ALERT_POLICY or r.known("enabled") is False:
        return []
    texts = []
    for index, _ in enumerate(_items(r, "conditions")):
        for path in (
            "conditionThreshold.filter",
            "conditionMonitoringQueryLanguage.query",
            "conditionPrometheusQueryLanguage.query",
        ):
            text = r.known(f"conditions.{index}.{path}")
            if isinstance(text, str):
                texts.append(text)
    return texts


@checks.fact("latency-alert")
def is_latency_alert(r: Resource) -> bool:
    """Cloud Run request_latencies or the load balancer's total/backend latencies."""
    return any(_LATENCY.search(text) for text in _alert_texts(r))


@checks.fact("error-alert")
def is_error_alert(r: Resource) -> bool:
    """Cloud Run response_code_class "5xx" or the load balancer's response_code_class 500."""
    return any(_SERVER_ERRORS.search(text) for text in _alert_texts(r))
