"""The stack spec: the only place stack configuration (namespace ``ai-platform:``) is parsed.

``load_spec()`` reads the running program's config; ``PlatformSpec.from_config(values)``
takes a ``{"ai-platform:app": {...}, ...}`` mapping (as in a stack file). Both fail with a
:class:`SpecError` listing every problem at once, each naming the key path as written in
the stack file, the value given and what is allowed, before any resource is registered.

The spec is cloud-neutral: what every target shares (app size, scaling, limits, retention,
alerts, budget, tags) lives here; each target's section (``ai-platform:<target>``) and its
rules live in ``components/<target>/spec.py``, found through :mod:`components.targets`.

Defaults depend on the environment (see ``ENVIRONMENT_DEFAULTS``: the shared decisions on HA,
replicas, retention and protection) and come from the seed documents where they give numbers
(docs/architecture.md: "Seed numbers").
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components import targets, validation

NAMESPACE = "ai-platform"
Environment = Literal["dev", "prod"]

#: the settings whose defaults differ between dev (cheap, no HA) and prod (HA, protected)
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "zones": 2,
        "nat_gateways": "single",  # one NAT gateway: ~32 USD/month + data instead of one per zone
        "waf_mode": "count",
        "high_availability": False,
        "deletion_protection": False,
        "backup_retention_days": 1,
        "log_retention_days": 30,
        "min_replicas": 1,
        "protect_stateful": False,
        "secret_recovery_days": 7,
        "cache_snapshot_days": 1,
        "final_snapshot": False,
        "database_monitoring_seconds": 0,
    },
    "prod": {
        "zones": 3,
        "nat_gateways": "perZone",  # ~32 USD/month per zone + data, so one zone's outage keeps egress
        "waf_mode": "block",
        "high_availability": True,
        "deletion_protection": True,
        "backup_retention_days": 14,
        "log_retention_days": 365,
        "min_replicas": 2,
        # `protect` on the database, cache, keys and secrets: `pulumi destroy` stops at them
        "protect_stateful": True,
        "secret_recovery_days": 30,
        "cache_snapshot_days": 7,
        "final_snapshot": True,
        # OS metrics every 60 s (enhanced monitoring), for diagnosing a production database
        "database_monitoring_seconds": 60,
    },
}

#: names of the insecure choices a stack can make, each only through ``ai-platform:insecure``
INSECURE_OPT_OUTS = ("disableWaf", "disableDeletionProtection", "unprotectStatefulResources")


def _checked(rule: Any) -> Any:
    """A pydantic validator from a :mod:`components.validation` rule (None = good, else the reason)."""

    def validate(value: Any) -> Any:
        problem = rule(value)
        if problem:
            raise ValueError(problem)
        return value

    return validate


def _known_cloud(value: str) -> str:
    names = targets.names()
    if value not in names:
        quoted = [f"'{name}'" for name in names]
        raise ValueError(f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}")
    return value


Cloud = Annotated[str, AfterValidator(_known_cloud)]
"""A registered target's name (components.targets)."""


