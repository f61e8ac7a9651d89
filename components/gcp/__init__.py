"""GCP building blocks, each usable alone, and ``AiPlatform`` composing them all.

Importing is cheap: each name is loaded on first use (PEP 562), and each block module imports
only the pulumi_gcp services it uses (``pulumi_gcp.compute`` alone costs about 2 s).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AiPlatform": "platform",
    "Apis": "apis",
    "ApisArgs": "apis",
    "Cache": "cache",
    "CacheArgs": "cache",
    "ContainerService": "container_service",
    "ContainerServiceArgs": "container_service",
    "EncryptionKey": "kms",
    "EncryptionKeyArgs": "kms",
    "Gateway": "gateway",
    "GatewayArgs": "gateway",
    "Identity": "iam",
    "IdentityArgs": "iam",
    "Network": "network",
    "NetworkArgs": "network",
    "Observability": "observability",
    "ObservabilityArgs": "observability",
    "Queue": "queue",
    "QueueArgs": "queue",
    "Registry": "registry",
    "RegistryArgs": "registry",
    "SecretStore": "secrets",
    "SecretStoreArgs": "secrets",
    "VectorStore": "vector_store",
    "VectorStoreArgs": "vector_store",
}

__all__ = sorted(_EXPORTS)  # pyright: ignore[reportUnsupportedDunderAll]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components.gcp' has no attribute {name!r}")
    return getattr(importlib.import_module(f"components.gcp.{module}"), name)
