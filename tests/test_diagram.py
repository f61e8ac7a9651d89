"""The architecture diagram is drawn from the graph's real dependencies."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from ai_platform_cli.main import load_stack, main, plan_stack
from components.diagram import to_dot, write_diagram
from components.testing import Graph

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def prod_graph() -> Graph:
    return plan_stack(load_stack(ROOT, "aws-prod"))


def edges(source: str) -> set[tuple[str, str, str]]:
    """(from block, to block, label) for every edge, with node ids replaced by block names."""
    names = dict(re.findall(r'^\s*(n\d+) \[label="\w+\\n([\w-]+)', source, re.MULTILINE))
    names["internet"] = "internet"
    return {
        (names[a], names[b], label)
        for a, b, label in re.findall(r'^\s*(\w+) -> (\w+) \[[^\]]*?label="([^"]*)"', source, re.MULTILINE)
    }


def test_path_runs_from_the_internet_through_the_gateway_to_the_app_and_its_stores() -> None:
    found = edges(to_dot(prod_graph()))
    assert ("internet", "ai-platform-gateway", "HTTPS") in found
    assert ("ai-platform-gateway", "ai-platform-service", "HTTP (private)") in found
    assert ("ai-platform-registry", "ai-platform-service", "image") in found
    for store, label in (
        ("ai-platform-cache", "cache (TLS)"),
        ("ai-platform-vectors", "vector DB (TLS)"),
        ("ai-platform-queue", "queue"),
        ("ai-platform-secrets", "secrets"),
    ):
        assert ("ai-platform-service", store, label) in found
    assert ("ai-platform-observability", "ai-platform-service", "alarms") in found


def test_data_stores_sit_inside_the_network_and_the_gateway_outside() -> None:
    source = to_dot(prod_graph())
    cluster = source[source.index("subgraph cluster_network") : source.index("  }\n")]
    assert "ai-platform-cache" in cluster and "ai-platform-service" in cluster
    assert "ai-platform-gateway" not in cluster
    assert "3 x NatGateway" in cluster


def test_svg_is_written(tmp_path: Path) -> None:
    target = tmp_path / "arch.svg"
    write_diagram(prod_graph(), target)
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_plan_draws_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "plan",
                "aws-dev",
                "--project-dir",
                str(ROOT),
                "--diagram",
                str(tmp_path / "a.png"),
                "--json",
                str(tmp_path / "g.json"),
                "--no-policy",  # the policy check has its own tests (tests/test_cli.py)
            ]
        )
        == 0
    )
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # 120: the cost allocation tag the budget filters on (issue #10 §4)
    assert "planned 125 resources for stack aws-dev (aws) offline" in capsys.readouterr().out


def test_unknown_diagram_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"use a \.svg, \.png or \.dot file name"):
        write_diagram(prod_graph(), tmp_path / "arch.pdf")


def test_the_serverless_path_runs_through_the_rest_api_to_the_function() -> None:
    source = to_dot(plan_stack(load_stack(ROOT, "aws-serverless")))
    found = edges(source)
    assert ("internet", "ai-platform-api", "HTTPS") in found
    assert ("ai-platform-api", "ai-platform-function", "invoke (proxy event)") in found
    assert ("ai-platform-registry", "ai-platform-function", "image") in found
    assert ("ai-platform-function", "ai-platform-cache", "cache (TLS)") in found
    assert ("ai-platform-function", "ai-platform-vectors", "vector DB (TLS)") in found
    cluster = source[source.index("subgraph cluster_network") : source.index("  }\n")]
    assert "ai-platform-function" in cluster and "ai-platform-api" not in cluster
    assert "ai-platform-gateway" not in source and "ai-platform-service" not in source
