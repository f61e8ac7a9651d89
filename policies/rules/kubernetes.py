"""Checks for the kubernetes target."""

from __future__ import annotations

from policies.framework import CheckSet

checks = CheckSet("kubernetes")
