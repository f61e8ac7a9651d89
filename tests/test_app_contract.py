"""The infrastructure and the app agree, on every available target: every APP_* variable the
platform sets is a setting the app reads, and the app starts with exactly that environment
(routing included). Each target's ``mocks.planned_app_settings`` reads its planned graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from app.routing import load_routing
from app.settings import ENV_PREFIX, Settings, load_settings
from components import targets

ROOT = Path(__file__).resolve().parents[1]
STACKS = [
    (target, path.name[len("Pulumi.") : -len(".yaml")])
    for target in targets.available()
    for path in sorted((ROOT / "stacks").glob(targets.get(target).stacks_glob))
]

#: stand-ins for what the platform injects from the secret store at start-up
SECRET_VALUES = {
    "APP_API_KEYS_SHA256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "APP_REDIS_PASSWORD": "a-redis-auth-token-of-32-characters",
    "OPENAI_API_KEY": "sk-test",
    "ANTHROPIC_API_KEY": "sk-ant-test",
    "APP_DATABASE_URL": "postgresql://ai_api:pw@db.example.com:5432/ai?sslmode=verify-full",
}


def planned(target: str, stack: str) -> tuple[dict[str, str], list[str], int]:
    graph = plan_stack(load_stack(ROOT, stack))
    return targets.get(target).module("mocks").planned_app_settings(graph)


def test_every_available_target_ships_a_stack() -> None:
    assert {target for target, _ in STACKS} == set(targets.available())


@pytest.mark.parametrize(("target", "stack"), STACKS)
def test_every_app_variable_is_an_app_setting(target: str, stack: str) -> None:
    environment, secrets, _ = planned(target, stack)
    unknown = [
        n
        for n in [*environment, *secrets]
        if n.startswith(ENV_PREFIX) and n[len(ENV_PREFIX) :].lower() not in Settings.model_fields
    ]
    assert unknown == []


@pytest.mark.parametrize(("target", "stack"), STACKS)
def test_the_app_starts_with_the_planned_environment(target: str, stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environment, secrets, port = planned(target, stack)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"{ENV_PREFIX}{name.upper()}", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in secrets:
        monkeypatch.setenv(name, SECRET_VALUES[name])
    settings = load_settings()
    assert settings.port == port
    assert settings.redis_url is not None and settings.redis_url.get_secret_value().startswith("rediss://")
    routing = load_routing(settings)
    assert set(routing.tiers) == {"small", "medium", "large"}
