"""Every runtime setting, read from APP_* environment variables and validated at start-up.

Errors name the environment variable, the value given and what is allowed, so a
misconfigured deployment fails fast with a message an operator can act on.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "APP_"

# libpq sslmode values that guarantee TLS (IAM auth tokens must never travel in clear text)
TLS_SSLMODES = ("require", "verify-ca", "verify-full")
PLAIN_SSLMODES = ("disable", "allow", "prefer")


class SettingsError(RuntimeError):
    """Raised when the environment does not describe a valid configuration."""


class Settings(BaseSettings):
    """Runtime configuration; field `foo` is read from env var `APP_FOO`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Server
    host: str = "0.0.0.0"  # noqa: S104 - a container must listen on all interfaces
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    forwarded_allow_ips: str = "127.0.0.1"
    graceful_shutdown_s: int = Field(30, ge=0, le=3600)
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    # false where the runtime buffers whole responses (AWS Lambda behind API Gateway): stream=true is a 400
    response_streaming: bool = True

    # Providers and routing
    routing_file: Path | None = None
    routing: str | None = None
    dev_provider: bool = False

    # Upstream HTTP
    connect_timeout_s: float = Field(5.0, gt=0, le=120)
    read_timeout_s: float = Field(60.0, gt=0, le=900)
    request_timeout_s: float = Field(120.0, gt=0, le=3600)
    max_connections: int = Field(200, ge=1, le=10_000)

    # Retries and circuit breaking
    max_retries: int = Field(2, ge=0, le=10)
    backoff_base_s: float = Field(0.25, ge=0, le=60)
    backoff_max_s: float = Field(8.0, ge=0, le=300)
    max_retry_wait_s: float = Field(10.0, ge=0, le=300)
    breaker_failure_threshold: int = Field(5, ge=1, le=1000)
    breaker_reset_s: float = Field(30.0, gt=0, le=3600)

    # Auto (cascade) routing rule thresholds, in estimated tokens (4 characters a token)
    auto_small_max_tokens: int = Field(500, ge=0)
    auto_large_min_tokens: int = Field(3000, ge=1)
    auto_large_min_messages: int = Field(8, ge=1)

    # Access
    auth_required: bool = True
    api_keys_sha256: SecretStr | None = None
    api_keys_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: str = "RS256,ES256"

    # Limits (0 disables a limit)
    redis_url: SecretStr | None = None
    redis_password: SecretStr | None = None  # the AUTH token, kept out of the URL (e.g. from a secret store)
    redis_ca_cert: str | None = None  # PEM CA of a rediss:// server signed by a private CA (e.g. Memorystore)
    rpm_per_key: int = Field(600, ge=0)
    tpm_per_key: int = Field(200_000, ge=0)
    rpm_per_ip: int = Field(600, ge=0)
    tpm_per_ip: int = Field(200_000, ge=0)
    daily_budget_usd_per_key: float = Field(0.0, ge=0)

    # Vector DB (PostgreSQL with pgvector): document storage and search, off unless set
    database_url: SecretStr | None = None
    database_iam_auth: bool = False  # IAM sign-in: RDS/Aurora auth tokens, or Cloud SQL IAM users (with the instance)
    database_instance: str | None = None  # Cloud SQL project:region:instance: connect through the Cloud SQL connector
    database_region: str | None = None
    aws_region: str | None = Field(None, validation_alias="AWS_REGION")  # the fallback for APP_DATABASE_REGION
    # Microsoft Entra ID: PostgreSQL and Redis sign in with the managed identity's tokens (app/entra.py)
    database_entra_auth: bool = False
    redis_entra_auth: bool = False
    azure_client_id: str | None = Field(None, validation_alias="AZURE_CLIENT_ID")  # a user-assigned identity
    embedding_model: str | None = None
    embedding_dim: int = Field(1536, ge=1, le=16_000)

    # Cache
    cache_ttl_s: int = Field(300, ge=0, le=30 * 86400)

    # Retrieval-augmented generation and the semantic cache (app/retrieval/)
    chunk_size: int = Field(1000, ge=100, le=20_000)  # characters per chunk
    chunk_overlap: int = Field(150, ge=0, le=10_000)  # characters shared by neighbouring chunks
    max_chunks_per_request: int = Field(512, ge=1, le=10_000)
    retrieval_cache_ttl_s: int = Field(300, ge=0, le=30 * 86400)  # query embeddings and results in Redis
    semantic_cache: bool = False
    semantic_cache_threshold: float = Field(0.9, gt=0, le=1)  # cosine similarity for a hit
    semantic_cache_ttl_s: int = Field(3600, ge=1, le=30 * 86400)
    semantic_cache_max_entries: int = Field(1000, ge=1, le=1_000_000)  # per caller
    semantic_cache_max_chars: int = Field(1000, ge=1, le=100_000)  # longer questions are not cached
    semantic_cache_any_temperature: bool = False  # also cache sampled (temperature > 0) answers

    @model_validator(mode="after")
    def _check_retrieval(self) -> "Settings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"APP_CHUNK_OVERLAP ({self.chunk_overlap}) must be below APP_CHUNK_SIZE ({self.chunk_size})"
            )
        if self.semantic_cache and self.database_url is None:
            raise ValueError("APP_SEMANTIC_CACHE=true needs APP_DATABASE_URL (the cache lives in pgvector)")
        return self

    # Observability
    service_name: str = "ai-api"
    otlp_endpoint: str | None = None

    # Conversation memory (session_id): recent turns in Redis (hot), idle sessions in PostgreSQL (warm).
    # On whenever APP_REDIS_URL is set; the warm tier needs APP_DATABASE_URL too. See app/memory/.
    memory_enabled: bool = True
    memory_token_budget: int = Field(4000, ge=64, le=1_000_000)  # estimated prompt tokens per request
    memory_recent_turns: int = Field(8, ge=2, le=500)  # verbatim turns kept; twice as many trigger a summary
    memory_max_turns: int = Field(200, ge=4, le=10_000)  # hard cap on verbatim turns if summaries keep failing
    memory_summary_model: str | None = None  # default: the small tier (else the next larger), else default_model
    memory_summary_max_tokens: int = Field(400, ge=16, le=4000)
    memory_session_ttl_s: int = Field(30 * 86400, ge=1, le=366 * 86400)  # idle time after which a session is gone
    memory_hot_idle_s: float = Field(900.0, gt=0, le=30 * 86400)  # idle time after which Redis hands it to PostgreSQL
    memory_sweep_s: float = Field(60.0, gt=0, le=3600)  # how often each replica looks for idle sessions

    # Async jobs: the platform's queue (the app contract), the job store in Redis, the worker
    queue_backend: Literal["sqs", "pubsub", "servicebus", "redis"] | None = None
    queue_url: str | None = None  # SQS queue URL, Pub/Sub topic path, sb://NS.servicebus.windows.net/Q, stream
    queue_subscription: str | None = None  # Pub/Sub subscription path
    queue_dead_letter_url: str | None = None  # SQS queue URL, Pub/Sub topic path or Redis stream
    job_ttl_s: int = Field(86_400, ge=1, le=30 * 86400)  # how long a job and its result stay readable
    job_max_attempts: int = Field(5, ge=1, le=100)  # then the job goes to the dead letter
    job_lease_s: int = Field(60, ge=1, le=600)  # visibility timeout / ack deadline / reclaim idle time
    job_backoff_base_s: float = Field(2.0, ge=0, le=600)
    job_backoff_max_s: float = Field(300.0, ge=0, le=600)
    worker_concurrency: int = Field(8, ge=1, le=1000)
    worker_metrics_port: int = Field(9100, ge=0, le=65535)  # 0: no metrics server
    queue_depth_interval_s: float = Field(15.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _check_consistency(self) -> "Settings":
        if self.routing_file is not None and self.routing is not None:
            raise ValueError("set only one of APP_ROUTING_FILE and APP_ROUTING")
        if self.routing_file is not None and not self.routing_file.is_file():
            raise ValueError(f"APP_ROUTING_FILE={self.routing_file}: no such file")
        if self.api_keys_file is not None and not self.api_keys_file.is_file():
            raise ValueError(f"APP_API_KEYS_FILE={self.api_keys_file}: no such file")
        jwt = (self.jwt_jwks_url, self.jwt_issuer, self.jwt_audience)
        if any(jwt) and not all(jwt):
            raise ValueError("JWT needs all of APP_JWT_JWKS_URL, APP_JWT_ISSUER and APP_JWT_AUDIENCE")
        if self.auth_required and not (self.api_keys_sha256 or self.api_keys_file or self.jwt_jwks_url):
            raise ValueError(
                "authentication is required but no credentials are configured: set APP_API_KEYS_SHA256 "
                "or APP_API_KEYS_FILE or the APP_JWT_* variables, or APP_AUTH_REQUIRED=false for a "
                "trusted network only"
            )
        if self.database_url is not None and not self.embedding_model:
            raise ValueError("APP_DATABASE_URL needs APP_EMBEDDING_MODEL (a model alias whose targets embed)")
        if self.redis_password is not None:
            _check_redis_password(self.redis_url, self.redis_password)
        if self.database_iam_auth and self.database_entra_auth:
            raise ValueError("APP_DATABASE_IAM_AUTH and APP_DATABASE_ENTRA_AUTH are both true: choose one")
        if self.database_entra_auth:
            if self.database_url is None:
                raise ValueError("APP_DATABASE_ENTRA_AUTH=true needs APP_DATABASE_URL")
            parse_iam_database_url(self.database_url.get_secret_value(), "APP_DATABASE_ENTRA_AUTH")
        if self.redis_entra_auth:
            if self.redis_url is None:
                raise ValueError("APP_REDIS_ENTRA_AUTH=true needs APP_REDIS_URL")
            if self.redis_password is not None:
                raise ValueError("APP_REDIS_ENTRA_AUTH=true and APP_REDIS_PASSWORD are both set: choose one")
            if not self.redis_url.get_secret_value().startswith("rediss://"):
                raise ValueError(
                    "APP_REDIS_ENTRA_AUTH=true needs a rediss:// APP_REDIS_URL (tokens never travel in clear)"
                )
        if self.redis_ca_cert is not None:
            _check_redis_ca(self.redis_url, self.redis_ca_cert)
        if self.database_instance is not None:
            _check_cloudsql(self)
        elif self.database_iam_auth:
            if self.database_url is None:
                raise ValueError("APP_DATABASE_IAM_AUTH=true needs APP_DATABASE_URL")
            parse_iam_database_url(self.database_url.get_secret_value())
            if not self.database_aws_region:
                raise ValueError(
                    "APP_DATABASE_IAM_AUTH=true needs the database's AWS region: set APP_DATABASE_REGION or AWS_REGION"
                )
        if self.queue_backend is not None:
            _check_queue(self)
        elif self.queue_url or self.queue_subscription or self.queue_dead_letter_url:
            raise ValueError("APP_QUEUE_URL/APP_QUEUE_SUBSCRIPTION/APP_QUEUE_DEAD_LETTER_URL need APP_QUEUE_BACKEND")
        if self.auto_small_max_tokens >= self.auto_large_min_tokens:
            raise ValueError("APP_AUTO_SMALL_MAX_TOKENS must be below APP_AUTO_LARGE_MIN_TOKENS")
        _check_memory(self)
        return self

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt_jwks_url is not None

    @property
    def database_aws_region(self) -> str | None:
        return self.database_region or self.aws_region


_CLOUDSQL_INSTANCE = re.compile(r"^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,29}:[a-z]+-[a-z]+[0-9]+:[a-z][a-z0-9-]{0,97}$")


def _check_cloudsql(settings: "Settings") -> None:
    """APP_DATABASE_INSTANCE: the connection name, and APP_DATABASE_URL naming the user and database only."""
    if not _CLOUDSQL_INSTANCE.match(settings.database_instance or ""):
        raise ValueError(
            f"APP_DATABASE_INSTANCE={settings.database_instance!r} is not a Cloud SQL connection name "
            "(project:region:instance, e.g. my-project:europe-west1:vectors)"
        )
    if settings.database_url is None:
        raise ValueError(
            "APP_DATABASE_INSTANCE needs APP_DATABASE_URL naming the user and database: postgresql://USER@/DB"
        )
    parts = urlsplit(settings.database_url.get_secret_value())
    if parts.scheme not in ("postgres", "postgresql") or not parts.username or not parts.path.strip("/"):
        raise ValueError("APP_DATABASE_URL must be postgresql://USER@/DATABASE with APP_DATABASE_INSTANCE")
    if parts.hostname or parts.password is not None or parts.query:
        raise ValueError(
            "APP_DATABASE_URL must name no host, password or options with APP_DATABASE_INSTANCE "
            "(the Cloud SQL connector opens the TLS connection; IAM sign-in needs no password)"
        )


def _check_memory(settings: "Settings") -> None:
    if settings.memory_recent_turns * 2 > settings.memory_max_turns:
        raise ValueError(
            f"APP_MEMORY_MAX_TURNS={settings.memory_max_turns} must be at least twice APP_MEMORY_RECENT_TURNS="
            f"{settings.memory_recent_turns} (older turns are summarised once twice the recent ones are held)"
        )
    if settings.memory_hot_idle_s >= settings.memory_session_ttl_s:
        raise ValueError(
            f"APP_MEMORY_HOT_IDLE_S={settings.memory_hot_idle_s:g} must be below APP_MEMORY_SESSION_TTL_S="
            f"{settings.memory_session_ttl_s} (sessions move to PostgreSQL before they expire)"
        )


def _check_redis_ca(url: SecretStr | None, pem: str) -> None:
    if url is None or not url.get_secret_value().startswith("rediss://"):
        raise ValueError("APP_REDIS_CA_CERT is set but APP_REDIS_URL is not a rediss:// (TLS) URL")
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("APP_REDIS_CA_CERT must be PEM certificates (-----BEGIN CERTIFICATE-----...)")


def _check_redis_password(url: SecretStr | None, password: SecretStr) -> None:
    if url is None:
        raise ValueError("APP_REDIS_PASSWORD is set but APP_REDIS_URL is not")
    if not password.get_secret_value():
        raise ValueError("APP_REDIS_PASSWORD is empty: give the Redis AUTH token or leave the variable unset")
    parts = urlsplit(url.get_secret_value())
    if parts.password or "password" in parse_qs(parts.query):
        raise ValueError(
            "the Redis password is given twice, in APP_REDIS_URL and in APP_REDIS_PASSWORD: "
            "keep APP_REDIS_PASSWORD and remove the password from APP_REDIS_URL"
        )


def _check_queue(settings: "Settings") -> None:
    """The queue contract: each backend's APP_QUEUE_URL shape, and Redis for the job store."""
    backend, url = settings.queue_backend, settings.queue_url
    if settings.redis_url is None:
        raise ValueError(f"APP_QUEUE_BACKEND={backend} needs APP_REDIS_URL (job status and results live in Redis)")
    if not url:
        raise ValueError(f"APP_QUEUE_BACKEND={backend} needs APP_QUEUE_URL")
    shapes = {
        # a standard queue (a FIFO queue's messages would need group ids, and jobs need no order)
        "sqs": (r"^https?://[^/]+/\d+/[A-Za-z0-9_-]{1,80}$", "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"),
        "pubsub": (r"^projects/[^/]+/topics/[^/]+$", "projects/PROJECT/topics/TOPIC"),
        "servicebus": (r"^sb://[A-Za-z0-9.-]+/[A-Za-z0-9._/-]+$", "sb://NAMESPACE.servicebus.windows.net/QUEUE"),
        "redis": (r"^[A-Za-z0-9:._{}-]{1,200}$", "a stream name such as ai-jobs"),
    }
    pattern, example = shapes[backend]  # pyright: ignore[reportArgumentType]
    if not re.match(pattern, url):
        raise ValueError(f"APP_QUEUE_URL={url!r} is not a {backend} queue: expected {example}")
    dead = settings.queue_dead_letter_url
    if dead and backend in ("sqs", "pubsub", "redis") and not re.match(shapes[backend][0], dead):
        raise ValueError(f"APP_QUEUE_DEAD_LETTER_URL={dead!r} is not a {backend} queue: expected {shapes[backend][1]}")
    if backend == "pubsub" and not re.match(r"^projects/[^/]+/subscriptions/[^/]+$", settings.queue_subscription or ""):
        raise ValueError(
            f"APP_QUEUE_BACKEND=pubsub needs APP_QUEUE_SUBSCRIPTION=projects/PROJECT/subscriptions/NAME "
            f"(got {settings.queue_subscription!r})"
        )
    if settings.job_backoff_base_s > settings.job_backoff_max_s:
        raise ValueError("APP_JOB_BACKOFF_BASE_S must not exceed APP_JOB_BACKOFF_MAX_S")


@dataclass(frozen=True, slots=True)
class DatabaseEndpoint:
    """What an RDS IAM auth token is signed for, and the URL's sslmode (None when it names none)."""

    host: str
    port: int
    user: str
    sslmode: str | None


def parse_iam_database_url(url: str, flag: str = "APP_DATABASE_IAM_AUTH") -> DatabaseEndpoint:
    """Check APP_DATABASE_URL for token authentication (``flag``: RDS IAM or Entra ID): one host, a
    user, no password, TLS not refused."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"APP_DATABASE_URL must be a postgresql:// URL with {flag}=true")
    if parts.password is not None or "password" in query:
        raise ValueError(
            f"APP_DATABASE_URL must carry no password with {flag}=true "
            "(every connection signs in with a fresh auth token)"
        )
    in_query = sorted({"host", "port", "user"} & query.keys())
    if in_query:
        raise ValueError(
            f"APP_DATABASE_URL: with {flag}=true put {', '.join(in_query)} in the URL "
            "(postgresql://user@host:port/db), not in its query"
        )
    if not parts.username:
        who = (
            "the user needs rds_iam and the task role rds-db:connect"
            if flag == "APP_DATABASE_IAM_AUTH"
            else "the user is the managed identity's name"
        )
        raise ValueError(
            f"APP_DATABASE_URL must name the database user with {flag}=true (postgresql://user@host:5432/db; {who})"
        )
    if not parts.hostname or "," in parts.netloc:
        raise ValueError(f"APP_DATABASE_URL must name exactly one database host with {flag}=true")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ValueError("APP_DATABASE_URL: the port is not a number") from None
    sslmodes = query.get("sslmode")
    sslmode = sslmodes[-1] if sslmodes else None
    if sslmode is not None and sslmode not in TLS_SSLMODES:
        why = "allows a connection without TLS" if sslmode in PLAIN_SSLMODES else "is not a libpq sslmode"
        raise ValueError(
            f"APP_DATABASE_URL has sslmode={sslmode}, which {why}: IAM authentication needs TLS; use "
            "sslmode=require, verify-ca or verify-full (or leave sslmode out: the app then requires TLS)"
        )
    return DatabaseEndpoint(parts.hostname, port, unquote(parts.username), sslmode)


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        name = f"{ENV_PREFIX}{loc[0].upper()}" if loc else "configuration"
        value = item.get("input")
        shown = "" if not loc or isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{name}{shown}: {item['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings() -> Settings:
    """Read and validate the environment; raise SettingsError naming each bad variable."""
    try:
        return Settings()  # pyright: ignore[reportCallIssue]
    except ValidationError as exc:
        raise SettingsError(_format(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
