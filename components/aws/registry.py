"""Registry: an ECR repository and the app image, built from app/ and pushed, or a pinned digest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from components.base import Block, BlockArgs
from components.images import context_tag

#: the repository root (components/aws/registry.py -> ../../)
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_DIGEST_REF = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+@sha256:[0-9a-f]{64}$")
_REPOSITORY_NAME = re.compile(r"^(?=.{2,256}$)([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*$")
#: files that never belong in the build context hash (caches, VCS, local environments)


@dataclass(kw_only=True)
class RegistryArgs(BlockArgs):
    """Inputs of :class:`Registry`. Child keys for ``transform``: ``repository``, ``lifecyclePolicy``, ``image``."""

    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key for the repository; ``None`` encrypts with AES256 (S3-managed)."""
    repository_name: str | None = None
    """ECR repository name; ``None`` derives ``<project>-<stack>-<block name>`` (unique per stack)."""
    image_digest: str | None = None
    """A pinned ``registry/repo@sha256:<64 hex>`` reference to deploy: when given no image is built."""
    context: str | None = "app"
    """Docker build context, relative to the project root (or absolute); ``None`` also means the
    bundled app (``app``)."""
    dockerfile: str | None = None
    """Dockerfile path, relative to the project root (or absolute); ``None``: ``<context>/Dockerfile``
    (``app/Dockerfile`` by default)."""
    platform: str = "linux/amd64"
    """Target platform; must match the ECS task's ``cpu_architecture`` (X86_64)."""
    keep_last_images: int = 30
    """Lifecycle: images beyond the newest N are expired (a pinned digest older than that goes too)."""
    untagged_expiry_days: int = 7
    """Lifecycle: untagged images (superseded builds, attestations) expire after this many days."""
    force_delete: bool = False
    """Delete the repository even when it holds images (dev teardown); off so images are not lost."""


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def _validate(args: RegistryArgs, repository_name: str) -> tuple[Path, Path] | None:
    """Validate the args; return the (context, dockerfile) to build, or None when a digest is given."""
    if not _REPOSITORY_NAME.match(repository_name):
        raise ValueError(
            f"RegistryArgs.repository_name={repository_name!r} is not a valid ECR name "
            "(2-256 lowercase letters, digits, '.', '_', '-', '/' separated components)"
        )
    if args.keep_last_images < 1:
        raise ValueError(f"RegistryArgs.keep_last_images={args.keep_last_images}: must be >= 1")
    if args.untagged_expiry_days < 1:
        raise ValueError(f"RegistryArgs.untagged_expiry_days={args.untagged_expiry_days}: must be >= 1")
    if args.image_digest is not None:
        if not _DIGEST_REF.match(args.image_digest):
            raise ValueError(
                f"RegistryArgs.image_digest={args.image_digest!r} is not a pinned reference "
                "'<registry>/<repository>@sha256:<64 lowercase hex>'"
            )
        return None
    try:
        docker_build.Platform(args.platform)
    except ValueError as exc:
        raise ValueError(
            f"RegistryArgs.platform={args.platform!r} is not a Docker platform such as 'linux/amd64'"
        ) from exc
    context = _resolve(args.context or "app")
    dockerfile = _resolve(args.dockerfile) if args.dockerfile is not None else context / "Dockerfile"
    if not context.is_dir():
        raise ValueError(f"RegistryArgs.context={args.context!r}: build context {context} is not a directory")
    if not dockerfile.is_file():
        raise ValueError(f"RegistryArgs.dockerfile={args.dockerfile!r}: {dockerfile} does not exist")
    return context, dockerfile


def lifecycle_policy(keep_last_images: int, untagged_expiry_days: int) -> str:
    """ECR lifecycle policy: expire untagged images after N days, keep only the newest images."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    # a tagStatus "any" rule must have the lowest precedence (highest priority number)
                    "rulePriority": 2,
                    "description": f"Keep the last {keep_last_images} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_last_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class Registry(Block):
    """The app's container registry (ECR: immutable tags, scan on push, encrypted, lifecycle
    policy) and its image: built from the app's Dockerfile and pushed with docker-build, or a
    given digest. ``image_ref`` is always pinned by digest."""

    repository_url: pulumi.Output[str]
    """URL of the ECR repository."""
    repository_arn: pulumi.Output[str]
    """ARN of the ECR repository."""
    repository_name: pulumi.Output[str]
    """Name of the ECR repository."""
    image_ref: pulumi.Output[str]
    """The image to deploy, always pinned by digest (``<repository>@sha256:...``)."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        repository_name = args.repository_name or re.sub(
            r"[^a-z0-9._/-]+", "-", f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}".lower()
        ).strip("-._/")
        build = _validate(args, repository_name)
        super().__init__("ai-platform:aws:Registry", name, args, opts)

        repository = self.child(
            "repository",
            aws.ecr.Repository,
            aws.ecr.RepositoryArgs(
                name=repository_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)
                    if args.kms_key_arn is not None
                    else aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
                ],
                force_delete=args.force_delete,
            ),
            name="repo",
        )
        self.child(
            "lifecyclePolicy",
            aws.ecr.LifecyclePolicy,
            aws.ecr.LifecyclePolicyArgs(
                repository=repository.name,
                policy=lifecycle_policy(args.keep_last_images, args.untagged_expiry_days),
            ),
            name="lifecycle",
        )

        if build is None:
            assert args.image_digest is not None
            image_ref: pulumi.Output[str] = pulumi.Output.from_input(args.image_digest)
        else:
            context, dockerfile = build
            token = aws.ecr.get_authorization_token_output(
                registry_id=repository.registry_id, opts=pulumi.InvokeOptions(parent=self)
            )
            image_tags = [pulumi.Output.concat(repository.repository_url, ":", context_tag(context))]
            image = self.child(
                "image",
                docker_build.Image,
                docker_build.ImageArgs(
                    context=docker_build.BuildContextArgs(location=str(context)),
                    dockerfile=docker_build.DockerfileArgs(location=str(dockerfile)),
                    platforms=[docker_build.Platform(args.platform)],
                    tags=image_tags,  # image tags (docker-build's `tags` are not resource tags)
                    push=True,
                    build_on_preview=False,  # previews stay fast; the digest is known after `up`
                    registries=[
                        docker_build.RegistryArgs(
                            address=repository.repository_url.apply(lambda url: url.split("/", 1)[0]),
                            username=token.user_name,
                            password=pulumi.Output.secret(token.password),
                        )
                    ],
                ),
                name="image",
            )
            image_ref = pulumi.Output.concat(repository.repository_url, "@", image.digest)

        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.repository_name = repository.name
        self.image_ref = image_ref
        self.register_outputs(
            {"repositoryUrl": self.repository_url, "repositoryArn": self.repository_arn, "imageRef": self.image_ref}
        )
