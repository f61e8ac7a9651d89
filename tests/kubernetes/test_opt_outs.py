"""The Kubernetes named opt-outs, each end to end: the spec refuses the insecure value without it,
accepts it with it (dev-only ones only in dev), the blocks build it, and the policy pack reports the
condition unless the stack's platform component records the opt-out (then ``insecure-opt-outs``
reports the opt-out instead), in process and through the real Analyzer protocol."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from ai_platform_cli.main import load_stack, plan_stack
from components.decisions import policy_facts
from components.kubernetes.container_service import ContainerService, ContainerServiceArgs
from components.spec import SpecError
from components.testing import Graph
from policies.check import check_graph
from policies.inprocess import InProcessPack, PlannedResource
from policies.inputs import parse_graph
from tests.kubernetes.conftest import ROOT, TAGS, plan_block, planned_resources, spec_of, stack_config

K8S = "ai-platform:kubernetes"
APP = "ai-platform:app"
PLATFORM = "ai-platform:kubernetes:AiPlatform"
TAG = "localhost:5001/ai-api:dev"


def config_with(name: str, *, insecure: dict[str, bool], **section: Any) -> dict[str, Any]:
    """A shipped stack's config with these opt-outs (beside its own) and section settings."""
    config, _ = stack_config(name)
    old = config[K8S]
    config[K8S] = {**old, **section, "insecure": {**old.get("insecure", {}), **insecure}}
    return config


def tagged(opt_out: bool = True, image: str = TAG) -> dict[str, Any]:
    """k8s-local deploying the app by tag: app.image.build plus kubernetes.image."""
    config = config_with("k8s-local", insecure={"imageTag": True} if opt_out else {}, image=image)
    config[APP] = {**config[APP], "image": {"build": "app"}}
    return config


def planned(name: str, config: dict[str, Any]) -> Graph:
    return plan_stack(replace(load_stack(ROOT, name), config=config))


def without_opt_outs(resources: list[PlannedResource]) -> list[PlannedResource]:
    """The same plan with nothing recorded on the platform component: what the pack sees of a stack
    that built the insecure objects (by a transform, or by hand) without naming the opt-out."""
    return [replace(r, props={**r.props, "optOuts": []}) if r.type == PLATFORM else r for r in resources]


def findings(resources: list[PlannedResource]) -> list[tuple[str, str, str]]:
    return sorted((f.policy, f.level, f.message) for f in InProcessPack().check(resources))


def spec_error(config: dict[str, Any], name: str = "k8s-local") -> str:
    with pytest.raises(SpecError) as error:
        spec_of(config, name)
    return str(error.value)


# --- kubernetes.insecure.imageTag (dev only) ------------------------------------------------------------


def test_a_tag_without_the_opt_out_is_a_spec_error_naming_it() -> None:
    message = spec_error(tagged(opt_out=False))
    assert "ai-platform:kubernetes.image" in message and TAG in message
    assert "kubernetes.insecure.imageTag: true" in message


@pytest.mark.parametrize(
    ("image", "words"),
    [("localhost:5001/ai-api:latest", "tagged latest"), ("localhost:5001/ai-api", "has no tag")],
)
def test_latest_or_no_tag_is_refused_even_with_the_opt_out(image: str, words: str) -> None:
    assert words in spec_error(tagged(image=image))


def test_the_tag_opt_out_is_dev_only() -> None:
    config = config_with("k8s-prod", insecure={"imageTag": True}, image=TAG)
    config[APP] = {**config[APP], "image": {"build": "app"}}
    assert "kubernetes.insecure.imageTag" in (message := spec_error(config, "k8s-prod"))
    assert "dev-only opt-out" in message


def test_a_tag_and_a_digest_together_are_refused() -> None:
    config = config_with("k8s-local", insecure={"imageTag": True}, image=TAG)
    assert "not both" in spec_error(config)


def test_without_a_digest_or_a_tag_the_error_names_both_ways() -> None:
    config, _ = stack_config("k8s-local")
    config[APP] = {**config[APP], "image": {"build": "app"}}
    message = spec_error(config)
    assert "app.image.digest" in message and "kubernetes.insecure.imageTag" in message


