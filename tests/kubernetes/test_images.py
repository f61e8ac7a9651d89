"""Placeholder digests: the shipped stack files pin images to recognisable stand-ins (``000…0004``) so
they plan offline; a real engine run of a prod stack refuses them, naming each key."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.kubernetes import platform
from components.kubernetes.spec import placeholder_digest, placeholder_images
from components.spec import SpecError
from tests.kubernetes.conftest import ROOT, spec_of, stack_config

K8S = "ai-platform:kubernetes"
APP = "ai-platform:app"


def real(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.mark.parametrize(
    ("reference", "placeholder"),
    [
        ("registry.example.com/api@sha256:" + "0" * 63 + "4", True),
        ("registry.example.com/api@sha256:" + "a" * 64, True),
        ("registry.example.com/api@sha256:" + real("api"), False),
        ("registry.example.com/api:1.0", False),
    ],
)
def test_placeholder_digests_are_recognised(reference: str, placeholder: bool) -> None:
    assert placeholder_digest(reference) is placeholder


def test_the_shipped_prod_stack_names_its_placeholders_by_key() -> None:
    config, _ = stack_config("k8s-prod")
    problems = placeholder_images(spec_of(config, "k8s-prod"))
    assert [p.key for p in problems] == ["ai-platform:app.image.digest", "ai-platform:kubernetes.redisImage"]
    assert all("placeholder digest" in p.message for p in problems)


def test_a_real_engine_run_of_prod_refuses_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Pulumi engine runs here: the detector stands in for one (the offline plan is the mock runtime)."""
    monkeypatch.setattr(platform, "real_engine", lambda: True)
    stack_file = load_stack(ROOT, "k8s-prod")
    with pytest.raises(SpecError, match=r"ai-platform:kubernetes\.redisImage = .*placeholder digest"):
        plan_stack(stack_file)
    config, _ = stack_config("k8s-prod")
    config[APP] = {**config[APP], "image": {"digest": f"registry.example.com/ai-api@sha256:{real('api')}"}}
    config[K8S] = {**config[K8S], "redisImage": f"docker.io/library/redis@sha256:{real('redis')}"}
    assert plan_stack(replace(stack_file, config=config)).one("ai-platform:kubernetes:AiPlatform")


def test_dev_and_the_offline_plan_accept_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plan_stack(load_stack(ROOT, "k8s-prod")).resources  # the mock runtime: the shipped template plans
    monkeypatch.setattr(platform, "real_engine", lambda: True)
    assert plan_stack(load_stack(ROOT, "k8s-local")).resources  # dev: a laptop cluster may use a local tag
