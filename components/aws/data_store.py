"""Support shared by the AWS data-store blocks (Cache, VectorStore): a private security group
that admits only the sources granted to it."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import Block

#: ``ddd:hh24:mi-ddd:hh24:mi`` (UTC), the format of ElastiCache and RDS maintenance windows.
MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
#: ``hh24:mi-hh24:mi`` (UTC), the format of snapshot / backup windows.
DAILY_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class DataStoreBlock(Block):
    """A block whose data store sits behind its own security group, which has no egress and admits
    only the given source security groups on the store's port (shared by Cache and VectorStore)."""

    security_group_id: pulumi.Output[str]

    def _private_security_group(
        self, vpc_id: pulumi.Input[str], port: int, what: str, allowed: Sequence[pulumi.Input[str]]
    ) -> aws.ec2.SecurityGroup:
        """Child key ``securityGroup``; ingress rules ``ingress:allowed<i>`` for ``allowed``."""
        self._port = port
        self._what = what
        sg = self.child(
            "securityGroup",
            aws.ec2.SecurityGroup,
            aws.ec2.SecurityGroupArgs(
                vpc_id=vpc_id,
                description=f"{what} {self._block_name}: ingress on {port} from allowed security groups only",
                # No egress rules: the provider removes AWS's default allow-all egress; a data store needs none.
                revoke_rules_on_delete=True,
            ),
            name="sg",
        )
        self.security_group_id = sg.id
        for index, source in enumerate(allowed):
            self.allow_from(f"allowed{index}", source)
        return sg

    def allow_from(self, key: str, source_security_group_id: pulumi.Input[str]) -> None:
        """Admit ``source_security_group_id`` on the store's port (child key ``ingress:<key>``)."""
        self.child(
            f"ingress:{key}",
            aws.vpc.SecurityGroupIngressRule,
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=self.security_group_id,
                referenced_security_group_id=source_security_group_id,
                ip_protocol="tcp",
                from_port=self._port,
                to_port=self._port,
                description=f"{self._what} from {key}",
            ),
            name=f"ingress-{key}",
        )


def known_length(values: pulumi.Input[Sequence[pulumi.Input[str]]]) -> int | None:
    """The length of a list given as a plain sequence; ``None`` for an output (not known yet)."""
    if isinstance(values, str) or not isinstance(values, Sequence):  # an Output or awaitable: unknown
        return None
    return len(values)


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 1440


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def validate_windows(
    owner: str,
    weekly: tuple[str, str],
    daily: tuple[str, str] | None,
    *,
    min_weekly_minutes: int,
    min_daily_minutes: int,
) -> None:
    """Check a weekly maintenance window (``ddd:hh:mm-ddd:hh:mm``) and a daily backup window
    (``hh:mm-hh:mm``, UTC) as ElastiCache and RDS do: format, minimum length, no overlap."""
    weekly_field, weekly_value = weekly
    if not MAINTENANCE_WINDOW.match(weekly_value):
        raise ValueError(f"{owner}.{weekly_field}={weekly_value!r} is invalid: expected UTC like 'sun:04:00-sun:05:00'")
    start_text, end_text = weekly_value.split("-")
    start = _DAYS.index(start_text[:3]) * 1440 + _minutes(start_text[4:])
    end = _DAYS.index(end_text[:3]) * 1440 + _minutes(end_text[4:])
    length = (end - start) % _WEEK
    if length < min_weekly_minutes:
        raise ValueError(
            f"{owner}.{weekly_field}={weekly_value!r} is invalid: at least {min_weekly_minutes} minutes long"
        )
    if daily is None:
        return
    daily_field, daily_value = daily
    if not DAILY_WINDOW.match(daily_value):
        raise ValueError(f"{owner}.{daily_field}={daily_value!r} is invalid: expected UTC like '02:00-03:00'")
    daily_start, daily_end = (_minutes(t) for t in daily_value.split("-"))
    daily_length = (daily_end - daily_start) % 1440
    if daily_length < min_daily_minutes:
        raise ValueError(f"{owner}.{daily_field}={daily_value!r} is invalid: at least {min_daily_minutes} minutes long")
    for day in range(7):
        offset = (day * 1440 + daily_start - start) % _WEEK
        # The two intervals overlap when either starts inside the other.
        if offset < length or (_WEEK - offset) % _WEEK < daily_length:
            raise ValueError(
                f"{owner}.{daily_field}={daily_value!r} overlaps {weekly_field}={weekly_value!r}: "
                "choose disjoint windows"
            )
