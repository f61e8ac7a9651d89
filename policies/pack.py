"""The pack's identity and its policies, built from the catalog and every target's checks.

``policies/__main__.py`` is the only place that constructs ``PolicyPack`` (that starts the gRPC
server); tests and the offline check use :func:`policies` in-process.
"""

from __future__ import annotations

from pulumi_policy import Policy

from policies.catalog import RULES
from policies.framework import build_policies
from policies.rules import ALL_CHECKS

PACK_NAME = "ai-platform-production"
PACK_DESCRIPTION = "The ai-platform production security checklist for AWS, GCP, Azure and Kubernetes."


def policies() -> list[Policy]:
    return build_policies(RULES, ALL_CHECKS)
