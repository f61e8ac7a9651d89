"""Identity: the app's own service account with the project roles every workload needs (log and
metric writers); data access comes from each block's ``grant_*`` methods, scoped to that resource.

Basic roles (``roles/owner``, ``roles/editor``, ``roles/viewer``) and the public principals are
refused wherever a role or a member is granted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp.projects as projects
import pulumi_gcp.serviceaccount as serviceaccount

from components.base import Block
from components.gcp.apis import GcpArgs, after

BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
WORKLOAD_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def role_problem(role: str) -> str | None:
    if role in BASIC_ROLES:
        return f"basic roles ({', '.join(BASIC_ROLES)}) are refused: grant a predefined role"
    if not role.startswith(("roles/", "projects/", "organizations/")):
        return "must be a role name such as roles/logging.logWriter"
    return None


def member_problem(member: str) -> str | None:
    if member in PUBLIC_MEMBERS:
        return f"{member} would make it public: grant a named principal (serviceAccount:...)"
    if ":" not in member:
        return "must be a principal such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com"
    return None


@dataclass(kw_only=True)
class IdentityArgs(GcpArgs):
    """Inputs of :class:`Identity`. Child keys for ``transform``: ``account``, ``role-<role>``."""

    account_id: str
    """Id of the service account (the part before ``@``)."""
    roles: Sequence[str] = WORKLOAD_ROLES
    """Project roles for the account (predefined roles; basic roles are refused)."""


class Identity(Block):
    email: pulumi.Output[str]
    """E-mail of the service account."""
    member: pulumi.Output[str]
    """``serviceAccount:<email>``: what grant_* methods take."""
    bindings: list[pulumi.Resource]
    """The project role bindings: the workload waits for them."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not _ACCOUNT_ID.match(args.account_id):
            raise ValueError(
                f"IdentityArgs.account_id={args.account_id!r}: 6-30 of a-z, 0-9 and -, starting with a letter"
            )
        for role in args.roles:
            problem = role_problem(role)
            if problem:
                raise ValueError(f"IdentityArgs.roles contains {role!r}: {problem}")
        super().__init__("ai-platform:gcp:Identity", name, args, opts)
        self._args = args
        account = self.child(
            "account",
            serviceaccount.Account,
            serviceaccount.AccountArgs(
                project=args.project, account_id=args.account_id, display_name=f"{args.account_id} (Cloud Run)"
            ),
            after(args),
            name="sa",
        )
        self.email = account.email
        self.member = account.member
        self.bindings = [self.grant_project_role(role) for role in args.roles]
        self.register_outputs({"email": self.email})

    def grant_project_role(self, role: str) -> projects.IAMMember:
        """A project-level role for the account (for roles with no narrower resource to bind on)."""
        problem = role_problem(role)
        if problem:
            raise ValueError(f"Identity.grant_project_role role={role!r}: {problem}")
        return self.child(
            f"role-{role}",
            projects.IAMMember,
            projects.IAMMemberArgs(project=self._args.project, role=role, member=self.member),
            name=role.rsplit("/", 1)[-1].replace(".", "-"),
        )
