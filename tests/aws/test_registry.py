"""Registry block: ECR hardening, lifecycle policy, image build/push or a pinned digest."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from components.aws.registry import PROJECT_ROOT, Registry, RegistryArgs
from components.images import context_tag
from components.testing import SECRET_MARKER, plan

REPO = "aws:ecr/repository:Repository"
IMAGE = "docker-build:index:Image"
URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-platform-test-reg"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM python:3.12-slim\nUSER 10001\n")
    (app / "main.py").write_text("print('hi')\n")
    return app


def build(**kwargs):
    def program() -> None:
        registry = Registry("reg", RegistryArgs(**kwargs))
        pulumi.export("image_ref", registry.image_ref)

    return program


def test_repository_hardening_and_built_image_pinned_by_digest(app_dir):
    graph = plan(build(context=str(app_dir), dockerfile=str(app_dir / "Dockerfile"), tags={"team": "ai"}))
    repo = graph.one(REPO).inputs
    assert repo["name"] == "ai-platform-test-reg"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repo["forceDelete"] is False
    assert repo["tags"] == {"team": "ai"}
    image = graph.one(IMAGE).inputs
    assert image["push"] is True
    assert image["platforms"] == ["linux/amd64"]
    assert image["context"] == {"location": str(app_dir)}
    assert image["dockerfile"] == {"location": str(app_dir / "Dockerfile")}
    assert image["tags"] == [f"{URL}:{context_tag(app_dir)}"]
    # the ECR password never reaches state in plain text
    assert image["registries"] == [{"address": URL.split("/")[0], "username": "AWS", "password": SECRET_MARKER}]
    assert "aws:ecr/getAuthorizationToken:getAuthorizationToken" in graph.calls
    assert graph.outputs["image_ref"] == f"{URL}@{graph.one(IMAGE).outputs['digest']}"


def test_kms_encryption_when_key_given():
    key = "arn:aws:kms:us-east-1:123456789012:key/abcd"
    graph = plan(build(kms_key_arn=key, image_digest=f"{URL}@{DIGEST}"))
    assert graph.one(REPO).inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key}]


def test_pinned_digest_skips_the_build():
    pinned = f"ghcr.io/example/app@sha256:{'1f' * 32}"
    graph = plan(build(image_digest=pinned, context="/does/not/exist"))
    assert graph.of_type(IMAGE) == []
    assert graph.outputs["image_ref"] == pinned


def test_lifecycle_policy():
    graph = plan(build(image_digest=f"{URL}@{DIGEST}", keep_last_images=12))
    rules = json.loads(graph.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    untagged, keep = rules
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert keep["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 12}
    assert keep["rulePriority"] > untagged["rulePriority"]


def test_context_tag_follows_content(app_dir):
    before = context_tag(app_dir)
    (app_dir / "__pycache__").mkdir()
    (app_dir / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    assert context_tag(app_dir) == before
    (app_dir / "main.py").write_text("print('changed')\n")
    assert context_tag(app_dir) != before


def test_relative_context_resolves_against_the_project_root():
    assert RegistryArgs().context == "app" and RegistryArgs().dockerfile is None
    with pytest.raises(ValueError, match=f"build context {PROJECT_ROOT}/app-missing is not a directory"):
        plan(build(context="app-missing"))


def test_dockerfile_defaults_to_the_context(app_dir):
    graph = plan(build(context=str(app_dir)))
    assert graph.one(IMAGE).inputs["dockerfile"] == {"location": str(app_dir / "Dockerfile")}
    (app_dir / "Dockerfile").unlink()
    with pytest.raises(ValueError, match="Dockerfile does not exist"):
        plan(build(context=str(app_dir)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_digest": "repo:latest"}, "is not a pinned reference"),
        ({"image_digest": f"{URL}@sha256:abc"}, "is not a pinned reference"),
        ({"image_digest": f"{URL}@sha256:{'AB' * 32}"}, "is not a pinned reference"),
        ({"repository_name": "Bad_Name", "image_digest": f"{URL}@{DIGEST}"}, "not a valid ECR name"),
        ({"keep_last_images": 0, "image_digest": f"{URL}@{DIGEST}"}, "keep_last_images=0"),
        ({"untagged_expiry_days": 0, "image_digest": f"{URL}@{DIGEST}"}, "untagged_expiry_days=0"),
        ({"platform": "linux/amd65"}, "is not a Docker platform"),
        ({"context": "/does/not/exist"}, "is not a directory"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(build(**kwargs))


def test_every_child_key_is_documented(app_dir, child_keys):
    plan(build(context=str(app_dir), dockerfile=str(app_dir / "Dockerfile")))
    assert set(child_keys.used) == {"repository", "lifecyclePolicy", "image"}
    assert child_keys.undocumented(RegistryArgs) == []