class Section(BaseModel):
    """Stack-file sections: camelCase keys as written, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"must be an IPv4 CIDR block such as 10.0.0.0/16 ({error})") from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]


class ImageSpec(Section):
    """Either build the bundled app (``build: app``) or deploy a digest-pinned image."""

    build: str | None = None
    """Docker build context, relative to the project root (the bundled app is ``app``)."""
    digest: str | None = None
    """A pinned reference ``registry/repo@sha256:<64 hex>``; tags are not accepted."""

    @field_validator("digest")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        return value if value is None else _checked(validation.digest_ref)(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageSpec:
        if (self.build is None) == (self.digest is None):
            raise ValueError("set exactly one of `build` (a context directory, e.g. app) or `digest`")
        return self


class ScalingSpec(Section):
    cpu_percent: int = Field(default=70, ge=10, le=95)
    """Target average CPU (seed: 70 %)."""
    concurrent_requests: int = Field(default=80, ge=1, le=1000)
    """In-flight requests per replica (seed: 80 on request-scaled runtimes, 50 on HTTP-scaled apps)."""
    requests_per_minute: int = Field(default=600, ge=1, le=100_000)
    """Requests per replica per minute (for runtimes that scale on request rate)."""


class AppSpec(Section):
    image: ImageSpec = ImageSpec(build="app")
    cpu: float = Field(default=1.0, gt=0, le=16)
    """vCPUs per replica (seed limit: 1000m)."""
    memory_mib: int = Field(default=2048, ge=256, le=122_880)
    """MiB per replica (seed limit: 2 Gi)."""
    port: int = Field(default=8000, ge=1024, le=65535)
    min_replicas: int | None = Field(default=None, ge=1, le=1000)
    """Default: dev 1, prod 2 (at least two for HA)."""
    max_replicas: int = Field(default=20, ge=1, le=1000)
    scaling: ScalingSpec = ScalingSpec()
    timeout_seconds: int = Field(default=300, ge=1, le=3600)
    """Longest request, streaming included (seed: 300 s)."""
    health_path: str = "/health"
    ready_path: str = "/ready"
    environment: dict[str, str] = Field(default_factory=dict)
    """Plain, non-secret environment variables."""
    secrets: dict[str, str] = Field(default_factory=dict)
    """Environment variable -> secret config key (set with ``pulumi config set --secret``)."""

    @field_validator("environment")
    @classmethod
    def _plain_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            problem = validation.plain_env_var(name)
            if problem:
                raise ValueError(f"{problem}: move it to app.secrets and set it with --secret")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, key in value.items():
            problem = validation.env_var_name(name)
            if problem:
                raise ValueError(problem)
            if validation.config_key(key):
                raise ValueError(f"{key!r} (for {name}) is not a config key name")
        return value

    @model_validator(mode="after")
    def _once(self) -> AppSpec:
        problem = validation.overlapping_env(self.environment, self.secrets)
        if problem:
            raise ValueError(problem)
        return self

    @field_validator("health_path", "ready_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute URL path starting with /")
        return value


class NetworkSpec(Section):
    cidr: Cidr = "10.0.0.0/16"
    zones: Literal[2, 3] | None = None
    """Availability zones. Default: dev 2, prod 3."""
    nat_gateways: Literal["single", "perZone"] | None = None
    """Default: dev single, prod perZone."""

    @field_validator("cidr")
    @classmethod
    def _size(cls, value: str) -> str:
        return _checked(lambda v: validation.private_cidr(v, min_prefix=16, max_prefix=22))(value)


class WafSpec(Section):
    mode: Literal["block", "count"] | None = None
    """Default: dev count (observe), prod block."""


class GatewaySpec(Section):
    domain: str
    """The API's public host name, e.g. api.example.com."""
    waf: WafSpec = WafSpec()
    rate_limit_per_ip: int = Field(default=1000, ge=10, le=2_000_000_000)
    """Requests per IP per 5 minutes before the WAF/edge throttles."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=104_857_600)
    """Largest request body accepted at the edge (1 MiB: a 10,000-character prompt is ~40 KB)."""
    ip_allowlist: list[Cidr] = Field(default_factory=list)
    """When set, only these CIDRs may call the API."""

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return _checked(validation.domain_name)(value)


class CacheSpec(Section):
    enabled: bool = True
    high_availability: bool | None = None
    """Replica in a second zone with automatic failover. Default: dev off, prod on."""
    auth_token_key: str = "redisAuthToken"
    """Secret config key holding the Redis AUTH token."""


class VectorStoreSpec(Section):
    enabled: bool = True
    high_availability: bool | None = None
    """A reader in a second zone. Default: dev off, prod on."""
    backup_retention_days: int | None = Field(default=None, ge=1, le=35)
    """Default: dev 1, prod 14."""
    deletion_protection: bool | None = None
    """Default: dev off, prod on (turning it off in prod is an insecure opt-out)."""


class WorkerSpec(Section):
    """The job worker (``python -m app.worker`` from the app image), scaled on queue backlog."""

    min_replicas: int | None = Field(default=None, ge=1, le=1000)
    """Default: dev 1, prod 2 (one zone's loss keeps jobs moving)."""
    max_replicas: int = Field(default=10, ge=1, le=1000)
    concurrency: int = Field(default=8, ge=1, le=1000)
    """Jobs one worker runs at once (``APP_WORKER_CONCURRENCY``)."""
    backlog_per_replica: int = Field(default=16, ge=1, le=100_000)
    """Waiting messages per worker the scaling aims for (about twice ``concurrency``)."""

    @model_validator(mode="after")
    def _bounds(self) -> WorkerSpec:
        if self.min_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must not exceed maxReplicas ({self.max_replicas})")
        return self


class QueueSpec(Section):
    enabled: bool = True
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    """Attempts per job before it goes to the dead letter (the app's and the queue's count)."""
    worker: WorkerSpec = WorkerSpec()


class AlertsSpec(Section):
    latency_p95_seconds: float = Field(default=4.0, gt=0, le=300)
    """Seed: end-to-end latency alert above 4 s (target below 2.5 s)."""
    availability_percent: float = Field(default=99.5, gt=50, lt=100)
    """Seed: alert below 99.5 % availability, i.e. 5xx above 0.5 % of requests."""
    cpu_percent: int = Field(default=85, ge=10, le=100)
    redis_memory_percent: int = Field(default=80, ge=10, le=100)

    @property
    def error_rate_percent(self) -> float:
        return round(100.0 - self.availability_percent, 6)


class ObservabilitySpec(Section):
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)
    """Default: dev 30, prod 365."""
    alert_emails: list[str] = Field(default_factory=list)
    alerts: AlertsSpec = AlertsSpec()

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [email for email in value if validation.email(email)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return value


class BudgetSpec(Section):
    monthly_amount: float = Field(gt=0, le=10_000_000)
    currency: Literal["USD"] = "USD"
    thresholds: list[int] = Field(default_factory=lambda: [50, 80, 100], min_length=1)
    """Percent of the monthly amount (actual spend) that notify; 100 % forecast always notifies."""
    baseline_check: Literal["advisory", "mandatory"] = "advisory"
    """Level of the policy ``budget-covers-baseline`` (the amount below the planned fixed cost)."""

    @field_validator("thresholds")
    @classmethod
    def _percentages(cls, value: list[int]) -> list[int]:
        if any(not 1 <= v <= 1000 for v in value) or len(set(value)) != len(value):
            raise ValueError("must be distinct percentages between 1 and 1000")
        return sorted(value)


class InsecureSpec(Section):
    """Named opt-outs from the secure defaults; each one is recorded on the platform resource."""

    disable_waf: bool = False
    disable_deletion_protection: bool = False
    unprotect_stateful_resources: bool = False
    """Do not set Pulumi's ``protect`` on the database, cache, keys and secrets in prod."""


class TargetInsecureSpec(Section):
    """A target section's named opt-outs (``<target>.insecure``): each a bool, off by default.

    One in force is recorded on the platform component as ``<target>.<camelName>``, and the policy
    pack waives exactly the condition its rules tie to that name (``Rule.waivers``). An opt-out that
    only relaxes a spec rule the pack never enforces where the opt-out is allowed is listed in
    ``SPEC_ONLY`` (tests/policies/test_opt_outs.py holds every name to one of the two)."""

    SPEC_ONLY: ClassVar[frozenset[str]] = frozenset()

    def in_force(self, target: str) -> list[str]:
        return [f"{target}.{to_camel(name)}" for name, value in self if value is True]


def _required_tags(value: dict[str, str]) -> dict[str, str]:
    """Every target needs these; each target's spec checks its own key and value syntax."""
    missing = [key for key in ("owner", "cost-center") if not value.get(key)]
    if missing:
        raise ValueError(f"required tags missing or empty: {missing} (owner and cost-center are required)")
    return value


S = TypeVar("S", bound=Section)


class PlatformSpec(Section):
    """Everything a stack says, validated, with environment defaults resolved."""

    cloud: Cloud
    environment: Environment
    tags: Annotated[dict[str, str], AfterValidator(_required_tags)]
    app: AppSpec = AppSpec()
    network: NetworkSpec = NetworkSpec()
    gateway: GatewaySpec
    cache: CacheSpec = CacheSpec()
    vector_store: VectorStoreSpec = VectorStoreSpec()
    queue: QueueSpec = QueueSpec()
    observability: ObservabilitySpec = ObservabilitySpec()
    budget: BudgetSpec
    insecure: InsecureSpec = InsecureSpec()
    region: str | None = None
    """The provider region, read from the target's provider namespace (the registry's ``region_key``)."""
    _sections: dict[str, Section] = PrivateAttr(default_factory=dict)

    @property
    def target(self) -> targets.Target:
        return targets.get(self.cloud)

    @property
    def target_section(self) -> Section | None:
        """The stack's section for its own target (its defaults when the stack file has none)."""
        module = target_spec_module(self)
        return None if module is None else self.section(module.SECTION)

    def section(self, model: type[S]) -> S:
        """The stack's section of type ``model`` (``spec.section(AwsSpec)``), or its defaults."""
        for value in self._sections.values():
            if isinstance(value, model):
                return value
        return model()

    # --- resolved values: the environment's defaults where the stack is silent -------------
    def _default(self, key: str) -> Any:
        return ENVIRONMENT_DEFAULTS[self.environment][key]

    @property
    def min_replicas(self) -> int:
        return self.app.min_replicas if self.app.min_replicas is not None else self._default("min_replicas")

    @property
    def worker_min_replicas(self) -> int:
        worker = self.queue.worker
        return worker.min_replicas if worker.min_replicas is not None else self._default("min_replicas")

    @property
    def zones(self) -> int:
        return self.network.zones or self._default("zones")

    @property
    def nat_gateways(self) -> str:
        return self.network.nat_gateways or self._default("nat_gateways")

    @property
    def waf_enabled(self) -> bool:
        return not self.insecure.disable_waf

    @property
    def waf_mode(self) -> str:
        return self.gateway.waf.mode or self._default("waf_mode")

    @property
    def cache_high_availability(self) -> bool:
        ha = self.cache.high_availability
        return ha if ha is not None else self._default("high_availability")

    @property
    def vector_high_availability(self) -> bool:
        ha = self.vector_store.high_availability
        return ha if ha is not None else self._default("high_availability")

    @property
    def deletion_protection(self) -> bool:
        if self.vector_store.deletion_protection is not None:
            return self.vector_store.deletion_protection
        return self._default("deletion_protection") and not self.insecure.disable_deletion_protection

    @property
    def backup_retention_days(self) -> int:
        days = self.vector_store.backup_retention_days
        return days if days is not None else self._default("backup_retention_days")

    @property
    def protect_stateful(self) -> bool:
        """Pulumi ``protect`` on stateful resources (prod), unless opted out by name."""
        return self._default("protect_stateful") and not self.insecure.unprotect_stateful_resources

    @property
    def secret_recovery_days(self) -> int:
        return self._default("secret_recovery_days")

    @property
    def cache_snapshot_days(self) -> int:
        return self._default("cache_snapshot_days")

    @property
    def final_snapshot(self) -> bool:
        """Take a final snapshot when the database is deleted (prod)."""
        return self._default("final_snapshot")

    @property
    def database_monitoring_seconds(self) -> int:
        """Interval of the database's OS-level monitoring (0: off)."""
        return self._default("database_monitoring_seconds")

    @property
    def log_retention_days(self) -> int:
        days = self.observability.log_retention_days
        return days if days is not None else self._default("log_retention_days")

    @property
    def opt_outs(self) -> list[str]:
        """The insecure opt-outs in force, by name, for the policy pack to see."""
        return [name for name in INSECURE_OPT_OUTS if getattr(self.insecure, to_snake(name))]

    @property
    def secret_config_keys(self) -> list[str]:
        """Every secret config key the stack needs (``pulumi config set --secret``)."""
        keys = list(dict.fromkeys(self.app.secrets.values()))
        if self.cache.enabled and _cache_token_from_config(self.cloud):
            keys.append(self.cache.auth_token_key)
        module = target_spec_module(self)
        extra = getattr(module, "secret_keys", None)
        if extra is not None:
            keys += [key for key in extra(self) if key not in keys]
        return keys

    @classmethod
    def from_config(cls, values: Mapping[str, Any], secret_keys: Iterable[str] | None = None) -> PlatformSpec:
        """Validate ``{"ai-platform:<key>": value}``; ``secret_keys`` (when known) are checked too."""
        return _parse(values, None if secret_keys is None else set(secret_keys))


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    value: Any

    def __str__(self) -> str:
        shown = json.dumps(self.value, default=str) if self.value is not MISSING else "(not set)"
        return f"{self.key} = {shown}: {self.message}"


class SpecError(ValueError):
    """Invalid stack config: every problem, each naming its key, value and what is allowed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


MISSING: Any = object()
"""The value of a key the stack file does not set (shown as ``(not set)``)."""


def _parse(values: Mapping[str, Any], secret_keys: set[str] | None) -> PlatformSpec:
    problems: list[Problem] = []
    raw: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    secret_names = set(required_secret_keys(values))
    shared = _aliases()
    for full_key, value in values.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in shared:
            raw[key] = _decode(value)
        elif key in targets.TARGETS:
            sections[key] = _decode(value)
        elif key in secret_names or (secret_keys is not None and full_key in secret_keys):
            continue
        else:
            allowed = sorted(shared | set(targets.TARGETS))
            problems.append(Problem(full_key, f"not a known setting; known: {', '.join(allowed)}", value))
    cloud = raw.get("cloud")
    target = targets.TARGETS.get(cloud) if isinstance(cloud, str) else None
    if target is not None and target.region_key:
        raw["region"] = values.get(target.region_key)
    spec: PlatformSpec | None = None
    try:
        spec = PlatformSpec.model_validate(raw)
    except ValidationError as error:
        problems.extend(_problems(error, raw))
    parsed = _parse_sections(sections, problems)
    if spec is not None:
        spec._sections = parsed
        problems.extend(_cross_problems(spec, values))
        problems.extend(_secret_problems(spec, values, secret_keys))
    if problems:
        raise SpecError(problems)
    assert spec is not None
    return spec


def _parse_sections(sections: Mapping[str, Any], problems: list[Problem]) -> dict[str, Section]:
    """Each target section validated by its target's model (``components/<target>/spec.py``)."""
    parsed: dict[str, Section] = {}
    for name, raw in sections.items():
        target = targets.get(name)
        if not target.available:
            problems.append(Problem(f"{NAMESPACE}:{name}", str(targets.NotAvailable(target)), raw))
            continue
        model: type[Section] = target.module("spec").SECTION
        try:
            parsed[name] = model.model_validate(raw)
        except ValidationError as error:
            problems.extend(_problems(error, {name: raw}, prefix=[name], root=model))
    return parsed


def _aliases() -> set[str]:
    return {field.alias or name for name, field in PlatformSpec.model_fields.items() if name != "region"}


def target_spec_module(spec: PlatformSpec) -> Any | None:
    """The ``spec`` module of the stack's target, when that target is available."""
    target = spec.target
    return importlib.import_module(f"{target.package}.spec") if target.available else None


def required_secret_keys(values: Mapping[str, Any]) -> list[str]:
    """Secret config keys a stack's config refers to (app.secrets, cache.authTokenKey), before
    validation: the offline plan uses it to fill placeholders for secrets not in the file."""
    keys: set[str] = set()
    app = _decode(values.get(f"{NAMESPACE}:app", {}))
    if isinstance(app, dict) and isinstance(app.get("secrets"), dict):
        keys.update(str(v) for v in app["secrets"].values())
    cache = _decode(values.get(f"{NAMESPACE}:cache", {}))
    cache = cache if isinstance(cache, dict) else {}
    cloud = values.get(f"{NAMESPACE}:cloud")
    if cache.get("enabled", True) not in (False, "false") and _cache_token_from_config(cloud):
        keys.add(str(cache.get("authTokenKey", CacheSpec.model_fields["auth_token_key"].default)))
    target = targets.TARGETS.get(cloud) if isinstance(cloud, str) else None
    if target is not None and target.available:
        hook = getattr(target.module("spec"), "required_secret_keys", None)
        if hook is not None:
            keys.update(hook(values))
    return sorted(keys)


def _cache_token_from_config(cloud: Any) -> bool:
    """Whether the target's cache takes its AUTH token from stack config (``cache.authTokenKey``);
    a target whose cache makes its own, or signs in without one, says so in its spec module."""
    target = targets.TARGETS.get(cloud) if isinstance(cloud, str) else None
    if target is None or not target.available:
        return True
    return getattr(target.module("spec"), "CACHE_AUTH_TOKEN_FROM_CONFIG", True)


def _decode(value: Any) -> Any:
    """Config from the CLI arrives as strings with structured values JSON-encoded."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _cross_problems(spec: PlatformSpec, values: Mapping[str, Any]) -> list[Problem]:
    """Rules that span settings, each reported at the key to change."""
    problems: list[Problem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(Problem(f"{NAMESPACE}:{key}" if ":" not in key else key, message, value))

    app = spec.app
    if app.min_replicas is not None and app.min_replicas > app.max_replicas:
        add("app.minReplicas", app.min_replicas, f"must not exceed app.maxReplicas ({app.max_replicas})")
    if spec.queue.enabled and spec.worker_min_replicas > spec.queue.worker.max_replicas:
        add(
            "queue.worker.maxReplicas",
            spec.queue.worker.max_replicas,
            f"must be at least the worker's minimum ({spec.worker_min_replicas} in {spec.environment})",
        )
    target = spec.target
    if not target.available:
        add("cloud", spec.cloud, str(targets.NotAvailable(target)).removeprefix(f"{target.name} is "))
    if spec.environment == "prod":
        if not spec.observability.alert_emails:
            add("observability.alertEmails", [], "prod stacks need at least one address for alerts")
        if app.min_replicas is not None and app.min_replicas < 2:
            add("app.minReplicas", app.min_replicas, "must be at least 2 in prod for HA")
        worker = spec.queue.worker
        if worker.min_replicas is not None and worker.min_replicas < 2:
            add("queue.worker.minReplicas", worker.min_replicas, "must be at least 2 in prod for HA")
        if spec.vector_store.deletion_protection is False and not spec.insecure.disable_deletion_protection:
            add(
                "vectorStore.deletionProtection",
                False,
                "turning it off in prod needs the opt-out insecure.disableDeletionProtection: true",
            )
    if target.available:
        if target.region_key and spec.region is None:
            add(target.region_key, MISSING, f"must be set for cloud {target.name} ({target.region_hint})")
        module = target_spec_module(spec)
        if module is not None:
            problems.extend(module.check(spec, values))
    return problems


def _secret_problems(spec: PlatformSpec, values: Mapping[str, Any], secret_keys: set[str] | None) -> list[Problem]:
    problems = []
    for key in spec.secret_config_keys:
        full_key = f"{NAMESPACE}:{key}"
        if full_key not in values:
            problems.append(
                Problem(full_key, f"required secret is not set: pulumi config set --secret {full_key} <value>", MISSING)
            )
        elif secret_keys is not None and full_key not in secret_keys:
            problems.append(
                Problem(
                    full_key,
                    f"is stored in plain text; store it encrypted: pulumi config set --secret {full_key} <value>",
                    "[plain text, not shown]",
                )
            )
    return problems


def _problems(
    error: ValidationError, raw: Mapping[str, Any], *, prefix: list[Any] | None = None, root: Any = None
) -> list[Problem]:
    """Pydantic's errors as problems at stack-file keys; ``prefix``/``root`` for a target section."""
    problems = []
    for item in error.errors(include_url=False):
        inner = list(item["loc"])
        location = [*(prefix or []), *inner]
        key = _key_path(location)
        value = _lookup(raw, location)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "not a known setting" + _known_fields_hint(inner[:-1], root=root)
        elif item["type"] == "missing":
            message = "required" + _known_fields_hint(inner[:-1], field=str(inner[-1]), root=root)
        problems.append(Problem(key, message, value))
    return problems


def _key_path(location: list[Any]) -> str:
    if not location:
        return f"{NAMESPACE}:(root)"
    path = f"{NAMESPACE}:{location[0]}"
    for part in location[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _lookup(raw: Any, location: list[Any]) -> Any:
    for part in location:
        if (isinstance(raw, dict) and part in raw) or (
            isinstance(raw, list) and isinstance(part, int) and part < len(raw)
        ):
            raw = raw[part]
        else:
            return MISSING
    return raw


def _known_fields_hint(parent: list[Any], field: str | None = None, root: Any = None) -> str:
    model: Any = root or PlatformSpec
    for part in parent:
        if isinstance(part, int):
            continue
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        annotation = getattr(info, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return ""
    if field is not None:
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == field), None)
        return f" ({info.description})" if info is not None and info.description else ""
    names = sorted(f.alias or n for n, f in model.model_fields.items() if n != "region")
    return f"; known: {', '.join(names)}"


def load_spec() -> PlatformSpec:
    """Parse the running Pulumi program's config (``PULUMI_CONFIG`` from the CLI or the mocks)."""
    from pulumi.runtime import config as runtime_config

    values = dict(runtime_config.CONFIG.get()) or runtime_config.get_config_env()
    secret_keys = runtime_config._SECRET_KEYS.get() or set(runtime_config.get_config_secret_keys_env())
    return PlatformSpec.from_config(values, secret_keys)
