"""What a stack will cost per month, from its planned graph, before anything is deployed.

The engine is cloud-neutral. Each target prices its own resource types in
``components/<target>/cost.py``, found through the registry (``target.module("cost")``):

* ``PRICES``: the path of its price table (``prices.json``, read by :mod:`components.cost.prices`);
* ``PRICED``: resource type -> formula ``(resource, Context) -> list[Charge]``;
* ``FREE``: resource type -> why it costs nothing (IAM, policies, most associations);
* ``NOT_PRICED``: resource type -> why it is left out of the estimate (listed in the output).

Adding a type is one table entry and one formula. A type in none of the three is shown as not
priced, and the coverage test fails for a shipped stack that has one. A charge is *fixed* when
its quantity follows from the plan alone, and *usage-based* when it rests on the usage
assumptions (:mod:`components.cost.usage`), which the estimate lists with their source.
LLM spend is priced from the app's own price table (``prices`` in the app's ``APP_ROUTING``,
US dollars per million tokens, as ``app.routing.Price``), the one source of token prices.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from components import targets
from components.cost import prices as price_tables
from components.cost.usage import DEFAULT_LOAD, GB, HOURS_PER_MONTH, Usage, UsageError
from components.testing import STACK_TYPE, Graph, GraphResource

__all__ = [
    "GB",
    "HOURS_PER_MONTH",
    "Charge",
    "Context",
    "Estimate",
    "LineItem",
    "UsageError",
    "compute_hours",
    "estimate",
    "request_charge",
    "rule_set_charges",
]

LLM_BLOCK = "LLM (model APIs)"
PLATFORM_BLOCK = "platform"

#: building-block components (by the last part of their type) -> the block their resources bill to
BLOCKS = {
    "Network": "network",
    "Gateway": "gateway",
    "ContainerService": "container runtime",
    "Function": "container runtime",
    "RestApi": "gateway",
    "Worker": "container runtime",
    "Cache": "cache",
    "VectorStore": "vector DB",
    "Queue": "queue",
    "SecretStore": "secrets",
    "Registry": "registry",
    "Observability": "observability",
}


@dataclass(frozen=True)
class Charge:
    """One billed quantity of a resource, as a formula returns it."""

    description: str
    quantity: float
    price_key: str
    usage: str | None = None
    """None: fixed by the plan; else the assumption the quantity rests on."""


@dataclass(frozen=True)
class LineItem:
    block: str
    resource: str
    type: str
    description: str
    quantity: float
    unit: str
    unit_price: float
    usage: str | None
    price_key: str = ""

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": round(self.quantity, 6),
            "unit": self.unit,
            "unitPrice": self.unit_price,
            "monthly": round(self.monthly, 2),
            "basis": "fixed" if self.usage is None else "usage",
            "assumption": self.usage,
            "price": self.price_key,
        }


@dataclass(frozen=True)
class Unpriced:
    resource: str
    type: str
    reason: str


@dataclass
class Estimate:
    stack: str
    target: str
    region: str | None
    currency: str
    table: str
    table_taken: datetime.date
    items: list[LineItem]
    not_priced: list[Unpriced]
    free: dict[str, int]
    """Free resource type -> count in the plan."""
    assumptions: list[tuple[str, Any, str]]
    """(key, value, where it came from) of every traffic figure the estimate used."""
    budget: float
    thresholds: list[int]
    baseline_check: str = "advisory"

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)

    @property
    def fixed(self) -> float:
        return sum(item.monthly for item in self.items if item.usage is None)

    @property
    def usage_based(self) -> float:
        return self.total - self.fixed

    def blocks(self) -> dict[str, list[LineItem]]:
        grouped: dict[str, list[LineItem]] = {}
        for item in self.items:
            grouped.setdefault(item.block, []).append(item)
        return dict(sorted(grouped.items(), key=lambda pair: -sum(i.monthly for i in pair[1])))

    def to_json(self) -> dict[str, Any]:
        blocks = []
        for name, items in self.blocks().items():
            resources: dict[str, dict[str, Any]] = {}
            for item in items:
                entry = resources.setdefault(item.resource, {"name": item.resource, "type": item.type, "items": []})
                entry["items"].append(item.to_json())
            for entry in resources.values():
                entry["monthly"] = round(sum(i["monthly"] for i in entry["items"]), 2)
            blocks.append(
                {
                    "name": name,
                    "monthly": round(sum(i.monthly for i in items), 2),
                    "fixed": round(sum(i.monthly for i in items if i.usage is None), 2),
                    "resources": list(resources.values()),
                }
            )
        return {
            "stack": self.stack,
            "target": self.target,
            "region": self.region,
            "currency": self.currency,
            "priceTable": {"file": self.table, "taken": self.table_taken.isoformat()},
            "total": round(self.total, 2),
            "fixed": round(self.fixed, 2),
            "usageBased": round(self.usage_based, 2),
            "blocks": blocks,
            "assumptions": [{"key": k, "value": v, "source": s} for k, v, s in self.assumptions],
            "free": self.free,
            "notPriced": [{"resource": u.resource, "type": u.type, "reason": u.reason} for u in self.not_priced],
            "budget": {
                "monthlyAmount": self.budget,
                "thresholds": [{"percent": p, "amount": round(self.budget * p / 100, 2)} for p in self.thresholds],
                "fixedBaselinePercent": round(100 * self.fixed / self.budget, 1),
                "baselineCheck": self.baseline_check,
            },
        }


Formula = Callable[[GraphResource, "Context"], list[Charge]]


class Context:
    """What a formula may ask: prices, the traffic in force, per-resource usage, the graph."""

    def __init__(self, graph: Graph, spec: Any, table: price_tables.PriceTable, usage: Usage) -> None:
        self.graph = graph
        self.spec = spec
        self.table = table
        self.usage_file = usage
        self._by_urn = {r.urn: r for r in graph.resources}
        self.used: dict[str, set[str]] = {}
        """Resource name -> the usage quantities its formula takes (checked against the usage file)."""
        self.assumptions: dict[str, tuple[Any, str]] = {}

    # --- traffic -------------------------------------------------------------------------------
    def _traffic(self, key: str, default: Any, why: str) -> Any:
        traffic = self.usage_file.traffic
        name = _snake(key)
        if name not in traffic.model_fields_set:
            self.assumptions.setdefault(key, (default, f"default: {why}"))
            return default
        value = getattr(traffic, name)
        self.assumptions.setdefault(key, (value, f"usage file {self.usage_file.source}"))
        return value

    @property
    def requests(self) -> float:
        """API requests per month."""
        spec = self.spec
        default = round(DEFAULT_LOAD * spec.min_replicas * spec.app.scaling.requests_per_minute * 60 * HOURS_PER_MONTH)
        why = (
            f"{DEFAULT_LOAD:.0%} of {spec.min_replicas} minimum replica(s) x "
            f"{spec.app.scaling.requests_per_minute} requests/minute"
        )
        return self._traffic("requestsPerMonth", default, why)

    def traffic(self, key: str) -> float:
        """A per-request traffic figure (``bytesPerRequest``...), from the usage file or its stated default."""
        default = type(self.usage_file.traffic).model_fields[_snake(key)].default
        return self._traffic(key, default, "components/cost/usage.py")

    @property
    def edge_gb(self) -> float:
        """GB a month through the edge (and through the egress path to the model APIs)."""
        return self.requests * self.traffic("bytesPerRequest") / GB

    @property
    def log_gb(self) -> float:
        """Application log GB ingested a month."""
        return self.requests * self.traffic("logBytesPerRequest") / GB

    @property
    def jobs(self) -> float:
        return self.requests * self.traffic("jobsPerRequest")

    # --- per resource --------------------------------------------------------------------------
    def usage(self, resource: GraphResource, key: str, default: float, why: str) -> tuple[float, str]:
        """A quantity of ``resource`` (per month) from the usage file's ``resources`` section, else
        ``default``; returns it with the assumption to show."""
        self.used.setdefault(resource.name, set()).add(key)
        given = self.usage_file.resources.get(resource.name, {})
        if key in given:
            return float(given[key]), f"{key} = {given[key]:g} (usage file)"
        return default, f"{key} = {default:.4g} ({why})"

    def referenced(self, resource: GraphResource, key: str) -> list[GraphResource]:
        """The resources input ``key`` of ``resource`` came from (``taskDefinition`` -> the task definition)."""
        return [self._by_urn[u] for u in resource.property_dependencies.get(key, []) if u in self._by_urn]

    def block(self, resource: GraphResource, extra: dict[str, str] | None = None) -> str:
        """The block a resource bills to: the nearest enclosing building block."""
        blocks = {**BLOCKS, **(extra or {})}
        current: GraphResource | None = resource
        while current is not None:
            if not current.custom:
                name = blocks.get(current.type.rsplit(":", 1)[-1])
                if name is not None:
                    return name
            current = self._by_urn.get(current.parent or "")
        return PLATFORM_BLOCK


# --- charge shapes the targets share ----------------------------------------------------------
def compute_hours(count: float, cores: float, memory: float, keys: tuple[str, str], what: str) -> list[Charge]:
    """vCPU and memory hours of ``count`` always-on ``what`` (tasks, instances, replicas) of
    ``cores`` vCPU and ``memory`` GB each; ``keys``: the vCPU-hour and memory-hour prices."""
    hours = count * HOURS_PER_MONTH
    return [
        Charge(f"vCPU hours ({count:g} {what} x {cores:g} vCPU)", hours * cores, keys[0]),
        Charge(f"memory hours ({count:g} {what} x {memory:g} GB)", hours * memory, keys[1]),
    ]


def request_charge(resource: GraphResource, context: Context, key: str, why: str = "every API request") -> Charge:
    """The per-request fee of a resource every API request passes (``requestsMillions``)."""
    millions, why = context.usage(resource, "requestsMillions", context.requests / 1e6, why)
    return Charge("requests", millions, key, why)


def rule_set_charges(resource: GraphResource, context: Context, keys: tuple[str, str, str]) -> list[Charge]:
    """A web application firewall's policy, its rules (``inputs.rules``) and the requests it inspects."""
    rules = len(resource.inputs.get("rules") or [])
    return [
        Charge("policy", 1, keys[0]),
        Charge(f"rules x {rules}", rules, keys[1]),
        request_charge(resource, context, keys[2], "every API request is inspected"),
    ]


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def estimate(graph: Graph, spec: Any, usage: Usage | None = None) -> Estimate:
    """The monthly estimate of a planned graph; raises UsageError or PriceTableError on bad input."""
    usage = usage or Usage()
    target = targets.get(str(graph.cloud or spec.cloud))
    module = target.module("cost")
    table = price_tables.load(module.PRICES, spec.region, target.region_key)
    context = Context(graph, spec, table, usage)
    extra_blocks: dict[str, str] = getattr(module, "BLOCKS", {})
    items: list[LineItem] = []
    not_priced: list[Unpriced] = []
    free: dict[str, int] = {}
    for resource in graph.resources:
        if not resource.custom or resource.type == STACK_TYPE:
            continue
        formula = module.PRICED.get(resource.type)
        if formula is not None:
            block = context.block(resource, extra_blocks)
            try:
                items += [_line(block, resource.name, resource.type, c, table) for c in formula(resource, context)]
            except price_tables.PriceTableError as error:
                not_priced.append(Unpriced(resource.name, resource.type, str(error)))
        elif resource.type in module.FREE:
            free[resource.type] = free.get(resource.type, 0) + 1
        else:
            reason = module.NOT_PRICED.get(resource.type, "no formula or price for this type yet")
            not_priced.append(Unpriced(resource.name, resource.type, reason))
    llm, unpriced_llm = _llm_items(context)
    items += llm
    not_priced += unpriced_llm
    _check_usage_names(usage, context)
    return Estimate(
        stack=graph.stack,
        target=target.name,
        region=spec.region,
        currency=table.table.currency,
        table=f"components/{target.name}/{module.PRICES.name}",
        table_taken=table.taken,
        items=items,
        not_priced=not_priced,
        free=dict(sorted(free.items())),
        assumptions=[(key, value, source) for key, (value, source) in context.assumptions.items()],
        budget=spec.budget.monthly_amount,
        thresholds=list(spec.budget.thresholds),
        baseline_check=getattr(spec.budget, "baseline_check", "advisory"),
    )


