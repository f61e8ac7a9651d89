"""The checks behind the checklist: one module per target, ``common`` for rules spanning them, and
``remediations`` for the safe fixes of the ``remediate`` level."""

from __future__ import annotations

from policies.framework import CheckSet
from policies.rules import aws, azure, common, gcp, kubernetes, remediations

TARGET_CHECKS: tuple[CheckSet, ...] = (aws.checks, gcp.checks, azure.checks, kubernetes.checks)
"""What each target contributes, in a fixed order (it is also the order of reported violations)."""

ALL_CHECKS: tuple[CheckSet, ...] = (*TARGET_CHECKS, remediations.checks, common.build(TARGET_CHECKS))
