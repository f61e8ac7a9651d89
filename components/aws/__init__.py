"""AWS building blocks, each usable alone, and ``AiPlatform`` composing them all.

Importing is cheap: pulumi_aws loads a service module only when a block first uses it.
"""

from components.aws.cache import Cache, CacheArgs
from components.aws.container_service import ContainerService, ContainerServiceArgs
from components.aws.function import Function, FunctionArgs
from components.aws.gateway import Gateway, GatewayArgs
from components.aws.network import Network, NetworkArgs
from components.aws.observability import Observability, ObservabilityArgs
from components.aws.platform import AiPlatform
from components.aws.queue import Queue, QueueArgs
from components.aws.registry import Registry, RegistryArgs
from components.aws.rest_api import RestApi, RestApiArgs
from components.aws.secrets import SecretStore, SecretStoreArgs
from components.aws.vector_store import VectorStore, VectorStoreArgs

__all__ = [
    "AiPlatform",
    "Cache",
    "CacheArgs",
    "ContainerService",
    "ContainerServiceArgs",
    "Function",
    "FunctionArgs",
    "Gateway",
    "GatewayArgs",
    "Network",
    "NetworkArgs",
    "Observability",
    "ObservabilityArgs",
    "Queue",
    "QueueArgs",
    "Registry",
    "RegistryArgs",
    "RestApi",
    "RestApiArgs",
    "SecretStore",
    "SecretStoreArgs",
    "VectorStore",
    "VectorStoreArgs",
]
