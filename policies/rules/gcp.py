"""Checks for the gcp target."""

from __future__ import annotations

from policies.framework import CheckSet

checks = CheckSet("gcp")