def _line(block: str, resource: str, type_: str, charge: Charge, table: price_tables.PriceTable) -> LineItem:
    price = table.price(charge.price_key)
    return LineItem(
        block, resource, type_, charge.description, charge.quantity, price.unit, price.amount, charge.usage, price.key
    )


def _check_usage_names(usage: Usage, context: Context) -> None:
    """Every resource and quantity a usage file names must be one the estimate takes."""
    names = {r.name for r in context.graph.resources}
    for name, quantities in usage.resources.items():
        where = f"{usage.source}: resources.{name}"
        if name not in context.used:
            kind = "is planned but takes no usage" if name in names else "names no planned resource"
            allowed = ", ".join(sorted(context.used)) or "none"
            raise UsageError(f"{where} = {quantities!r}: {kind}; resources that take usage: {allowed}")
        for key, value in quantities.items():
            if key not in context.used[name]:
                allowed = ", ".join(sorted(context.used[name]))
                raise UsageError(f"{where}.{key} = {value!r}: not a quantity of {name}; allowed: {allowed}")


# --- LLM spend, from the app's price table ------------------------------------------------------
def app_prices(spec: Any) -> tuple[dict[str, tuple[float, float]], str | None]:
    """Model -> (input, output) USD per million tokens from the app's ``APP_ROUTING`` (the app's
    price table), and the model priced by default; ({}, None) when the app has none."""
    raw = spec.app.environment.get("APP_ROUTING")
    if not raw:
        return {}, None
    try:
        routing = yaml.safe_load(raw) or {}
    except yaml.YAMLError:
        return {}, None
    if not isinstance(routing, dict):
        return {}, None
    table = {
        str(model): (float(price.get("input", 0)), float(price.get("output", 0)))
        for model, price in (routing.get("prices") or {}).items()
        if isinstance(price, dict)
    }
    return table, _default_model(routing)


