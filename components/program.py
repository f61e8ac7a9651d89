"""The program every stack runs: stack config -> PlatformSpec -> the cloud's AiPlatform -> exports.

Shared by ``__main__.py`` (the real CLI) and ``ai-platform plan`` (the mock runtime), so the
offline plan is the same code path as ``pulumi up``.
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


def run(spec: PlatformSpec | None = None) -> None:
    """Build the platform for ``spec`` (default: the running stack's config) and export its outputs."""
    spec = spec or load_spec()
    if spec.cloud == "aws":
        from components.aws.platform import AiPlatform

        platform = AiPlatform(f"{NAMESPACE}", spec, secret_inputs(spec), project_root=PROJECT_ROOT)
    else:
        raise NotImplementedError(
            f"ai-platform:cloud = {spec.cloud!r}: this release deploys aws; gcp, azure and kubernetes are planned"
        )
    for name, value in platform.exports().items():
        pulumi.export(name, value)
