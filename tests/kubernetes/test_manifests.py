"""`ai-platform plan STACK --manifests DIR`: every planned object as YAML, valid against the Kubernetes
schemas (kubernetes-validate, strict: unknown fields fail) of a pinned Kubernetes version."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ai_platform_cli.main import main
from components.kubernetes import manifests
from components.testing import Graph
from tests.kubernetes.conftest import stack

KUBERNETES_VERSION = "1.34.0"
STACKS = ["k8s-local", "k8s-prod"]
#: kinds of CRDs the cluster brings (cert-manager, Prometheus Operator); kubernetes-validate has no schemas for them
CUSTOM_KINDS = {
    "cert-manager.io/v1": {"Certificate", "Issuer"},
    "monitoring.coreos.com/v1": {"PrometheusRule", "ServiceMonitor"},
}


@pytest.mark.parametrize("name", STACKS)
def test_every_built_in_object_matches_the_kubernetes_schema(name: str) -> None:
    checked = 0
    for obj in manifests.objects(stack(name)):
        if obj["kind"] in CUSTOM_KINDS.get(obj["apiVersion"], set()):
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("name", STACKS)
def test_only_the_crd_kinds_have_no_built_in_schema(name: str) -> None:
    unknown = set()
    for obj in manifests.objects(stack(name)):
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.add((obj["apiVersion"], obj["kind"]))
    assert unknown == {(api, kind) for api, kinds in CUSTOM_KINDS.items() for kind in kinds}


def test_a_broken_object_fails_the_schema() -> None:
    """The validation can fail: a misspelt field is refused."""
    deployment = next(o for o in manifests.objects(stack("k8s-prod")) if o["kind"] == "Deployment")
    deployment["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_secret_values_are_left_out_and_named() -> None:
    secrets = [o for o in manifests.objects(stack("k8s-local")) if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert "stringData" not in secret and "data" not in secret
        assert secret["metadata"]["annotations"][manifests.REDACTED] == "stringData"


def test_the_cli_writes_one_file_per_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "k8s-prod", "--no-policy", "--no-readiness", "--manifests", str(tmp_path / "out")])
    assert code == 0
    files = sorted((tmp_path / "out").glob("*.yaml"))
    assert len(files) == len(manifests.objects(stack("k8s-prod")))
    first = yaml.safe_load(files[0].read_text())
    assert (first["kind"], first["metadata"]["name"]) == ("Namespace", "ai-platform")
    assert "manifests written to" in capsys.readouterr().out


def test_the_cli_refuses_manifests_for_a_target_without_them(tmp_path: Path) -> None:
    from ai_platform_cli.main import UsageError, _write_manifests

    with pytest.raises(UsageError, match="AWS stacks deploy no manifests"):
        _write_manifests(Graph(project="p", stack="s", cloud="aws"), tmp_path)
