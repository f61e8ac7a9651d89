"""The estimate engine: coverage of every shipped stack's types, the price tables' freshness and
sources, usage defaults and files, bad input, the JSON and the diff."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
import yaml

from components import targets
from components.cost import LLM_BLOCK, UsageError, app_prices, estimate, unclassified
from components.cost.prices import MAX_AGE_DAYS, PriceTableError, read_table
from components.cost.report import diff
from components.cost.usage import load, parse
from tests.cost.conftest import planned, shipped_stacks


@pytest.mark.parametrize("stack", shipped_stacks())
def test_every_type_of_a_shipped_stack_is_priced_free_or_not_priced(stack: str) -> None:
    graph, spec = planned(stack)
    module = spec.target.module("cost")
    assert unclassified(graph, module) == []
    result = estimate(graph, spec)
    priced = {item.type for item in result.items}
    assert priced | set(result.free) | {u.type for u in result.not_priced} >= {
        r.type for r in graph.resources if r.custom and r.type != "pulumi:pulumi:Stack"
    }


def test_an_unclassified_type_is_listed_as_not_priced() -> None:
    graph, spec = planned("aws-dev")
    module = spec.target.module("cost")
    cluster = graph.one("aws:ecs/cluster:Cluster")
    # a copy of the graph with one resource of a type the table does not know yet
    from dataclasses import replace

    odd = replace(cluster, type="aws:sfn/stateMachine:StateMachine", name="new-machine", urn=cluster.urn + "-sfn")
    changed = replace(graph, resources=[*graph.resources, odd])
    assert unclassified(changed, module) == ["aws:sfn/stateMachine:StateMachine"]
    result = estimate(changed, spec)
    assert [(u.resource, u.type) for u in result.not_priced] == [("new-machine", "aws:sfn/stateMachine:StateMachine")]


def test_every_available_target_has_a_cost_module_and_table() -> None:
    for name in targets.available():
        assert Path(targets.get(name).module("cost").PRICES).is_file(), name


def _tables() -> list[Path]:
    return [Path(targets.get(name).module("cost").PRICES) for name in targets.available()]


@pytest.mark.parametrize("path", _tables(), ids=lambda p: p.parent.name)
def test_price_table_entries_are_recent_and_name_their_source(path: Path) -> None:
    table = read_table(path)
    today = datetime.date.today()
    for key, entry in table.prices.items():
        assert entry.source.startswith("https://"), key
        assert (today - entry.taken).days <= MAX_AGE_DAYS, f"{path.name}: {key} taken {entry.taken}, refresh it"
        assert entry.taken <= today, f"{path.name}: {key} taken in the future ({entry.taken})"


def test_a_table_entry_without_a_source_or_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"target": "x", "refresh": "by hand", "prices": {"a": {"unit": "hour", "usd": {"*": 1}}}})
    )
    with pytest.raises(PriceTableError, match="source") as error:
        read_table(path)
    assert "taken" in str(error.value)


def test_unknown_region_names_the_key_the_value_and_the_priced_regions() -> None:
    graph, spec = planned("aws-dev")
    other = spec.model_copy(update={"region": "ap-south-2"})
    with pytest.raises(PriceTableError) as error:
        estimate(graph, other)
    assert str(error.value).startswith("aws:region = 'ap-south-2': the price table (prices.json) has no prices")
    assert "priced regions: us-east-1, eu-west-1" in str(error.value)


def test_defaults_are_derived_from_the_spec_and_stated() -> None:
    graph, spec = planned("aws-prod")
    result = estimate(graph, spec)
    assumptions = {key: (value, source) for key, value, source in result.assumptions}
    # 5 % of 3 replicas x 600 requests a minute, over 730 hours
    assert assumptions["requestsPerMonth"][0] == round(0.05 * 3 * 600 * 60 * 730)
    assert assumptions["requestsPerMonth"][1].startswith("default: 5% of 3 minimum replica(s)")
    assert assumptions["llmModels"] == ({"gpt-4.1-mini": 1.0}, "default: the medium tier's first model (APP_ROUTING)")
    # retention from the spec: prod keeps logs 365 days
    (stored,) = [i for i in result.items if i.resource == "ai-platform-service-logs" and "stored" in i.description]
    assert stored.description == "logs stored (365 days kept)"
    assert result.fixed + result.usage_based == pytest.approx(result.total)


def test_a_usage_file_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "usage.yaml"
    path.write_text("traffic:\n  requestsPerMonth: 0\n")
    graph, spec = planned("aws-dev")
    result = estimate(graph, spec, load(path))
    assert [i for i in result.items if i.block == LLM_BLOCK and i.monthly] == []
    assert ("requestsPerMonth", 0, f"usage file {path}") in result.assumptions


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("traffic: [1, 2", "is not valid YAML"),
        ("- a\n- b\n", "must be a mapping with `traffic` and/or `resources`"),
        ("trafic: {}\n", "trafic = {}: not a section; allowed: traffic, resources"),
        ("traffic: {requestsPerMonth: -5}\n", "traffic.requestsPerMonth = -5: Input should be greater than or equal"),
        ("traffic: {requests: 5}\n", "traffic.requests = 5: not a traffic setting; allowed: bytesPerRequest"),
        ("traffic: {llmModels: {gpt-4o-mini: 0.5}}\n", "traffic.llmModels = {'gpt-4o-mini': 0.5}: must map models"),
        ("resources: {ai-platform-network-nat-0: {gbProcessed: lots}}\n", "gbProcessed = 'lots': must be a number"),
        ("resources: [1]\n", "resources = [1]: must map resource names to quantities"),
    ],
)
def test_a_malformed_usage_file_names_the_key_the_value_and_what_is_allowed(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "usage.yaml"
    path.write_text(content)
    with pytest.raises(UsageError, match="") as error:
        load(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_usage_key_naming_no_resource_lists_the_resources_that_take_usage() -> None:
    graph, spec = planned("aws-dev")
    usage = parse({"resources": {"ai-platform-nat-9": {"gbProcessed": 1}}}, "usage.yaml")
    with pytest.raises(UsageError) as error:
        estimate(graph, spec, usage)
    message = str(error.value)
    assert message.startswith("usage.yaml: resources.ai-platform-nat-9 = {'gbProcessed': 1}: names no planned resource")
    assert "resources that take usage: " in message and "ai-platform-network-nat-0" in message


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (
            {"resources": {"ai-platform-network-nat-0": {"requests": 1}}},
            "resources.ai-platform-network-nat-0.requests = 1: not a quantity of ai-platform-network-nat-0; "
            "allowed: gbProcessed",
        ),
        ({"resources": {"ai-platform-network-vpc": {"gb": 1}}}, "is planned but takes no usage"),
        (
            {"traffic": {"llmModels": {"gpt-9": 1}}},
            "traffic.llmModels.gpt-9 = 1.0: not a model of the app's price table; "
            "allowed: claude-3-5-haiku-latest, claude-sonnet-4-5, gpt-4.1",
        ),
    ],
    ids=["quantity", "free-resource", "llm-model"],
)
def test_usage_the_plan_does_not_take_is_refused_naming_what_is_allowed(usage: dict, message: str) -> None:
    graph, spec = planned("aws-dev")
    with pytest.raises(UsageError) as error:
        estimate(graph, spec, parse(usage, "usage.yaml"))
    assert message in str(error.value)


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_llm_prices_are_the_apps_own(stack: str) -> None:
    """One source of token prices: the engine reads the table the app loads (app.routing)."""
    from app.routing import RoutingConfig

    _, spec = planned(stack)
    routing = RoutingConfig.model_validate(yaml.safe_load(spec.app.environment["APP_ROUTING"]))
    table, default = app_prices(spec)
    assert table == {model: (price.input, price.output) for model, price in routing.prices.items()}
    assert default == routing.models[routing.tiers["medium"]][0].model


def test_json_has_blocks_resources_items_and_the_budget_as_money() -> None:
    graph, spec = planned("aws-prod")
    document = estimate(graph, spec).to_json()
    assert document["region"] == "us-east-1" and document["currency"] == "USD"
    names = [b["name"] for b in document["blocks"]]
    for block in (
        "network",
        "gateway",
        "container runtime",
        "cache",
        "vector DB",
        "queue",
        "secrets",
        "registry",
        "observability",
        LLM_BLOCK,
    ):
        assert block in names
    nat = next(b for b in document["blocks"] if b["name"] == "network")["resources"]
    item = next(r for r in nat if r["name"] == "ai-platform-network-nat-0")["items"][0]
    assert item == {
        "description": "NAT gateway hours",
        "quantity": 730,
        "unit": "hour",
        "unitPrice": 0.045,
        "monthly": 32.85,
        "basis": "fixed",
        "assumption": None,
        "price": "nat-gateway-hour",
    }
    budget = document["budget"]
    assert budget["thresholds"] == [
        {"percent": 50, "amount": 2500.0},
        {"percent": 80, "amount": 4000.0},
        {"percent": 100, "amount": 5000.0},
    ]
    assert document["total"] == pytest.approx(document["fixed"] + document["usageBased"], abs=0.01)


def test_diff_shows_what_a_change_adds_or_removes_per_block() -> None:
    dev_graph, dev_spec = planned("aws-dev")
    base = estimate(dev_graph, dev_spec).to_json()
    head = json.loads(json.dumps(base))
    network = next(b for b in head["blocks"] if b["name"] == "network")
    extra = json.loads(json.dumps(next(r for r in network["resources"] if r["name"] == "ai-platform-network-nat-0")))
    extra["name"] = "ai-platform-network-nat-1"
    network["resources"].append(extra)
    network["monthly"] += extra["monthly"]
    head["total"] += extra["monthly"]
    text, document = diff(base, head)
    row = next(r for r in document["blocks"] if r["block"] == "network")
    assert row["added"] == ["ai-platform-network-nat-1"] and row["removed"] == []
    assert row["change"] == pytest.approx(extra["monthly"], abs=0.01)
    assert f"| network | {network['monthly'] - extra['monthly']:,.2f} | {network['monthly']:,.2f} | " in text
    assert "+ai-platform-network-nat-1" in text
    same, _ = diff(base, base)
    assert "(no change)" in same


def test_the_readme_table_is_the_current_estimate() -> None:
    from components.cost.report import side_by_side

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("<!-- cost-table:start -->\n", 1)[1].split("\n<!-- cost-table:end -->", 1)[0]
    assert table == side_by_side([estimate(*planned(stack)) for stack in ("aws-dev", "aws-prod")])
