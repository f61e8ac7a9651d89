"""The decisions every target makes the same way, written once.

* :func:`platform_tags`: the tag set on every resource (the stack's tags plus environment,
  stack and ``managed-by``); each target applies it in its own style (components.tagging).
* :func:`policy_facts`: what the policy pack reads from the platform component (cloud,
  environment, the insecure opt-outs in force), registered as its inputs and outputs.
* :func:`app_environment`: the app contract: the ``APP_*`` settings (app/settings.py) made
  from the endpoints the platform creates (cache, database and its auth mode, queue), so every
  target hands the app the same configuration.

The environment defaults (HA, replicas, retention, protection) are the spec's
``ENVIRONMENT_DEFAULTS``, resolved by ``PlatformSpec``'s properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pulumi

from components.spec import PlatformSpec, TargetInsecureSpec

#: the database user the app signs in as without a password (IAM or managed identity); a
#: migration creates it (see the target's platform for its grant)
APP_DB_USER = "ai_api"


def platform_tags(spec: PlatformSpec, stack: str) -> dict[str, str]:
    return {**spec.tags, "environment": spec.environment, "stack": stack, "managed-by": "pulumi"}


def policy_facts(spec: PlatformSpec) -> dict[str, Any]:
    """What the pack reads from the platform component; the opt-outs include the target section's
    own (``<target>.insecure``, a :class:`~components.spec.TargetInsecureSpec`)."""
    insecure = getattr(spec.target_section, "insecure", None)
    own = insecure.in_force(spec.cloud) if isinstance(insecure, TargetInsecureSpec) else []
    return {"cloud": spec.cloud, "environment": spec.environment, "optOuts": [*spec.opt_outs, *own]}


@dataclass(frozen=True)
class CacheEndpoint:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    password_secret: str | None = None
    """The secret config key holding the AUTH token, injected as ``APP_REDIS_PASSWORD``."""
    ca_file: str | None = None
    """Path (in the app's container) of the CA that signed a private server certificate."""
    entra: bool = False
    """The app signs in with Entra ID tokens of its managed identity (``APP_REDIS_ENTRA_AUTH``)."""
    ca_certificate: pulumi.Input[str] | None = None
    """PEM of the private CA that signed the server's certificate (``APP_REDIS_CA_CERT``), when
    the provider's is not a public one (Memorystore signs with a per-instance CA)."""


@dataclass(frozen=True)
class DatabaseEndpoint:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: pulumi.Input[str]
    auth: Literal["iam", "certificate", "entra", "cloudsql"]
    """How the app signs in, with no password anywhere: ``iam`` (a fresh signed token per
    connection), ``certificate`` (a TLS client certificate whose common name is the user),
    ``entra`` (a Microsoft Entra ID access token of its managed identity) or ``cloudsql`` (the
    Cloud SQL connector: a client certificate per connection and IAM sign-in; ``host`` and
    ``port`` are then not used, the connector finds the instance by ``instance``)."""
    user: pulumi.Input[str] = APP_DB_USER
    region: str | None = None
    """The region the IAM auth token is signed for."""
    instance: pulumi.Input[str] | None = None
    """The instance's connection name (``cloudsql``: ``project:region:instance``)."""
    ca_file: str | None = None
    """Path of the CA that signed the server's certificate: the app then verifies it (verify-full)."""
    client_certificate: tuple[str, str] | None = None
    """Paths of the client certificate and its key (``certificate`` auth)."""


@dataclass(frozen=True)
class ExternalDatabase:
    """A database outside the platform: its whole DSN (with its password) is a secret config key."""

    url_secret: str


@dataclass(frozen=True)
class QueueEndpoint:
    backend: str
    """The app's name for the queue service (``APP_QUEUE_BACKEND``, one of app/queues' backends)."""
    url: pulumi.Input[str]
    """The queue's address in that backend's form (``APP_QUEUE_URL``)."""
    subscription: pulumi.Input[str] | None = None
    dead_letter_url: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class AppContract:
    environment: dict[str, pulumi.Input[str]]
    """Plain settings."""
    secrets: dict[str, str]
    """Variable -> secret config key; each target turns the key into its secret reference."""


def app_environment(
    spec: PlatformSpec,
    stack: str,
    *,
    cache: CacheEndpoint | None = None,
    database: DatabaseEndpoint | ExternalDatabase | None = None,
    queue: QueueEndpoint | None = None,
) -> AppContract:
    """The app's configuration on every target: the spec's settings, then each endpoint's."""
    environment: dict[str, pulumi.Input[str]] = {
        "APP_PORT": str(spec.app.port),
        "APP_MAX_BODY_BYTES": str(spec.gateway.max_body_bytes),
        "APP_REQUEST_TIMEOUT_S": str(spec.app.timeout_seconds),
        "APP_SERVICE_NAME": f"ai-api-{stack}",
        **spec.app.environment,
    }
    secrets = dict(spec.app.secrets)
    if cache is not None:
        # TLS always; the AUTH token comes from the secret store, never in the URL
        verify = "" if cache.ca_file is None else f"?{urlencode({'ssl_ca_certs': cache.ca_file}, safe='/')}"
        environment["APP_REDIS_URL"] = pulumi.Output.format("rediss://{0}:{1}/0{2}", cache.host, cache.port, verify)
        if cache.password_secret:
            secrets["APP_REDIS_PASSWORD"] = cache.password_secret
        if cache.entra:
            environment["APP_REDIS_ENTRA_AUTH"] = "true"
        if cache.ca_certificate is not None:
            environment["APP_REDIS_CA_CERT"] = cache.ca_certificate
    if isinstance(database, ExternalDatabase):
        secrets["APP_DATABASE_URL"] = database.url_secret
    elif database is not None and database.auth == "cloudsql":
        # the connector opens the TLS connection (client certificate) and signs in with IAM
        environment["APP_DATABASE_URL"] = pulumi.Output.format(
            "postgresql://{0}@/{1}",
            pulumi.Output.from_input(database.user).apply(lambda user: quote(user, safe="")),
            database.database,
        )
        environment["APP_DATABASE_INSTANCE"] = pulumi.Output.from_input(database.instance or "")
        environment["APP_DATABASE_IAM_AUTH"] = "true"
    elif database is not None:
        # TLS is required; verify-full needs the CA (a provider's CA bundle would have to be in the image)
        query: dict[str, str] = {"sslmode": "require"}
        if database.ca_file is not None:
            query = {"sslmode": "verify-full", "sslrootcert": database.ca_file}
        if database.client_certificate is not None:
            query["sslcert"], query["sslkey"] = database.client_certificate
        environment["APP_DATABASE_URL"] = pulumi.Output.format(
            "postgresql://{0}@{1}:{2}/{3}?{4}",
            database.user,
            database.host,
            database.port,
            database.database,
            urlencode(query, safe="/"),
        )
        if database.auth == "iam":
            environment["APP_DATABASE_IAM_AUTH"] = "true"
            environment["APP_DATABASE_REGION"] = str(database.region)
        elif database.auth == "entra":
            environment["APP_DATABASE_ENTRA_AUTH"] = "true"
    if queue is not None:
        environment["APP_JOB_MAX_ATTEMPTS"] = str(spec.queue.max_receive_count)
        environment["APP_WORKER_CONCURRENCY"] = str(spec.queue.worker.concurrency)
        environment["APP_QUEUE_BACKEND"] = queue.backend
        environment["APP_QUEUE_URL"] = queue.url
        if queue.subscription is not None:
            environment["APP_QUEUE_SUBSCRIPTION"] = queue.subscription
        if queue.dead_letter_url is not None:
            environment["APP_QUEUE_DEAD_LETTER_URL"] = queue.dead_letter_url
    return AppContract(environment, secrets)


def secret_references(contract: AppContract, references: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
    """Variable -> the target's reference for each secret of the contract (an ARN, a secret id)."""
    return {variable: references[key] for variable, key in contract.secrets.items()}
