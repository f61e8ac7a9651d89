"""The inventory matcher itself must catch every kind of departure."""

from components.testing import Graph, GraphResource
from tests.inventory import contains, differences


def graph() -> Graph:
    resources = [
        GraphResource("urn:q1", "aws:sqs/queue:Queue", "a", None, {"x": 1, "tags": {"o": "p"}}, [], True),
        GraphResource("urn:q2", "aws:sqs/queue:Queue", "b", None, {"x": 2, "tags": {"o": "p"}}, [], True),
    ]
    return Graph(project="p", stack="s", resources=resources)


def test_matching_inventory_has_no_differences() -> None:
    inventory = {
        "counts": {"aws:sqs/queue:Queue": 2},
        "total": 2,
        "values": [{"type": "aws:sqs/queue:Queue", "inputs": {"tags": {"o": "p"}}}],
    }
    assert differences(graph(), inventory) == []


def test_each_kind_of_difference_is_reported() -> None:
    inventory = {
        "counts": {"aws:sqs/queue:Queue": 3, "aws:sns/topic:Topic": 1},
        "total": 5,
        "values": [
            {"type": "aws:sqs/queue:Queue", "name": "a", "inputs": {"x": 2}},
            {"type": "aws:kms/key:Key", "inputs": {"enableKeyRotation": True}},
        ],
    }
    problems = differences(graph(), inventory)
    assert problems == [
        "count of aws:sqs/queue:Queue: expected 3, planned 2",
        "count of aws:sns/topic:Topic: expected 1, planned 0",
        "total resources: expected 5, planned 2",
        "aws:sqs/queue:Queue a: input x expected 2, planned 1",
        "no aws:kms/key:Key  planned",
    ]


def test_contains_is_partial_for_dicts_and_exact_for_lists() -> None:
    assert contains({"a": 1, "b": 2}, {"a": 1})
    assert not contains({"a": 1}, {"a": 1, "b": 2})
    assert contains([{"a": 1, "z": 0}], [{"a": 1}])
    assert not contains([1, 2], [1])
