"""The component package: every target's ``AiPlatform`` and blocks for TypeScript, Go, C#, Java
and YAML programs (``pulumi package add``), hosted by Pulumi's Python component provider.

The facades (``provider/<target>.py``, ``provider/spec_types.py``) are generated from the blocks
and the stack spec by ``scripts/generate_package.py``; ``provider/schema.json`` is the schema
Pulumi infers from them. Python programs keep using ``components.<target>`` directly (their type
tokens and URNs do not change); the facades are new types, ``ai-platform:index:<Target><Block>``.
"""

from __future__ import annotations

import inspect

import pulumi

PACKAGE = "ai-platform"
"""The package's name: its types are ``ai-platform:index:<Target><Block>``."""


def components() -> list[type[pulumi.ComponentResource]]:
    """Every facade, in a stable order (imports the four targets' blocks)."""
    from provider import aws, azure, gcp, kubernetes

    found: list[type[pulumi.ComponentResource]] = []
    for module in (aws, gcp, azure, kubernetes):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, pulumi.ComponentResource) and value.__module__ == module.__name__:
                found.append(value)
    return found
