"""Pulumi entry point: `pulumi up` runs the platform the stack's config describes."""

from components.program import run

run()
