"""Kubernetes building blocks, each usable alone, and ``AiPlatform`` composing them all.

Importing is cheap: each block imports the typed ``pulumi_kubernetes`` modules it uses when it
is first built (together they cost about a second).
"""

from components.kubernetes.cache import Cache, CacheArgs
from components.kubernetes.container_service import ContainerService, ContainerServiceArgs, MountedSecret
from components.kubernetes.gateway import Gateway, GatewayArgs
from components.kubernetes.network import Network, NetworkArgs
from components.kubernetes.observability import Observability, ObservabilityArgs
from components.kubernetes.platform import AiPlatform
from components.kubernetes.secrets import SecretStore, SecretStoreArgs
from components.kubernetes.vector_store import VectorStore, VectorStoreArgs

__all__ = [
    "AiPlatform",
    "Cache",
    "CacheArgs",
    "ContainerService",
    "ContainerServiceArgs",
    "Gateway",
    "GatewayArgs",
    "MountedSecret",
    "Network",
    "NetworkArgs",
    "Observability",
    "ObservabilityArgs",
    "SecretStore",
    "SecretStoreArgs",
    "VectorStore",
    "VectorStoreArgs",
]
