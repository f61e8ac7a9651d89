"""Checks for the aws target."""

from __future__ import annotations

from policies.framework import CheckSet

checks = CheckSet("aws")
