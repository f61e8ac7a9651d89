"""Checks for the azure target."""

from __future__ import annotations

from policies.framework import CheckSet

checks = CheckSet("azure")
