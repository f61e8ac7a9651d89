"""The Block base: tags on every taggable child, the transform escape hatch, parenting."""

import pulumi
import pytest

from components.aws.queue import Queue, QueueArgs
from components.testing import plan

TAGS = {"owner": "team", "cost-center": "cc-1"}


def test_tags_reach_every_taggable_child_and_only_those() -> None:
    graph = plan(lambda: Queue("jobs", QueueArgs(tags=TAGS)))
    queues = graph.of_type("aws:sqs/queue:Queue")
    assert [q.inputs["tags"] for q in queues] == [TAGS, TAGS]
    assert all("tags" not in p.inputs for p in graph.of_type("aws:sqs/queuePolicy:QueuePolicy"))


def test_children_are_parented_to_their_block() -> None:
    graph = plan(lambda: Queue("jobs", QueueArgs()))
    block = graph.one("ai-platform:aws:Queue")
    assert {r.name for r in graph.children(block.urn)} == {
        "jobs-dlq",
        "jobs-queue",
        "jobs-dlq-redrive-allow",
        "jobs-tls-only",
        "jobs-dlq-tls-only",
    }


def test_transform_can_mutate_args_in_place() -> None:
    def slower(args, opts):
        args.delay_seconds = 5

    graph = plan(lambda: Queue("jobs", QueueArgs(transform={"queue": slower})))
    assert graph.named("jobs-queue").inputs["delaySeconds"] == 5
    assert "delaySeconds" not in graph.named("jobs-dlq").inputs


def test_transform_can_replace_args_and_options() -> None:
    def protect(args, opts):
        return args, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))

    graph = plan(lambda: Queue("jobs", QueueArgs(transform={"deadLetterQueue": protect})))
    assert graph.named("jobs-dlq").protect is True
    assert graph.named("jobs-queue").protect is False


def test_own_tags_win_over_block_tags() -> None:
    def retag(args, opts):
        args.tags = {"owner": "someone-else"}

    graph = plan(lambda: Queue("jobs", QueueArgs(tags=TAGS, transform={"queue": retag})))
    # the transform runs after tagging, so its word is final
    assert graph.named("jobs-queue").inputs["tags"] == {"owner": "someone-else"}


def test_a_failing_transform_fails_the_program() -> None:
    def broken(args, opts):
        raise RuntimeError("bad transform")

    with pytest.raises(RuntimeError, match="bad transform"):
        plan(lambda: Queue("jobs", QueueArgs(transform={"queue": broken})))


def test_tag_styles_place_tags_where_each_target_takes_them() -> None:
    from components.tagging import LABELS, METADATA_LABELS, TAGS, apply_tags

    class Args:
        def __init__(self) -> None:
            self.tags = None
            self.labels = {"own": "x"}
            self.metadata = None

    args = Args()
    apply_tags(args, TAGS, TAGS_OWNER := {"owner": "team"})
    apply_tags(args, LABELS, TAGS_OWNER)
    apply_tags(args, METADATA_LABELS, TAGS_OWNER)
    assert args.tags == {"owner": "team"}
    assert args.labels == {"owner": "team", "own": "x"}
    assert args.metadata == {"labels": {"owner": "team"}}
    with_metadata = {"metadata": {"name": "api", "labels": {"owner": "mine"}}}
    apply_tags(with_metadata, METADATA_LABELS, {"owner": "team", "stack": "dev"})
    assert with_metadata["metadata"] == {"name": "api", "labels": {"owner": "mine", "stack": "dev"}}
