"""The infrastructure and the app agree: every APP_* variable the task definition sets is a
setting the app reads, and the app starts with exactly that environment (routing included)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.routing import load_routing
from app.settings import ENV_PREFIX, Settings, load_settings
from ai_platform_cli.main import load_stack, plan_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.aws-*.yaml"))

#: stand-ins for what ECS injects from Secrets Manager at start-up
SECRET_VALUES = {
    "APP_API_KEYS_SHA256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "APP_REDIS_PASSWORD": "a-redis-auth-token-of-32-characters",
    "OPENAI_API_KEY": "sk-test",
    "ANTHROPIC_API_KEY": "sk-ant-test",
}


def container(stack: str) -> dict:
    task = plan_stack(load_stack(ROOT, stack)).one("aws:ecs/taskDefinition:TaskDefinition")
    (definition,) = json.loads(task.inputs["containerDefinitions"])
    return definition


@pytest.mark.parametrize("stack", STACKS)
def test_every_app_variable_is_an_app_setting(stack: str) -> None:
    definition = container(stack)
    names = [e["name"] for e in definition["environment"]] + [s["name"] for s in definition["secrets"]]
    unknown = [
        n for n in names if n.startswith(ENV_PREFIX) and n[len(ENV_PREFIX) :].lower() not in Settings.model_fields
    ]
    assert unknown == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_app_starts_with_the_task_environment(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = container(stack)
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"{ENV_PREFIX}{name.upper()}", raising=False)
    for variable in definition["environment"]:
        monkeypatch.setenv(variable["name"], variable["value"])
    for secret in definition["secrets"]:
        monkeypatch.setenv(secret["name"], SECRET_VALUES[secret["name"]])
    settings = load_settings()
    assert settings.port == definition["portMappings"][0]["containerPort"]
    assert settings.redis_url is not None and settings.redis_url.get_secret_value().startswith("rediss://")
    routing = load_routing(settings)
    assert set(routing.tiers) == {"small", "medium", "large"}
