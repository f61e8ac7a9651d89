"""The cloud-neutral readiness framework: creation order and the generic invariants."""

from __future__ import annotations

import pytest

from components.readiness import GENERIC, Finding, Order, check, dependencies_come_first, invariant
from tests.readiness.graphs import graph, resource, urn


def test_a_dependency_registered_later_is_reported() -> None:
    late = resource("aws:s3/bucket:Bucket", "late")
    early = resource("aws:s3/bucketPolicy:BucketPolicy", "early", refs={"bucket": [late]})
    [problem] = check(graph(early, late), [dependencies_come_first])
    assert problem.invariant == "dependencies-come-first"
    assert problem.resources == ("early", "late")
    assert "early depends on late, which is registered after it: create late first" in str(problem)


def test_a_dependency_outside_the_graph_is_reported() -> None:
    stray = resource("aws:s3/bucket:Bucket", "stray")
    policy = resource("aws:s3/bucketPolicy:BucketPolicy", "policy", depends_on=[stray])
    [problem] = check(graph(policy), GENERIC)
    assert problem.resources == ("policy",)
    assert f"depends on {urn('aws:s3/bucket:Bucket', 'stray')}, which is not in the graph" in problem.message


def test_dependencies_created_first_pass() -> None:
    bucket = resource("aws:s3/bucket:Bucket", "bucket")
    policy = resource("aws:s3/bucketPolicy:BucketPolicy", "policy", refs={"bucket": [bucket]})
    assert check(graph(bucket, policy), GENERIC) == []


def test_waiting_is_transitive() -> None:
    a = resource("t:a:A", "a")
    b = resource("t:b:B", "b", depends_on=[a])
    c = resource("t:c:C", "c", refs={"x": [b]})
    order = Order(graph(a, b, c))
    assert order.waits_for(c, a) and order.waits_for(c, b)
    assert not order.waits_for(a, c)


def test_an_invariant_needs_a_docstring() -> None:
    def undocumented(order: Order) -> list[Finding]:
        return []

    with pytest.raises(ValueError, match="invariant 'x' needs a docstring"):
        invariant("x")(undocumented)
