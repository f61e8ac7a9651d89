"""ContainerService: Cloud Run v2 behind the load balancer only, probes, direct VPC egress, secrets by reference."""

from __future__ import annotations

from typing import Any

import pytest

from components.gcp.container_service import ContainerService, ContainerServiceArgs
from components.testing import plan
from tests.gcp.conftest import DIGEST, EMAIL, NETWORK, PROJECT, REGION, SUBNET, ChildKeys


def _args(**changes: Any) -> ContainerServiceArgs:
    values: dict[str, Any] = {
        "project": PROJECT,
        "region": REGION,
        "image": DIGEST,
        "service_account_email": EMAIL,
        "network_id": NETWORK,
        "subnetwork_id": SUBNET,
    }
    return ContainerServiceArgs(**{**values, **changes})


def test_internal_lb_ingress_seed_numbers_probes_and_vpc_egress(child_keys: ChildKeys) -> None:
    args = _args(environment={"APP_LOG_LEVEL": "info"}, secrets={"OPENAI_API_KEY": "openai-api-key"}, memory="1Gi")
    service = plan(lambda: ContainerService("api", args)).one("gcp:cloudrunv2/service:Service").inputs
    assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER" and service["invokerIamDisabled"] is True
    template = service["template"]
    assert template["serviceAccount"] == EMAIL
    assert (template["maxInstanceRequestConcurrency"], template["timeout"]) == (80, "300s")
    assert template["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 100}
    assert template["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    assert template["vpcAccess"]["networkInterfaces"] == [{"network": NETWORK, "subnetwork": SUBNET}]
    (container,) = template["containers"]
    assert container["image"] == DIGEST and container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    envs = {e["name"]: e for e in container["envs"]}
    assert envs["APP_LOG_LEVEL"]["value"] == "info"
    assert envs["OPENAI_API_KEY"] == {
        "name": "OPENAI_API_KEY",
        "valueSource": {"secretKeyRef": {"secret": "openai-api-key", "version": "latest"}},
    }
    assert child_keys.undocumented(ContainerServiceArgs) == []


def test_public_ingress_is_built_when_the_opt_out_asks_for_it() -> None:
    """gcp.insecure.publicIngress: the run.app URL open to the internet, invoker check still off."""
    args = _args(ingress="INGRESS_TRAFFIC_ALL")
    service = plan(lambda: ContainerService("api", args)).one("gcp:cloudrunv2/service:Service").inputs
    assert service["ingress"] == "INGRESS_TRAFFIC_ALL" and service["invokerIamDisabled"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ingress": "INGRESS_TRAFFIC_EVERYWHERE"}, "ContainerServiceArgs.ingress='INGRESS_TRAFFIC_EVERYWHERE'"),
        ({"min_instances": 0}, "ContainerServiceArgs.min_instances=0"),
        ({"concurrency": 1001}, "ContainerServiceArgs.concurrency=1001: Cloud Run allows 1-1000"),
        ({"image": "europe-west1-docker.pkg.dev/p/r/api:latest"}, "pin it by digest"),
        ({"environment": {"OPENAI_API_KEY": "sk-x"}}, "'OPENAI_API_KEY' looks like a secret"),
        ({"timeout_seconds": 7200}, "ContainerServiceArgs.timeout_seconds=7200"),
    ],
)
def test_bad_args_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ContainerService("api", _args(**changes))
