"""The program every stack runs: stack config -> PlatformSpec -> the target's AiPlatform -> exports.

Shared by ``__main__.py`` (the real CLI) and ``ai-platform plan`` (the mock runtime), so the
offline plan is the same code path as ``pulumi up``. The target's platform class comes from
the registry (components.targets).
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.spec import NAMESPACE, PlatformSpec, load_spec

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def secret_inputs(spec: PlatformSpec) -> dict[str, pulumi.Output[str]]:
    """Every secret config key the spec names, read as a Pulumi secret (never plain)."""
    config = pulumi.Config(NAMESPACE)
    return {key: config.require_secret(key) for key in spec.secret_config_keys}


def run(spec: PlatformSpec | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
    """Build the platform for ``spec`` (default: the running stack's config) and export its outputs.

    ``opts`` reach the platform component and so every resource below it: explicit providers
    (``providers=[...]``), ``protect``, ``aliases`` and the like.
    """
    spec = spec or load_spec()
    platform_class = spec.target.platform_class()
    platform = platform_class(NAMESPACE, spec, secret_inputs(spec), project_root=PROJECT_ROOT, opts=opts)
    for name, value in platform.exports().items():
        pulumi.export(name, value)
