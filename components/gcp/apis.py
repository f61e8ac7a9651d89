"""The project's APIs, and what every GCP block shares: it waits for them.

A new project has most APIs off; creating a resource of a disabled API fails. ``Apis`` enables
each one (``projects.Service``, ``disable_on_destroy=False`` so a destroy never switches off an
API other workloads use), and every block takes ``depends_on`` so its children wait for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp.projects as projects

from components.base import Block, BlockArgs

#: the APIs the platform's resources use
API_SERVICES = (
    "compute.googleapis.com",
    "servicenetworking.googleapis.com",
    "run.googleapis.com",
    "iam.googleapis.com",
    "cloudkms.googleapis.com",
    "secretmanager.googleapis.com",
    "redis.googleapis.com",
    "sqladmin.googleapis.com",
    "pubsub.googleapis.com",
    "artifactregistry.googleapis.com",
    "monitoring.googleapis.com",
    "logging.googleapis.com",
    "billingbudgets.googleapis.com",
)


@dataclass(kw_only=True)
class GcpArgs(BlockArgs):
    """The args every GCP block takes besides tags, protect and transform."""

    project: str
    """The project id the block's resources live in."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources every child waits for: the project's enabled APIs (``Apis.services``)."""


def after(args: GcpArgs, *extra: pulumi.Resource | None) -> pulumi.ResourceOptions:
    """Options for a child that waits for the block's ``depends_on`` (and ``extra``, but ``None``:
    an optional argument left to ``depends_on``)."""
    return pulumi.ResourceOptions(depends_on=[*args.depends_on, *(e for e in extra if e is not None)])


@dataclass(kw_only=True)
class ApisArgs(GcpArgs):
    """Inputs of :class:`Apis`. Child keys for ``transform``: the API names (``run.googleapis.com``)."""

    services: Sequence[str] = API_SERVICES
    """The Google APIs to enable in the project (the platform's set by default)."""


class Apis(Block):
    """The project's APIs, enabled and left enabled on destroy."""

    def __init__(self, name: str, args: ApisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        bad = [s for s in args.services if not s.endswith(".googleapis.com")]
        if bad:
            raise ValueError(f"ApisArgs.services={bad}: each must be an API name such as run.googleapis.com")
        super().__init__("ai-platform:gcp:Apis", name, args, opts)
        self.services = [
            self.child(
                service,
                projects.Service,
                projects.ServiceArgs(project=args.project, service=service, disable_on_destroy=False),
                name=service.split(".", 1)[0],
            )
            for service in args.services
        ]
        self.register_outputs({})
