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
from urllib.parse import quote

import pulumi

from components.spec import PlatformSpec

#: the database user the app signs in as without a password (IAM or managed identity); a
#: migration creates it (see the target's platform for its grant)
APP_DB_USER = "ai_api"


def platform_tags(spec: PlatformSpec, stack: str) -> dict[str, str]:
    return {**spec.tags, "environment": spec.environment, "stack": stack, "managed-by": "pulumi"}


def policy_facts(spec: PlatformSpec) -> dict[str, Any]:
    return {"cloud": spec.cloud, "environment": spec.environment, "optOuts": list(spec.opt_outs)}


@dataclass(frozen=True)
class CacheEndpoint:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    password_secret: str | None = None
    """The secret config key holding the AUTH token, injected as ``APP_REDIS_PASSWORD``."""
    ca_certificate: pulumi.Input[str] | None = None
    """PEM of the private CA that signed the server's certificate (``APP_REDIS_CA_CERT``), when
    the provider's is not a public one (Memorystore signs with a per-instance CA)."""


@dataclass(frozen=True)
class DatabaseEndpoint:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: pulumi.Input[str]
    auth: Literal["iam", "cloudsql"]
    """How the app signs in: ``iam`` (a fresh token per connection, no password anywhere) or
    ``cloudsql`` (the Cloud SQL connector: a client certificate per connection and IAM sign-in;
    ``host`` and ``port`` are then not used, the connector finds the instance by ``instance``)."""
    user: str = APP_DB_USER
    region: str | None = None
    """The region the IAM auth token is signed for."""
    instance: pulumi.Input[str] | None = None
    """The instance's connection name (``cloudsql``: ``project:region:instance``)."""


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
    database: DatabaseEndpoint | None = None,
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
        environment["APP_REDIS_URL"] = pulumi.Output.format("rediss://{0}:{1}/0", cache.host, cache.port)
        if cache.password_secret:
            secrets["APP_REDIS_PASSWORD"] = cache.password_secret
        if cache.ca_certificate is not None:
            environment["APP_REDIS_CA_CERT"] = cache.ca_certificate
    if database is not None and database.auth == "cloudsql":
        # the connector opens the TLS connection (client certificate) and signs in with IAM
        environment["APP_DATABASE_URL"] = pulumi.Output.format(
            "postgresql://{0}@/{1}", quote(database.user, safe=""), database.database
        )
        environment["APP_DATABASE_INSTANCE"] = pulumi.Output.from_input(database.instance or "")
        environment["APP_DATABASE_IAM_AUTH"] = "true"
    elif database is not None:
        # TLS is required; verify-full would also need the provider's CA bundle in the image
        environment["APP_DATABASE_URL"] = pulumi.Output.format(
            "postgresql://{0}@{1}:{2}/{3}?sslmode=require",
            database.user,
            database.host,
            database.port,
            database.database,
        )
        if database.auth == "iam":
            environment["APP_DATABASE_IAM_AUTH"] = "true"
            environment["APP_DATABASE_REGION"] = str(database.region)
    if queue is not None:
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
