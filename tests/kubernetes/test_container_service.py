"""ContainerService: the app's Deployment under the restricted profile with the seed numbers, and the
policy pack catching every insecure change a ``transform`` could make to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.kubernetes.container_service import ContainerService, ContainerServiceArgs, MountedSecret
from components.kubernetes.network import Network, NetworkArgs
from components.kubernetes.objects import Pods
from components.testing import Graph
from tests.kubernetes.conftest import DIGEST, NAMESPACE, TAGS, mandatory, plan_block, secret_store

EDGE = Pods("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})


def args(**changes: Any) -> ContainerServiceArgs:
    base: dict[str, Any] = {
        "tags": TAGS,
        "namespace": NAMESPACE,
        "part_of": "ai-api",
        "image": DIGEST,
        "environment": {"APP_LOG_LEVEL": "info"},
        "edge": EDGE,
        "egress_cidrs": ["203.0.113.0/24"],
    }
    return ContainerServiceArgs(**{**base, **changes})


def planned(transform: dict[str, Callable[[Any, pulumi.ResourceOptions], None]] | None = None) -> Graph:
    def program() -> None:
        network = Network("net", NetworkArgs(tags=TAGS, namespace=NAMESPACE))
        store = secret_store(secrets={"openaiApiKey": "sk-x"}, private_ca=False)
        ContainerService(
            "api",
            args(secrets={"OPENAI_API_KEY": store.reference("openaiApiKey")}, transform=transform or {}),
            pulumi.ResourceOptions(depends_on=network.ready),
        )

    return plan_block(program)


def container(a: Any) -> Any:
    return a.spec.template.spec.containers[0]


def test_the_deployment_has_the_seed_numbers_and_the_restricted_profile() -> None:
    graph = planned()
    spec = graph.one("kubernetes:apps/v1:Deployment").inputs["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pod = spec["template"]["spec"]
    (app,) = pod["containers"]
    assert app["resources"] == {
        "requests": {"cpu": "500m", "memory": "1024Mi"},
        "limits": {"cpu": "1000m", "memory": "2048Mi"},
    }
    assert (app["livenessProbe"]["httpGet"]["path"], app["livenessProbe"]["initialDelaySeconds"]) == ("/health", 30)
    assert (app["readinessProbe"]["httpGet"]["path"], app["readinessProbe"]["initialDelaySeconds"]) == ("/ready", 10)
    assert "startupProbe" in app and app["imagePullPolicy"] == "Always" and app["image"] == DIGEST
    assert app["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    assert {v["name"]: v for v in pod["volumes"]}["tmp"]["emptyDir"] == {"sizeLimit": "256Mi"}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert spec["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert app["envFrom"] == [{"configMapRef": {"name": "api-env"}}]
    assert app["env"] == [
        {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "store-app", "key": "openaiApiKey"}}}
    ]
    assert graph.one("kubernetes:core/v1:ServiceAccount").inputs["automountServiceAccountToken"] is False
    assert graph.one("kubernetes:core/v1:Service").inputs["spec"]["type"] == "ClusterIP"
    hpa = graph.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert graph.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 1


def test_the_planned_block_passes_the_policy_pack() -> None:
    """Alone, the block has no alerts (the Observability block's PrometheusRule brings them)."""
    assert [v for v in mandatory(planned()) if v[0] != "budget-and-alerts"] == []


def _set(path: str, value: Any) -> Callable[[Any, pulumi.ResourceOptions], None]:
    def change(a: Any, opts: pulumi.ResourceOptions) -> None:
        holder = container(a)
        *parents, last = path.split(".")
        for part in parents:
            holder = getattr(holder, part)
        setattr(holder, last, value)

    return change


def _service_type(kind: str) -> Callable[[Any, pulumi.ResourceOptions], None]:
    def change(a: Any, opts: pulumi.ResourceOptions) -> None:
        a.spec.type = kind

    return change


def _plain_secret(a: Any, opts: pulumi.ResourceOptions) -> None:
    from pulumi_kubernetes.core.v1 import EnvVarArgs

    container(a).env = [EnvVarArgs(name="OPENAI_API_KEY", value="sk-plain")]


BAD: list[tuple[str, str, Callable[[Any, pulumi.ResourceOptions], None], str]] = [
    ("root user", "deployment", _set("security_context.run_as_user", 0), "container-hardening"),
    ("privileged", "deployment", _set("security_context.privileged", True), "container-hardening"),
    ("escalation", "deployment", _set("security_context.allow_privilege_escalation", True), "container-hardening"),
    ("writable root", "deployment", _set("security_context.read_only_root_filesystem", False), "container-hardening"),
    ("added capability", "deployment", _set("security_context.capabilities.add", ["SYS_ADMIN"]), "container-hardening"),
    ("no probes", "deployment", _set("liveness_probe", None), "container-hardening"),
    ("no resources", "deployment", _set("resources", None), "container-hardening"),
    ("latest tag", "deployment", _set("image", "registry.example.com/app:latest"), "pinned-images"),
    ("secret in plain env", "deployment", _plain_secret, "secrets-not-in-plain-env"),
    ("LoadBalancer", "service", _service_type("LoadBalancer"), "no-public-data-services"),
    ("NodePort", "service", _service_type("NodePort"), "no-public-data-services"),
]


@pytest.mark.parametrize(("key", "change", "policy"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_an_insecure_transform_is_a_mandatory_violation(key: str, change: Any, policy: str) -> None:
    assert policy in {p for p, _ in mandatory(planned({key: change}))}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"image": "registry.example.com/app:latest"}, "ContainerServiceArgs.image"),
        ({"environment": {"API_TOKEN": "x"}}, "looks like a secret"),
        ({"replicas": 5, "max_replicas": 4}, "ContainerServiceArgs.replicas 5"),
        ({"port": 80}, "ContainerServiceArgs.port 80"),
        ({"egress_anywhere": True}, "egress_anywhere"),
    ],
)
def test_bad_arguments_are_refused_up_front(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ContainerService("api", args(**changes))


def test_certificates_are_mounted_read_only_by_key() -> None:
    graph = plan_block(
        lambda: ContainerService(
            "api", args(files=[MountedSecret("redis-ca", "redis-tls", "/var/run/certs/redis", ("ca.crt",))])
        )
    )
    pod = graph.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    volume = {v["name"]: v for v in pod["volumes"]}["redis-ca"]
    assert volume["secret"] == {
        "secretName": "redis-tls",
        "defaultMode": 0o440,
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    mount = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}["redis-ca"]
    assert mount == {"name": "redis-ca", "mountPath": "/var/run/certs/redis", "readOnly": True}


def test_the_app_is_admitted_only_from_the_edge_and_reaches_only_443() -> None:
    policies = {r.name: r.inputs["spec"] for r in planned().of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    ingress = policies["api-allow-edge"]["ingress"][0]
    assert ingress["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]
    egress = policies["api-allow-egress"]["egress"][0]
    assert egress == {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 443, "protocol": "TCP"}]}


def test_the_worker_runs_the_same_image_with_its_command_probes_and_budget() -> None:
    graph = plan_block(lambda: ContainerService("api", args(worker_replicas=2, monitoring=EDGE)))
    worker = graph.one("kubernetes:apps/v1:Deployment", "api-worker").inputs["spec"]
    (container,) = worker["template"]["spec"]["containers"]
    assert (worker["replicas"], container["image"], container["command"]) == (2, DIGEST, ["python", "-m", "app.worker"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 9100, "protocol": "TCP"}]
    assert container["envFrom"] == [{"configMapRef": {"name": "api-env"}}]
    assert worker["selector"]["matchLabels"]["app.kubernetes.io/name"] == "worker"
    budgets = {r.name: r.inputs["spec"]["selector"] for r in graph.of_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert budgets["api-worker-pdb"] == {
        "matchLabels": {"app.kubernetes.io/name": "worker", "app.kubernetes.io/part-of": "ai-api"}
    }
    policies = {r.name: r.inputs["spec"] for r in graph.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert policies["api-worker-allow-edge"]["ingress"][0]["ports"] == [{"port": 9100, "protocol": "TCP"}]
    assert policies["api-worker-allow-egress"]["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}]
    assert [v for v in mandatory(graph) if v[0] not in ("budget-and-alerts", "network-isolation")] == []


def test_egress_anywhere_keeps_private_and_metadata_ranges_closed() -> None:
    graph = plan_block(lambda: ContainerService("api", args(egress_cidrs=[], egress_anywhere=True)))
    policy = graph.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "api-allow-egress").inputs["spec"]
    block = policy["egress"][0]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(block["except"])


def test_without_the_default_deny_the_namespace_is_a_mandatory_violation() -> None:
    alone = plan_block(lambda: ContainerService("api", args()))
    assert "network-isolation" in {p for p, _ in mandatory(alone)}
    assert "network-isolation" not in {p for p, _ in mandatory(planned())}
