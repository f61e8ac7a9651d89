"""Azure building blocks, each usable alone, and ``AiPlatform`` composing them all.

Importing is cheap: each block imports its pulumi_azure_native module when it is first built.
"""

from components.azure.ai import Ai, AiArgs
from components.azure.api_management import ApiManagement, ApiManagementArgs
from components.azure.cache import Cache, CacheArgs
from components.azure.container_service import ContainerService, ContainerServiceArgs
from components.azure.gateway import Gateway, GatewayArgs
from components.azure.identity import Identity, IdentityArgs
from components.azure.network import Network, NetworkArgs
from components.azure.observability import Observability, ObservabilityArgs
from components.azure.platform import AiPlatform
from components.azure.queue import Queue, QueueArgs
from components.azure.registry import Registry, RegistryArgs
from components.azure.secrets import SecretStore, SecretStoreArgs
from components.azure.vector_store import VectorStore, VectorStoreArgs

__all__ = [
    "Ai",
    "AiArgs",
    "AiPlatform",
    "ApiManagement",
    "ApiManagementArgs",
    "Cache",
    "CacheArgs",
    "ContainerService",
    "ContainerServiceArgs",
    "Gateway",
    "GatewayArgs",
    "Identity",
    "IdentityArgs",
    "Network",
    "NetworkArgs",
    "Observability",
    "ObservabilityArgs",
    "Queue",
    "QueueArgs",
    "Registry",
    "RegistryArgs",
    "SecretStore",
    "SecretStoreArgs",
    "VectorStore",
    "VectorStoreArgs",
]
