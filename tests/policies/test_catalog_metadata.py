"""Every rule carries a topic and the compliance frameworks its checklist item maps to, and the pack
reports them in GetAnalyzerInfo (policy tags, and the policy's framework)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from policies.analyzer import PackClient
from policies.catalog import CIS_AWS, CIS_AZURE, CIS_GCP, CIS_KUBERNETES, FRAMEWORKS, RULES, TOPICS
from policies.rules import ALL_CHECKS

CIS_TARGETS = {CIS_AWS.key: "aws", CIS_GCP.key: "gcp", CIS_AZURE.key: "azure", CIS_KUBERNETES.key: "kubernetes"}
CONTROL_ID = {"cis": re.compile(r"^\d+(\.\d+)*$"), "aws-wa": re.compile(r"^SEC(0[1-9]|1[01])$")}


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_every_rule_has_a_topic_and_frameworks(rule) -> None:
    assert rule.topic in TOPICS, f"{rule.name}: topic {rule.topic!r}; topics: {', '.join(TOPICS)}"
    assert rule.frameworks, f"{rule.name} maps to no compliance framework"
    keys = [c.framework.key for c in rule.frameworks]
    assert len(keys) == len(set(keys)) and all(c.framework in FRAMEWORKS for c in rule.frameworks)
    for controls in rule.frameworks:
        pattern = next((p for prefix, p in CONTROL_ID.items() if controls.framework.key.startswith(prefix)), None)
        if controls.framework.key.startswith("cis-"):
            assert controls.ids, f"{rule.name}: a CIS mapping without control ids"
        for control in controls.ids:
            assert pattern is not None and pattern.match(control), (rule.name, controls.framework.key, control)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_a_cis_mapping_is_for_a_target_that_checks_the_rule(rule) -> None:
    checked_by = {cs.target for cs in ALL_CHECKS if rule.name in cs.resource_checks or rule.name in cs.stack_checks}
    for controls in rule.frameworks:
        target = CIS_TARGETS.get(controls.framework.key)
        assert target is None or target in checked_by, (
            f"{rule.name} cites {controls.framework.name}, {target} has no check"
        )


@pytest.fixture(scope="module")
def pack() -> Iterator[PackClient]:
    with PackClient() as client:
        yield client


def test_get_analyzer_info_reports_topics_and_frameworks(pack: PackClient) -> None:
    info = {p.name: p for p in pack.get_info().policies}
    for rule in RULES:
        policy = info[rule.name]
        assert list(policy.tags) == rule.tags()
        first = rule.frameworks[0]
        expected = {"name": first.framework.name, "specification": first.framework.url}
        expected |= {"version": first.framework.version} if first.framework.version else {}
        expected |= {"reference": ", ".join(first.ids)} if first.ids else {}
        assert policy.framework == expected
    rotation = info["kms-key-rotation"]
    assert rotation.tags[:4] == ("topic:encryption", "framework:cis-aws", "cis-aws:3.6", "framework:cis-gcp")
    assert rotation.framework["name"] == "CIS Amazon Web Services Foundations Benchmark"
