"""Reading stacks for the offline check: plan graphs, `pulumi stack export` and `pulumi preview --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.analyzer import SECRET_MARKER
from policies.errors import InputFormatError
from policies.inputs import load_graph, parse_graph

SAMPLES = Path(__file__).parent / "samples"
KEY = "urn:pulumi:aws-dev::ai-platform::ai-platform:aws:AiPlatform$aws:kms/key:Key::ai-platform-secrets-key"
QUEUE = "urn:pulumi:aws-dev::ai-platform::ai-platform:aws:AiPlatform$aws:sqs/queue:Queue::ai-platform-jobs-queue"
VPC = "urn:pulumi:aws-dev::ai-platform::aws:ec2/vpc:Vpc::shared-vpc"
OLD_QUEUE = "urn:pulumi:aws-dev::ai-platform::ai-platform:aws:AiPlatform$aws:sqs/queue:Queue::ai-platform-old-queue"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


@pytest.mark.parametrize(
    ("sample", "fmt"), [("plan-graph.json", "plan"), ("stack-export.json", "stack-export"), ("preview.json", "preview")]
)
def test_each_format_is_recognised(sample: str, fmt: str) -> None:
    assert load_graph(SAMPLES / sample).format == fmt


def test_stack_export_is_read_as_the_engine_would_send_it() -> None:
    graph = load_graph(SAMPLES / "stack-export.json")
    analyzed = {r.urn: r for r in graph.for_analyze()}
    stacked = {r.urn: r for r in graph.for_analyze_stack()}
    assert OLD_QUEUE not in stacked  # pending delete: gone after the deployment
    assert VPC in stacked and VPC not in analyzed  # a read: in the stack, never Analyzed
    queue, stack_queue = analyzed[QUEUE], stacked[QUEUE]
    assert queue.name == "ai-platform-jobs-queue"
    assert "__defaults" not in queue.props and queue.props["visibilityTimeoutSeconds"] == 360  # inputs
    assert stack_queue.props["arn"].startswith("arn:aws:sqs:")  # outputs
    assert stack_queue.property_dependencies["kmsMasterKeyId"] == [KEY]
    assert stack_queue.dependencies == [KEY]
    assert queue.provider is not None and queue.provider.props["region"] == "eu-west-1"
    assert queue.parent and queue.parent.endswith("::ai-platform")
    [secret] = [r for r in graph.for_analyze() if r.type == SECRET_VERSION]
    assert secret.props["secretString"] == SECRET_MARKER  # encrypted: the value is unknown to us


def test_preview_skips_deletes_and_keeps_unknowns() -> None:
    graph = load_graph(SAMPLES / "preview.json")
    urns = [r.urn for r in graph.resources]
    assert OLD_QUEUE not in urns and QUEUE in urns and len(urns) == 5
    queue = next(r for r in graph.for_analyze() if r.urn == QUEUE)
    assert queue.props["kmsMasterKeyId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    platform = next(r for r in graph.for_analyze_stack() if r.type == "ai-platform:aws:AiPlatform")
    assert platform.props == {"cloud": "aws", "environment": "dev", "optOuts": []}  # no outputs yet: inputs


def test_plan_graph_uses_outputs_for_the_stack_view() -> None:
    graph = load_graph(SAMPLES / "plan-graph.json")
    platform = next(r for r in graph.for_analyze_stack() if r.type == "ai-platform:aws:AiPlatform")
    assert platform.props["environment"] == "dev" and "url" in platform.props


def test_show_secrets_plaintext_and_resource_references_are_decoded() -> None:
    sig = "4dabf18193072939515e22adb298388d"
    document = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:s::p::aws:sqs/queue:Queue::q",
                    "type": "aws:sqs/queue:Queue",
                    "custom": True,
                    "inputs": {
                        "policy": {sig: "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"{\\"a\\": 1}"'},
                        "key": {sig: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x", "id": "key-1"},
                    },
                }
            ]
        },
    }
    [queue] = parse_graph(document).for_analyze()
    assert queue.props == {"policy": '{"a": 1}', "key": "key-1"}


@pytest.mark.parametrize(
    "document",
    [[], {"resources": [{"name": "x"}]}, {"deployment": {}}, {"something": "else"}],
    ids=["list", "resources-without-urns", "deployment-without-version", "other"],
)
def test_anything_else_names_the_expected_formats(document: object) -> None:
    with pytest.raises(
        InputFormatError, match=r"ai-platform plan STACK --json.*pulumi stack export.*pulumi preview --json"
    ):
        parse_graph(document, "x.json")


def test_a_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("not json")
    with pytest.raises(InputFormatError, match="is not JSON"):
        load_graph(path)
    with pytest.raises(InputFormatError, match="no such file"):
        load_graph(tmp_path / "missing.json")
    assert json.loads((SAMPLES / "preview.json").read_text())["steps"]