def _default_model(routing: dict[str, Any]) -> str | None:
    """The model a request lands on by default: the first target of the medium tier's alias
    (``default_model: auto``) or of the default model."""
    models = routing.get("models") or {}
    alias = routing.get("default_model")
    if alias in (None, "auto"):
        alias = (routing.get("tiers") or {}).get("medium", alias)
    targets_ = models.get(alias) or []
    return str(targets_[0].get("model")) if targets_ and isinstance(targets_[0], dict) else None


def _llm_items(context: Context) -> tuple[list[LineItem], list[Unpriced]]:
    table, default = app_prices(context.spec)
    if not table or default is None or default not in table:
        reason = "the app has no price table for its default model (APP_ROUTING prices)"
        return [], [Unpriced("llm-tokens", "llm", reason)]
    shares = context.usage_file.traffic.llm_models
    if shares is None:
        shares = {default: 1.0}
        context.assumptions["llmModels"] = (shares, "default: the medium tier's first model (APP_ROUTING)")
    else:
        context.assumptions["llmModels"] = (shares, f"usage file {context.usage_file.source}")
        unknown = sorted(set(shares) - set(table))
        if unknown:
            raise UsageError(
                f"{context.usage_file.source}: traffic.llmModels.{unknown[0]} = {shares[unknown[0]]!r}: not a model "
                f"of the app's price table; allowed: {', '.join(sorted(table))}"
            )
    requests = context.requests
    tokens_in = context.traffic("llmInputTokensPerRequest")
    tokens_out = context.traffic("llmOutputTokensPerRequest")
    items = []
    for model, share in shares.items():
        if share == 0:
            continue
        price_in, price_out = table[model]
        for kind, tokens, price in (("input", tokens_in, price_in), ("output", tokens_out, price_out)):
            quantity = requests * share * tokens / 1_000_000
            why = f"{share:.0%} of requests x {tokens:g} {kind} tokens"
            items.append(
                LineItem(LLM_BLOCK, model, "llm", f"{kind} tokens", quantity, "1M tokens", price, why, "APP_ROUTING")
            )
    return items, []


def covered_types(module: Any) -> set[str]:
    """Every type a target's cost module classifies (priced, free or not priced)."""
    return set(module.PRICED) | set(module.FREE) | set(module.NOT_PRICED)


def unclassified(graph: Graph, module: Any) -> list[str]:
    """Custom resource types of ``graph`` that the target's cost module does not classify."""
    known = covered_types(module)
    return sorted({r.type for r in graph.resources if r.custom and r.type != STACK_TYPE and r.type not in known})
