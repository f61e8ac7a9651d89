"""Registry: an Artifact Registry Docker repository (immutable tags, customer-managed key: each
dropped only through a named dev opt-out) and the app image, built from app/ and pushed, or a
given digest. ``image_ref`` is always pinned."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build
import pulumi_gcp.artifactregistry as artifactregistry
import pulumi_gcp.organizations as organizations

from components import validation
from components.base import Block
from components.gcp.apis import GcpArgs, after

# the build-context hash is target-neutral; it lives with the reference target's registry for now
from components.images import context_tag

_REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(kw_only=True)
class RegistryArgs(GcpArgs):
    """Inputs of :class:`Registry`. Child keys for ``transform``: ``repository``, ``image``."""

    location: str
    """Region of the Artifact Registry repository."""
    repository_id: str = "ai-platform"
    """Id of the repository."""
    kms_key_name: pulumi.Input[str] | None = None
    """Customer-managed key for the repository; ``None`` uses Google-managed encryption."""
    wait_for: list[pulumi.Resource] = field(default_factory=list)
    """The Artifact Registry agent's key binding."""
    image_digest: str | None = None
    """A pinned ``registry/repo@sha256:<64 hex>`` reference: when given no image is built."""
    context: str | None = None
    """The Docker build context (absolute, e.g. the project's app/); needed unless ``image_digest``."""
    immutable_tags: bool = True
    """False only through the dev opt-out ``gcp.insecure.mutableTags`` (the service still runs a digest)."""
    platform: str = "linux/amd64"
    """Platform the image is built for."""


class Registry(Block):
    repository_url: pulumi.Output[str]
    """``<location>-docker.pkg.dev/<project>/<repository>``."""
    image_ref: pulumi.Output[str]
    """The image to deploy, always pinned by digest."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not _REPOSITORY_ID.match(args.repository_id):
            raise ValueError(f"RegistryArgs.repository_id={args.repository_id!r}: 1-63 of a-z, 0-9 and -")
        if args.image_digest is not None:
            problem = validation.digest_ref(args.image_digest)
            if problem:
                raise ValueError(f"RegistryArgs.image_digest={args.image_digest!r}: {problem}")
        elif args.context is None or not (Path(args.context) / "Dockerfile").is_file():
            raise ValueError(
                f"RegistryArgs.context={args.context!r}: a directory with a Dockerfile, or set image_digest"
            )
        super().__init__("ai-platform:gcp:Registry", name, args, opts)
        repository = self.child(
            "repository",
            artifactregistry.Repository,
            artifactregistry.RepositoryArgs(
                project=args.project,
                location=args.location,
                repository_id=args.repository_id,
                format="DOCKER",
                docker_config=artifactregistry.RepositoryDockerConfigArgs(immutable_tags=args.immutable_tags),
                kms_key_name=args.kms_key_name,
            ),
            after(args, *args.wait_for),
            name="repo",
        )
        host = f"{args.location}-docker.pkg.dev"
        self.repository_url = pulumi.Output.concat(host, "/", repository.project, "/", repository.repository_id)
        if args.image_digest is not None:
            self.image_ref = pulumi.Output.from_input(args.image_digest)
        else:
            assert args.context is not None
            context = Path(args.context)
            client = organizations.get_client_config_output(opts=pulumi.InvokeOptions(parent=self))
            image = self.child(
                "image",
                docker_build.Image,
                docker_build.ImageArgs(
                    context=docker_build.BuildContextArgs(location=str(context)),
                    dockerfile=docker_build.DockerfileArgs(location=str(context / "Dockerfile")),
                    platforms=[docker_build.Platform(args.platform)],
                    tags=[pulumi.Output.concat(self.repository_url, "/api:", context_tag(context))],
                    push=True,
                    build_on_preview=False,
                    registries=[
                        docker_build.RegistryArgs(
                            address=host,
                            username="oauth2accesstoken",
                            password=pulumi.Output.secret(client.access_token),
                        )
                    ],
                ),
                name="image",
            )
            self.image_ref = pulumi.Output.concat(self.repository_url, "/api@", image.digest)
        self.register_outputs({"repositoryUrl": self.repository_url, "imageRef": self.image_ref})
