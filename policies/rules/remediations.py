"""The safe fixes behind the ``remediate`` enforcement level, one per rule and resource type.

A fix is safe when it only moves a resource towards its rule with a value there is no real choice
about: the required tags from the config (or the stack's tags), automatic key rotation, a plain
HTTP listener on port 80 redirecting to HTTPS on 443, a log retention raised to the minimum. The
framework applies a fix only if the rule's own checks pass on the result (``build_policies``), so
a fix may decline (return None) or be incomplete without ever hiding a violation. Rules with no
fix here refuse the ``remediate`` level (``policies.servicer``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.framework import CheckSet, Resource, updated
from policies.providers import MANAGED_PACKAGES
from policies.rules import aws, azure, gcp, kubernetes

checks = CheckSet("remediations")

DAY_SECONDS = 86_400

# --- required-tags -------------------------------------------------------------------------------


TAG_VALUE = {
    "aws": re.compile(r"^[\w\s.:/=+@-]{1,256}$"),
    "azure-native": re.compile(r"^.{1,256}$"),
    "gcp": re.compile(r"^[a-z0-9_-]{1,63}$"),
    "kubernetes": re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"),
}
"""Values each provider accepts for a tag or label: a fix never writes one the provider would refuse."""


def _tag_values(r: Resource, config: Mapping[str, Any]) -> dict[str, Any]:
    """Values for missing tags: the rule's ``tagValues`` setting, else the stack's tags of the same key; only
    values the resource's provider accepts."""
    values = {**r.stack_tags, **(config.get("tagValues") or {})}
    syntax = TAG_VALUE.get(r.package)
    return {k: v for k, v in values.items() if isinstance(v, str) and (syntax is None or syntax.match(v))}


def _with_missing(current: Any, config: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """``current`` tags plus the required ones it lacks (absent or empty); None when nothing can be added."""
    current = current if isinstance(current, dict) else {}
    added = {
        key: values[key]
        for key in config.get("requiredTags") or ()
        if current.get(key) in (None, "") and key in values and values[key].strip()
    }
    return {**current, **added} if added else None


@checks.remediation("required-tags", *(f"{package}:*" for package in MANAGED_PACKAGES))
def add_required_tags(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where the resource already has a tag map, or its provider has one place for tags (not GCP, whose
    types take ``labels``, ``userLabels`` or ``resourceLabels``: an absent map leaves the choice open)."""
    paths = r.tag_style.wire_paths
    path = next((p for p in paths if isinstance(r.known(p), dict)), paths[0] if len(paths) == 1 else None)
    if path is None:
        return None
    tags = _with_missing(r.known(path), config, _tag_values(r, config))
    return updated(r.props, path, tags) if tags is not None else None


@checks.remediation("required-tags", *kubernetes.TEMPLATE_LABELS)
def add_required_pod_labels(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod template's labels too (extra labels leave the workload's selector matching)."""
    path = kubernetes.TEMPLATE_LABELS[r.type]
    labels = _with_missing(r.known(path), config, _tag_values(r, config))
    return updated(r.props, path, labels) if labels is not None else None


# --- kms-key-rotation ------------------------------------------------------------------------------

AWS_ROTATION_DAYS = (90, 2560)
"""The rotation periods AWS KMS accepts (``rotationPeriodInDays``)."""
AZURE_MINIMUM_ROTATION_DAYS = 7
"""Key Vault rotates a key at the earliest 7 days after creation."""


@checks.remediation("kms-key-rotation", aws.KMS_KEY)
def rotate_aws_key(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Turn on rotation; shorten a period above the maximum where KMS accepts the maximum."""
    props = updated(r.props, "enableKeyRotation", True)
    period = r.known("rotationPeriodInDays")
    maximum = int(config.get("maximumRotationDays", 365))
    if isinstance(period, int | float) and period > maximum:
        if not AWS_ROTATION_DAYS[0] <= maximum <= AWS_ROTATION_DAYS[1]:
            return None
        props = updated(props, "rotationPeriodInDays", maximum)
    return props


@checks.remediation("kms-key-rotation", gcp.CRYPTO_KEY)
def rotate_gcp_key(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """A rotation period of the maximum, in the seconds Cloud KMS takes."""
    maximum = int(config.get("maximumRotationDays", 365))
    return updated(r.props, "rotationPeriod", f"{maximum * DAY_SECONDS}s")


@checks.remediation("kms-key-rotation", azure.KEY)
def rotate_azure_key(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Add a rotate action after the maximum, to a policy with none and no expiry to reconcile it with."""
    maximum = int(config.get("maximumRotationDays", 365))
    policy = r.known("properties.rotationPolicy") or {}
    if maximum < AZURE_MINIMUM_ROTATION_DAYS or not isinstance(policy, dict):
        return None
    actions = r.known("properties.rotationPolicy.lifetimeActions") or []
    kinds = [str((a.get("action") or {}).get("type", "")).lower() for a in actions if isinstance(a, dict)]
    if "rotate" in kinds or r.known("properties.rotationPolicy.attributes.expiryTime") is not None:
        return None
    rotate = {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": f"P{maximum}D"}}
    return updated(r.props, "properties.rotationPolicy.lifetimeActions", [*actions, rotate])


# --- tls-in-transit: plain HTTP redirects ------------------------------------------------------------

HTTPS_REDIRECT = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}


@checks.remediation("tls-in-transit", aws.LB_LISTENER, aws.ALB_LISTENER)
def redirect_http_to_https(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """An HTTP listener on port 80 answers with a permanent redirect to HTTPS on 443 (other ports: no
    obvious HTTPS counterpart, so no fix)."""
    if r.known("protocol") not in (None, "HTTP") or r.known("port") != 80:
        return None
    return updated(r.props, "defaultActions", [HTTPS_REDIRECT])


# --- log-retention ---------------------------------------------------------------------------------

CLOUDWATCH_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545),
    *(731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
"""The only values CloudWatch Logs accepts for ``retentionInDays``."""
APP_INSIGHTS_RETENTION_DAYS = (30, 60, 90, 120, 180, 270, 365, 550, 730)
"""The only values Application Insights accepts for ``retentionInDays``."""
WORKSPACE_RETENTION_DAYS = range(30, 731)
"""What a Log Analytics workspace accepts on its pay-as-you-go tier."""
GCP_LOG_BUCKET_RETENTION_DAYS = range(1, 3651)


def _at_least(minimum: int, accepted: Any) -> int | None:
    """The smallest value the service accepts that meets ``minimum``; None if it accepts none."""
    return next((days for days in accepted if days >= minimum), None)


RETENTION = {
    aws.LOG_GROUP: ("retentionInDays", CLOUDWATCH_RETENTION_DAYS),
    gcp.LOG_BUCKET: ("retentionDays", GCP_LOG_BUCKET_RETENTION_DAYS),
    azure.WORKSPACE: ("retentionInDays", WORKSPACE_RETENTION_DAYS),
    azure.APP_INSIGHTS: ("retentionInDays", APP_INSIGHTS_RETENTION_DAYS),
}
"""Where each type keeps its retention in days, and the values its service accepts."""


@checks.remediation("log-retention", *RETENTION)
def raise_retention(r: Resource, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The smallest retention the service accepts that meets the minimum."""
    path, accepted = RETENTION[r.type]
    days = _at_least(int(config.get("minimumRetentionDays", 30)), accepted)
    return updated(r.props, path, days) if days is not None else None
