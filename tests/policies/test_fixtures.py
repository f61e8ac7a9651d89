"""Every policy fixture: the baseline passes every policy; each case fails exactly as written.

And coverage: every resource type a rule inspects has a failing case for that rule, and every
target that contributes to a stack rule has a stack case for it.
"""

from __future__ import annotations

import pytest

from policies.catalog import RULES_BY_NAME
from policies.inprocess import Finding, InProcessPack
from policies.rules import ALL_CHECKS
from tests.policies.fixtures import Case, ResourceFixture, StackFixture, load_all

RESOURCE_FIXTURES, STACK_FIXTURES = load_all()
RESOURCE_CASES = [(f, c) for f in RESOURCE_FIXTURES for c in f.cases]
STACK_CASES = [(f, c) for f in STACK_FIXTURES for c in f.cases]


def _mandatory_and_advisory(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return sorted((f.policy, f.message, f.urn) for f in findings)


@pytest.mark.parametrize("fixture", RESOURCE_FIXTURES, ids=lambda f: f"{f.path.parent.name}/{f.path.stem}")
def test_resource_baseline_is_compliant(fixture: ResourceFixture) -> None:
    pack = InProcessPack()
    assert pack.analyze(fixture.resource()) == []
    assert pack.unknowns == []


@pytest.mark.parametrize(("fixture", "case"), RESOURCE_CASES, ids=[c.id for _, c in RESOURCE_CASES])
def test_resource_case_fails_as_written(fixture: ResourceFixture, case: Case) -> None:
    assert case.rule in RULES_BY_NAME, f"{case.id}: unknown rule {case.rule}"
    assert not case.remove, f"{case.id}: `remove` is for stack fixtures"
    assert case.set, f"{case.id}: a failing case changes at least one field"
    resource = fixture.resource(case.set)
    pack = InProcessPack({case.rule: case.config} if case.config else None)
    found = _mandatory_and_advisory(pack.analyze(resource))
    assert found == sorted((e.rule, e.message, resource.urn) for e in case.expected)


@pytest.mark.parametrize("fixture", STACK_FIXTURES, ids=lambda f: f"{f.path.parent.name}/{f.path.stem}")
def test_stack_baseline_is_compliant(fixture: StackFixture) -> None:
    pack = InProcessPack()
    planned = fixture.planned()
    assert pack.check(planned) == []
    assert pack.unknowns == []


@pytest.mark.parametrize(("fixture", "case"), STACK_CASES, ids=[c.id for _, c in STACK_CASES])
def test_stack_case_fails_as_written(fixture: StackFixture, case: Case) -> None:
    assert case.rule in RULES_BY_NAME, f"{case.id}: unknown rule {case.rule}"
    pack = InProcessPack({case.rule: case.config} if case.config else None)
    planned = fixture.planned(case)
    found = pack.check(planned)
    expected = sorted((e.rule, e.message, fixture.urn_of(e.resource)) for e in case.expected)
    assert _mandatory_and_advisory(found) == expected


def test_every_inspected_type_has_a_failing_case() -> None:
    covered = {(e.rule, f.type) for f, c in RESOURCE_CASES for e in c.expected}
    covered |= {
        (e.rule, r["type"]) for f, c in STACK_CASES for e in c.expected for r in f.resources if e.resource == r["name"]
    }
    missing = sorted(
        (rule, token)
        for cs in ALL_CHECKS
        for rule, by_type in cs.resource_checks.items()
        for token in by_type
        if not token.endswith(":*") and (rule, token) not in covered
    )
    assert missing == []


def test_every_target_stack_rule_has_a_case() -> None:
    cases_by_target = {(f.path.parent.name, c.rule) for f, c in STACK_CASES}
    missing = sorted(
        (cs.target, rule)
        for cs in ALL_CHECKS
        if cs.target != "common"
        for rule in cs.stack_checks
        if (cs.target, rule) not in cases_by_target
    )
    assert missing == []
