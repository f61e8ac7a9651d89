"""``construct`` of each facade, as the engine calls it for a TypeScript/Go/YAML program (wire
inputs with camelCase names, through the hosted provider), registers the same children with the
same inputs as the Python block built directly, under the mock runtime."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pytest
from google.protobuf import struct_pb2
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime import rpc

from ai_platform_cli.main import StackFile, load_stack, plan_stack
from components import aws, kubernetes, targets
from components.azure.ai import ModelDeployment
from components.azure.api_management import JwtValidation
from components.azure.vector_store import EntraAdmin
from components.gcp import Apis, ApisArgs, Queue, QueueArgs
from components.gcp import readiness as gcp_readiness
from components.kubernetes import MountedSecret, Network, NetworkArgs, SecretStore, SecretStoreArgs
from components.kubernetes import readiness as kubernetes_readiness
from components.kubernetes.objects import Pods
from components.spec import NAMESPACE, SpecError
from components.testing import Graph, plan
from provider import PACKAGE
from provider.gcp import GcpNetwork
from provider.kubernetes import KubernetesSecretStore
from tests.azure.conftest import DIGEST as AZURE_DIGEST
from tests.azure.conftest import WHERE as AZURE_WHERE
from tests.azure.test_api_management import args as azure_apim_args
from tests.azure.test_container_service import args as azure_service_args
from tests.azure.test_data_services import vector_args as azure_vector_args
from tests.azure.test_gateway import args as azure_gateway_args
from tests.gcp.conftest import DIGEST as GCP_IMAGE
from tests.gcp.conftest import EMAIL, NETWORK, PROJECT, REGION, SUBNET
from tests.gcp.conftest import KEY as GCP_KEY
from tests.kubernetes.conftest import DIGEST as K8S_DIGEST
from tests.kubernetes.conftest import NAMESPACE as K8S_NAMESPACE
from tests.kubernetes.conftest import TAGS as K8S_TAGS
from tests.package.conftest import ROOT

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/73e2d6bc24d8a067"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ai-platform/app@sha256:" + "0" * 64
SUBNETS = ["subnet-a", "subnet-b"]
TAGS = {"owner": "team", "cost-center": "cc-1"}

#: per AWS block: arguments (Python names) that set every required one and some enums and lists
BLOCK_ARGS: dict[str, dict[str, Any]] = {
    "Network": {"tags": TAGS, "nat_gateways": "per_az", "flow_log_traffic_type": "REJECT", "kms_key_arn": KEY},
    "SecretStore": {"tags": TAGS, "protect": True, "secrets": {"openaiApiKey": "x" * 20}},
    "Registry": {"tags": TAGS, "kms_key_arn": KEY, "image_digest": IMAGE},
    "Queue": {"tags": TAGS, "kms_key_arn": KEY, "max_receive_count": 7},
    "Cache": {
        "vpc_id": "vpc-1",
        "subnet_ids": SUBNETS,
        "auth_token": "t" * 32,
        "kms_key_arn": KEY,
        "num_cache_clusters": 2,
        "multi_az": True,
    },
    "VectorStore": {"vpc_id": "vpc-1", "subnet_ids": SUBNETS, "kms_key_arn": KEY, "instance_count": 2},
    "Gateway": {
        "vpc_id": "vpc-1",
        "subnet_ids": SUBNETS,
        "domain": "api.example.com",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
        "waf_mode": "count",
        "ip_allowlist": ["203.0.113.0/24"],
    },
    "ContainerService": {
        "vpc_id": "vpc-1",
        "vpc_cidr_block": "10.0.0.0/16",
        "subnet_ids": SUBNETS,
        "load_balancer_security_group_id": "sg-alb",
        "target_group_arn": TG,
        "listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/50dc/f2f7",
        "load_balancer_arn_suffix": "app/alb/50dc",
        "target_group_arn_suffix": "targetgroup/tg/73e2d6bc24d8a067",
        "image": IMAGE,
        "cpu_architecture": "ARM64",
        "environment": {"APP_LOG_LEVEL": "info"},
    },
    "Observability": {
        "tags": {**TAGS, "stack": "dev"},
        "kms_key_arn": KEY,
        "alert_emails": ["ops@example.com"],
        "load_balancer_arn_suffix": "app/alb/50dc",
        "target_group_arn_suffix": "targetgroup/tg/73e2d6bc24d8a067",
        "cluster_name": "cluster",
        "service_name": "service",
        "budget_monthly_usd": 300.0,
        "cache_member_cluster_ids": ["cache-001"],
    },
}


LABELS = {"owner": "team", "cost-center": "cc-1"}


def _fields(args: Any) -> dict[str, Any]:
    """A block test's args dataclass as a dict of its set values (tuples as lists)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(args) if f.name != "transform"}
    return {k: _plain(v) for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    """Nested args dataclasses (e.g. an Entra administrator) as the dicts another language sends."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


#: per GCP block: arguments (Python names) that set every required one and some enums and lists
GCP_BLOCK_ARGS: dict[str, dict[str, Any]] = {
    "Apis": {"project": PROJECT, "services": ["run.googleapis.com", "pubsub.googleapis.com"]},
    "EncryptionKey": {"project": PROJECT, "location": REGION, "protect": True, "tags": LABELS},
    "Identity": {"project": PROJECT, "account_id": "ai-api-test", "roles": ["roles/logging.logWriter"]},
    "Network": {"project": PROJECT, "region": REGION, "cidr_block": "10.8.0.0/16", "tags": LABELS},
    "SecretStore": {"project": PROJECT, "secrets": {"openaiApiKey": "x" * 20}, "kms_key_name": GCP_KEY},
    "Registry": {"project": PROJECT, "location": REGION, "image_digest": GCP_IMAGE, "kms_key_name": GCP_KEY},
    "Queue": {
        "project": PROJECT,
        "pubsub_agent_member": "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com",
        "kms_key_name": GCP_KEY,
        "max_delivery_attempts": 7,
    },
    "Gateway": {
        "project": PROJECT,
        "region": REGION,
        "service_name": "api",
        "domain": "api.example.com",
        "ssl_profile": "MODERN",
        "ip_allowlist": ["203.0.113.0/24"],
    },
    "ContainerService": {
        "project": PROJECT,
        "region": REGION,
        "image": GCP_IMAGE,
        "service_account_email": EMAIL,
        "network_id": NETWORK,
        "subnetwork_id": SUBNET,
        "environment": {"APP_LOG_LEVEL": "info"},
        "tags": LABELS,
    },
    "Cache": {"project": PROJECT, "region": REGION, "network_id": NETWORK, "tier": "BASIC", "kms_key_name": GCP_KEY},
    "VectorStore": {
        "project": PROJECT,
        "region": REGION,
        "network_id": NETWORK,
        "availability": "ZONAL",
        "backup_retention_days": 7,
        "tags": LABELS,
    },
    "Observability": {
        "project": PROJECT,
        "alert_emails": ["ops@example.com"],
        "service_name": "api",
        "url_map_name": "urls",
        "domain": "api.example.com",
        "billing_account": "01A2B3-C4D5E6-F7A8B9",
        "budget_amount": 250.0,
        "budget_thresholds_percent": [90, 100],
    },
}
K8S_APP = {"namespace": K8S_NAMESPACE, "labels": {"app.kubernetes.io/name": "ai-api"}}
#: per Kubernetes block; ``Pods`` and ``MountedSecret`` arguments given as objects, as other languages do
K8S_BLOCK_ARGS: dict[str, dict[str, Any]] = {
    "Network": {"tags": K8S_TAGS, "namespace": K8S_NAMESPACE, "pod_security_version": "v1.33"},
    "SecretStore": {"tags": K8S_TAGS, "namespace": K8S_NAMESPACE, "secrets": {"openaiApiKey": "x" * 20}},
    "Gateway": {
        "tags": K8S_TAGS,
        "namespace": K8S_NAMESPACE,
        "domain": "api.example.com",
        "service_name": "api",
        "service_port": 8000,
        "cluster_issuer": "letsencrypt",
        "kind": "gateway",
    },
    "ContainerService": {
        "tags": K8S_TAGS,
        "namespace": K8S_NAMESPACE,
        "part_of": "ai-api",
        "image": K8S_DIGEST,
        "environment": {"APP_LOG_LEVEL": "info"},
        "edge": {"namespace": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}},
        "files": [{"volume": "ca", "secret_name": "ai-ca", "path": "/etc/ca", "keys": ["ca.crt"]}],
        "egress_cidrs": ["203.0.113.0/24"],
    },
    "Observability": {"tags": K8S_TAGS, "namespace": K8S_NAMESPACE, "app": K8S_APP, "cpu_threshold_percent": 90},
}
#: per Azure block: the Azure block tests' arguments where they have a helper
AZURE_BLOCK_ARGS: dict[str, dict[str, Any]] = {
    "ApiManagement": {
        **_fields(azure_apim_args()),
        "jwt": {"openid_config_url": "https://login.example.com/.well-known/openid-configuration", "audience": "api"},
    },
    "ContainerService": _fields(azure_service_args()),
    "Gateway": _fields(azure_gateway_args(zones=["1", "2"])),
    "VectorStore": _fields(azure_vector_args()),
    "Cache": {**AZURE_WHERE, "high_availability": False},
    "Identity": dict(AZURE_WHERE),
    "Network": {**AZURE_WHERE, "cidr_block": "10.5.0.0/16"},
    "Queue": {**AZURE_WHERE, "max_delivery_count": 7},
    "Registry": {**AZURE_WHERE, "registry_name": "aiplatformtest", "image_digest": AZURE_DIGEST},
    "SecretStore": {**AZURE_WHERE, "vault_name": "kv-test", "tenant_id": "tenant-1", "secrets": {"k": "v" * 20}},
    "Observability": {
        **AZURE_WHERE,
        "resource_group_id": "/subscriptions/s/resourceGroups/rg",
        "alert_emails": ["a@b.co"],
    },
    "Ai": {
        **AZURE_WHERE,
        "custom_subdomain": "ai-platform-test",
        "deployments": [{"name": "fast", "model": "gpt-4o-mini", "version": "2024-07-18"}],
    },
}
#: the Python side of the object arguments (pods, mounted secrets, a JWT check, model deployments)
OBJECTS = {
    "edge": Pods,
    "app": Pods,
    "files": MountedSecret,
    "jwt": JwtValidation,
    "deployments": ModelDeployment,
    "admin": EntraAdmin,
}
BLOCKS = [("aws", block, args) for block, args in sorted(BLOCK_ARGS.items())]
BLOCKS += [("kubernetes", block, args) for block, args in sorted(K8S_BLOCK_ARGS.items())]
BLOCKS += [("azure", block, args) for block, args in sorted(AZURE_BLOCK_ARGS.items())]
#: provider config the targets' mocks read
PROVIDER_CONFIG = {"azure": {"azure-native:location": "westeurope"}}
BLOCKS += [("gcp", block, args) for block, args in sorted(GCP_BLOCK_ARGS.items())]


def engine_inputs(values: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    """``values`` as the provider server hands them to ``construct`` when the engine sends them
    (the entries of map ``secret`` marked secret, as a program's secret config values are)."""
    wire = dict(values)
    if secret is not None:
        wire[secret] = {
            key: {rpc._special_sig_key: rpc._special_secret_sig, "value": v} for key, v in values[secret].items()
        }
    struct = struct_pb2.Struct()
    struct.update(wire)
    return asyncio.get_event_loop().run_until_complete(ProviderServicer._construct_inputs(struct, {}))


def construct(hosted: ComponentProvider, facade: str, name: str, inputs: dict[str, Any]) -> Callable[[], None]:
    """A program that constructs ``facade`` through the provider, as the engine would."""

    def program() -> None:
        hosted.construct(name, f"{PACKAGE}:index:{facade}", inputs)

    return program


def _env_sets(value: Any) -> Any:
    """Inputs with container environment lists (``envs``, ``env``) ordered by name: a map's order
    does not cross the wire (the engine sends inputs as a protobuf Struct), so a program in
    another language gives ``app.environment`` in an order of its own."""
    if isinstance(value, dict):
        return {
            key: sorted(map(_env_sets, item), key=lambda e: str(e.get("name")))
            if key in ("envs", "env") and isinstance(item, list) and all(isinstance(e, dict) for e in item)
            else _env_sets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_env_sets(item) for item in value]
    return value


def below(graph: Graph, root_type: str) -> list[tuple[Any, ...]]:
    """Every resource under (and including) the one component of ``root_type``: type, name,
    parent's type and name, custom, protect and inputs, by type and name (registration order
    follows the event loop)."""
    by_urn = {r.urn: r for r in graph.resources}
    root = graph.one(root_type)
    inside = {root.urn}
    rows: list[tuple[Any, ...]] = [(root.type, root.name, None, root.custom, root.protect, _env_sets(root.inputs))]
    for resource in graph.resources:
        if resource.parent in inside and resource.urn not in inside:
            inside.add(resource.urn)
            parent = by_urn[resource.parent]
            rows.append(
                (
                    resource.type,
                    resource.name,
                    (parent.type, parent.name),
                    resource.custom,
                    resource.protect,
                    _env_sets(resource.inputs),
                )
            )
    return sorted(rows, key=lambda row: (row[0], row[1]))


@pytest.mark.parametrize(("target", "block", "args"), BLOCKS, ids=[f"{t}-{b}" for t, b, _ in BLOCKS])
def test_each_block_facade_registers_what_the_python_block_registers(
    hosted: ComponentProvider, schema: dict[str, Any], target: str, block: str, args: dict[str, Any]
) -> None:
    module = importlib.import_module(f"components.{target}")
    block_class, args_class = getattr(module, block), getattr(module, f"{block}Args")
    facade_type = f"{targets.get(target).name.title()}{block}"
    objects = {key: _object(OBJECTS[key], value) for key, value in args.items() if key in OBJECTS}
    config = PROVIDER_CONFIG.get(target, {})
    direct = plan(lambda: block_class("x", args_class(**{**args, **objects})), stack="dev", config=config)
    wire = {camel_case(key): _wire(value) if key in OBJECTS else value for key, value in args.items()}
    facade = plan(construct(hosted, facade_type, "x", wire), stack="dev", config=config)
    token = f"ai-platform:{target}:{block}"
    assert below(facade, token) == below(direct, token)
    (outer,) = facade.of_type(f"{PACKAGE}:index:{facade_type}")
    assert graph_parent(facade, token) == outer.urn
    # the facade registers every output its schema declares, from the block
    assert set(outer.outputs) == set(schema["resources"][f"{PACKAGE}:index:{facade_type}"]["properties"])


def _wire(value: Any) -> Any:
    """An object argument with its field names as the schema spells them (camelCase)."""
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return {camel_case(key): item for key, item in value.items()}


def _object(cls: type, value: Any) -> Any:
    if isinstance(value, list):
        return [_object(cls, item) for item in value]
    return cls(**{key: tuple(item) if isinstance(item, list) else item for key, item in value.items()})


def _waits(graph: Graph) -> dict[str, list[str]]:
    names = {r.urn: r.name for r in graph.resources}
    return {r.name: sorted(names[d] for d in r.dependencies) for r in graph.resources if r.custom}


def test_a_gcp_facades_depends_on_option_is_the_blocks_depends_on(hosted: ComponentProvider) -> None:
    """A resource cannot be an argument across languages: the facade's ``dependsOn`` becomes the
    block's ``depends_on`` (the project's APIs, a key binding), with the same waits."""
    args = GCP_BLOCK_ARGS["Queue"]

    def apis() -> Apis:
        return Apis("apis", ApisArgs(project=PROJECT, services=["pubsub.googleapis.com"]))

    def through_facade() -> None:
        wire = {camel_case(key): value for key, value in args.items()}
        hosted.construct("x", f"{PACKAGE}:index:GcpQueue", wire, pulumi.ResourceOptions(depends_on=[apis()]))

    def direct() -> None:
        Queue("x", QueueArgs(**args, depends_on=[apis()]))

    waited = _waits(plan(through_facade, stack="dev"))
    assert waited == _waits(plan(direct, stack="dev"))
    assert sum("apis-pubsub" in deps for deps in waited.values()) >= 2


def test_a_kubernetes_facades_depends_on_option_reaches_the_blocks_children(hosted: ComponentProvider) -> None:
    """A Kubernetes block passes its own ``dependsOn`` to every child (the namespace first): the
    facade hands its ``dependsOn`` to the block."""
    args = K8S_BLOCK_ARGS["SecretStore"]

    def network() -> Network:
        return Network("net", NetworkArgs(namespace=K8S_NAMESPACE))

    def through_facade() -> None:
        wire = {camel_case(key): value for key, value in args.items()}
        options = pulumi.ResourceOptions(depends_on=[network()])
        hosted.construct("x", f"{PACKAGE}:index:KubernetesSecretStore", wire, options)

    def direct() -> None:
        SecretStore("x", SecretStoreArgs(**args), pulumi.ResourceOptions(depends_on=[network()]))

    waited = _waits(plan(through_facade, stack="dev"))
    assert waited == _waits(plan(direct, stack="dev"))
    children = [name for name in waited if name.startswith("x-")]
    assert children and all("net-namespace" in waited[name] for name in children)


@pytest.mark.parametrize("depend", [True, False])
@pytest.mark.parametrize("block", ["Cache", "VectorStore"])
def test_a_gcp_data_store_facade_waits_for_the_network_in_its_depends_on(
    hosted: ComponentProvider, block: str, depend: bool
) -> None:
    """The Private Service Access connection cannot be an argument: ``dependsOn: [network]`` orders
    the instance after it; without it the readiness check finds the instance."""

    def program() -> None:
        network = GcpNetwork("net", {"project": PROJECT, "region": REGION})
        wire = {camel_case(key): value for key, value in GCP_BLOCK_ARGS[block].items()}
        wire["networkId"] = network.network_id
        hosted.construct(
            "x", f"{PACKAGE}:index:Gcp{block}", wire, pulumi.ResourceOptions(depends_on=[network]) if depend else None
        )

    found = {f.invariant for f in gcp_readiness.findings(plan(program, stack="dev"))}
    assert ("psa-before-private-data" in found) is not depend


#: the Kubernetes data stores' arguments besides the SecretStore (object or names)
K8S_STORE_ARGS: dict[str, dict[str, Any]] = {
    "Cache": {
        "tags": K8S_TAGS,
        "namespace": K8S_NAMESPACE,
        "part_of": "ai-api",
        "image": K8S_DIGEST,
        "replicas": 2,
        "auth_token": "t" * 32,
        "auth_token_key": "redisAuthToken",
    },
    "VectorStore": {"tags": K8S_TAGS, "namespace": K8S_NAMESPACE, "part_of": "ai-api", "image": K8S_DIGEST},
}


@pytest.mark.parametrize("block", sorted(K8S_STORE_ARGS))
def test_a_kubernetes_data_store_facade_is_wired_to_the_secret_store_facade_by_its_outputs(
    hosted: ComponentProvider, schema: dict[str, Any], block: str
) -> None:
    """KubernetesSecretStore -> KubernetesCache/VectorStore as another language wires them: the
    store's ``issuerName`` (and ``secretName``) outputs as inputs, the store in ``dependsOn``. The
    facade registers what the Python block given the SecretStore object registers, ready to deploy."""
    store_args = {**K8S_BLOCK_ARGS["SecretStore"], "secrets": {"redisAuthToken": "t" * 32}}
    args = K8S_STORE_ARGS[block]

    def direct() -> None:
        store = SecretStore("store", SecretStoreArgs(**store_args))
        block_args = getattr(kubernetes, f"{block}Args")(**args, secret_store=store)
        getattr(kubernetes, block)("x", block_args, pulumi.ResourceOptions(depends_on=[store]))

    def through_facades() -> None:
        store = KubernetesSecretStore("store", store_args)  # type: ignore[arg-type]

        def output(name: str) -> pulumi.Output[str]:
            """The store's output as the engine hands it on: a value that depends on the store."""
            return store.urn.apply(lambda _: getattr(store, name))

        wire = {camel_case(key): value for key, value in args.items()}
        wire["issuerName"] = output("issuer_name")
        if block == "Cache":
            wire["secretName"] = output("secret_name")
        options = pulumi.ResourceOptions(depends_on=[store])
        hosted.construct("x", f"{PACKAGE}:index:Kubernetes{block}", wire, options)

    facade = plan(through_facades, stack="dev")
    token = f"ai-platform:kubernetes:{block}"
    assert below(facade, token) == below(plan(direct, stack="dev"), token)
    assert kubernetes_readiness.findings(facade) == []
    (outer,) = facade.of_type(f"{PACKAGE}:index:Kubernetes{block}")
    assert set(outer.outputs) == set(schema["resources"][f"{PACKAGE}:index:Kubernetes{block}"]["properties"])


def graph_parent(graph: Graph, token: str) -> str | None:
    return graph.one(token).parent


def test_secret_values_reach_a_block_as_secrets_one_per_key(hosted: ComponentProvider) -> None:
    """The engine sends a map with secret entries as one secret output; the block still gets its
    keys (one Secrets Manager secret each) and every value stays secret."""
    secrets = {"openaiApiKey": "x" * 20, "anthropicApiKey": "y" * 20}
    inputs = engine_inputs({"secrets": secrets, "tags": TAGS}, secret="secrets")
    assert isinstance(inputs["secrets"], pulumi.Output)
    facade = plan(construct(hosted, "AwsSecretStore", "x", inputs), stack="dev")
    direct_args = aws.SecretStoreArgs(secrets={k: pulumi.Output.secret(v) for k, v in secrets.items()}, tags=TAGS)
    direct = plan(lambda: aws.SecretStore("x", direct_args), stack="dev")
    assert below(facade, "ai-platform:aws:SecretStore") == below(direct, "ai-platform:aws:SecretStore")
    versions = facade.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 2 and all(v.inputs["secretString"] == "[secret]" for v in versions)


def test_block_errors_reach_the_caller_with_the_blocks_message(hosted: ComponentProvider) -> None:
    with pytest.raises(Exception, match=r"QueueArgs.max_receive_count=0: allowed 1 to 1000"):
        plan(construct(hosted, "AwsQueue", "x", {"maxReceiveCount": 0}))


def platform_inputs(stack: str) -> tuple[dict[str, Any], StackFile, str]:
    """A shipped stack file's ``ai-platform:*`` values as the facade's wire inputs, and the stack."""
    stack_file = load_stack(ROOT, stack)
    cloud = stack_file.config[f"{NAMESPACE}:cloud"]
    secrets = {key.split(":", 1)[1]: stack_file.config[key] for key in stack_file.secret_keys}
    inputs: dict[str, Any] = {"secrets": secrets}
    for key, value in stack_file.config.items():
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name != "cloud" and name not in secrets:
            inputs[name] = value
    return inputs, stack_file, cloud


@pytest.mark.parametrize("stack", ["aws-dev", "gcp-dev", "azure-dev", "k8s-local"])
def test_each_platform_facade_builds_a_shipped_stack_as_the_python_program(
    hosted: ComponentProvider, schema: dict[str, Any], stack: str
) -> None:
    inputs, stack_file, cloud = platform_inputs(stack)
    target = targets.get(cloud)
    direct = plan_stack(stack_file)
    provider_config = {
        key: value for key, value in stack_file.config.items() if key.partition(":")[0] in target.provider_packages
    }
    facade_type = f"{target.name.title()}AiPlatform"
    facade = plan(
        construct(hosted, facade_type, NAMESPACE, engine_inputs(inputs, secret="secrets")),
        project=stack_file.project,
        stack=stack,
        config=provider_config,
    )
    token = f"ai-platform:{cloud}:AiPlatform"
    assert below(facade, token) == below(direct, token)
    (outer,) = facade.of_type(f"{PACKAGE}:index:{facade_type}")
    assert outer.outputs == direct.outputs
    # every export the program makes is a declared (and described) output of the facade
    assert set(direct.outputs) <= set(schema["resources"][f"{PACKAGE}:index:{facade_type}"]["properties"])


def test_platform_facade_reports_every_problem_as_a_stack_file_would(hosted: ComponentProvider) -> None:
    inputs, _, _ = platform_inputs("aws-dev")
    inputs["app"] = {**inputs["app"], "port": 80}
    inputs["gateway"] = {"domain": "not a domain"}
    with pytest.raises(ComponentInitError) as caught:
        plan(construct(hosted, "AwsAiPlatform", NAMESPACE, inputs), config={"aws:region": "eu-west-1"})
    error = caught.value.inner  # the provider reports it to the engine as the component's failure
    assert isinstance(error, SpecError)
    assert {problem.key for problem in error.problems} == {"ai-platform:app.port", "ai-platform:gateway.domain"}
    assert "ai-platform:app.port = 80: Input should be greater than or equal to 1024" in str(caught.value)
