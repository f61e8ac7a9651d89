"""The README's examples run: the component example plans, the commands it names exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from components.testing import GraphResource, plan

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def python_blocks(section: str) -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.DOTALL)


def test_component_example_plans_with_tags_and_transform() -> None:
    example = python_blocks("Use the components in your own program")[0]
    graph = plan(lambda: exec(compile(example, "README.md", "exec"), {}), config={"aws:region": "us-east-1"})
    vpc = graph.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.30.0.0/16"
    assert vpc.inputs["tags"] == {"owner": "me", "cost-center": "cc-1", "Name": "core"}
    assert len(graph.of_type("aws:ec2/natGateway:NatGateway")) == 2
    assert graph.named("jobs-queue").inputs["delaySeconds"] == 5
    assert graph.outputs["vpc"].startswith("vpc-")


def test_top_commands_are_the_ones_ci_runs() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "ai-platform plan aws-dev" in first_block
    assert "scripts/test" in first_block
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_harness_example_runs_against_the_component_example() -> None:
    component_example, harness_example = python_blocks("Use the components in your own program")[:2]

    def my_program() -> None:
        exec(compile(component_example, "README.md", "exec"), {})

    namespace: dict[str, Any] = {"my_program": my_program}
    exec(compile(harness_example, "README.md", "exec"), namespace)
    queue: GraphResource = namespace["queue"]
    assert queue.inputs["sqsManagedSseEnabled"] is True