def test_with_the_opt_out_the_app_runs_the_tag_and_the_pack_reports_the_opt_out() -> None:
    assert policy_facts(spec_of(tagged()))["optOuts"] == ["kubernetes.singleReplica", "kubernetes.imageTag"]
    graph = planned("k8s-local", tagged())
    platform = graph.one(PLATFORM)
    assert platform.inputs["optOuts"] == ["kubernetes.singleReplica", "kubernetes.imageTag"]
    images = {
        d.name: d.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in graph.of_type("kubernetes:apps/v1:Deployment")
    }
    assert set(images.values()) == {TAG}, images
    resources = planned_resources(graph)
    found = findings(resources)
    assert [f for f in found if f[1] == "mandatory"] == []
    assert ("insecure-opt-outs", "advisory") in {(p, level) for p, level, m in found if "insecure.imageTag" in m}
    # the same objects without the opt-out recorded: one violation per Deployment, naming the opt-out
    bare = [f for f in findings(without_opt_outs(resources)) if f[1] == "mandatory"]
    assert [p for p, _, _ in bare] == ["pinned-images"] * len(images)
    assert all(f'image is "{TAG}"' in m and "kubernetes.insecure.imageTag" in m for _, _, m in bare)


def test_the_block_takes_a_tag_only_with_the_opt_out() -> None:
    args = {"tags": TAGS, "namespace": "ai-platform", "part_of": "ai-api", "image": TAG, "egress_anywhere": True}
    with pytest.raises(ValueError, match=r"ContainerServiceArgs\.image"):
        ContainerService("api", ContainerServiceArgs(**args))
    with pytest.raises(ValueError, match="tagged latest"):
        ContainerService("api", ContainerServiceArgs(**{**args, "image": "x/api:latest", "image_tag": True}))
    graph = plan_block(lambda: ContainerService("api", ContainerServiceArgs(**args, image_tag=True)))
    container = graph.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == (TAG, "Always")


# --- kubernetes.insecure.writableRootFilesystem -----------------------------------------------------------


@pytest.fixture(scope="module")
def writable() -> Graph:
    """k8s-prod with the app's root filesystem writable (the opt-out is allowed in prod)."""
    return planned("k8s-prod", config_with("k8s-prod", insecure={"writableRootFilesystem": True}))


def _read_only(graph: Graph, token: str) -> dict[str, bool]:
    return {
        r.name: c["securityContext"]["readOnlyRootFilesystem"]
        for r in graph.of_type(token)
        for c in r.inputs["spec"]["template"]["spec"]["containers"]
    }


def test_the_spec_records_the_writable_root_opt_out_in_prod() -> None:
    spec = spec_of(config_with("k8s-prod", insecure={"writableRootFilesystem": True}), "k8s-prod")
    assert (spec.environment, policy_facts(spec)["optOuts"]) == ("prod", ["kubernetes.writableRootFilesystem"])


def test_only_the_apps_containers_get_a_writable_root(writable: Graph) -> None:
    assert writable.one(PLATFORM).inputs["optOuts"] == ["kubernetes.writableRootFilesystem"]
    assert set(_read_only(writable, "kubernetes:apps/v1:Deployment").values()) == {False}
    assert set(_read_only(writable, "kubernetes:apps/v1:StatefulSet").values()) == {True}


def test_the_pack_waives_a_writable_root_only_with_the_opt_out(writable: Graph) -> None:
    resources = planned_resources(writable)
    found = findings(resources)
    assert [f for f in found if f[1] == "mandatory"] == []
    assert any(p == "insecure-opt-outs" and "insecure.writableRootFilesystem" in m for p, _, m in found)
    bare = [f for f in findings(without_opt_outs(resources)) if f[1] == "mandatory"]
    assert [p for p, _, _ in bare] == ["container-hardening"] * 2  # the API and the worker
    assert all("readOnlyRootFilesystem is false" in m and "writableRootFilesystem" in m for _, _, m in bare)


# --- through the real Analyzer protocol -----------------------------------------------------------------


def _without_opt_outs(graph: Graph) -> Graph:
    bare = copy.deepcopy(graph)
    for r in bare.resources:
        if r.type == PLATFORM:
            r.inputs["optOuts"] = []
            r.outputs.pop("optOuts", None)
    return bare


def test_the_analyzer_waives_the_opt_outs_a_stack_records(writable: Graph) -> None:
    """As ``pulumi preview --policy-pack`` runs it: the pack in its own process, Analyze per resource, then
    AnalyzeStack."""
    report, _ = check_graph(parse_graph(writable.to_json(), "k8s-prod"))
    assert report.mandatory == []
    assert any(v.policy == "insecure-opt-outs" and "writableRootFilesystem" in v.message for v in report.violations)
    bare, _ = check_graph(parse_graph(_without_opt_outs(writable).to_json(), "k8s-prod"))
    assert sorted(v.policy for v in bare.mandatory) == ["container-hardening"] * 2
