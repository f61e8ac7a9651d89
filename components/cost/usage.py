"""The usage a stack's estimate rests on: an optional usage file, else defaults derived from the spec.

A usage file (default ``stacks/usage/<stack>.yaml``) has two optional sections::

    traffic:                    # stack-wide assumptions (camelCase, as in stack files)
      requestsPerMonth: 2000000
      llmInputTokensPerRequest: 800
      llmModels: {gpt-4o-mini: 0.8, gpt-4.1: 0.2}   # share of requests per priced model
    resources:                  # one planned resource (its name in `ai-platform plan`) -> quantities
      ai-platform-network-nat-0: {gbProcessed: 40}

Every key is checked: an unknown traffic key, a resource name that is not in the plan or a
quantity that resource does not take is an error naming the key, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

HOURS_PER_MONTH = 730
"""Hours in an average month (8,760 / 12), as the clouds' calculators use."""
GB = 1_000_000_000
DEFAULT_LOAD = 0.05
"""Default average load: 5 % of what the minimum replicas are scaled to serve."""


class UsageError(ValueError):
    """A usage file that cannot be used: names the key, the value and what is allowed."""


class Traffic(BaseModel):
    """Stack-wide usage; each unset field gets the default derived from the spec (``defaults``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    requests_per_month: float | None = Field(default=None, ge=0)
    """API requests per month. Default: 5 % of the minimum replicas' scaling target
    (minReplicas x scaling.requestsPerMinute x 60 x 730 x 0.05)."""
    bytes_per_request: float = Field(default=20_000, ge=0)
    """Request + response bytes through the edge, and the model call's through the egress path."""
    log_bytes_per_request: float = Field(default=1_000, ge=0)
    """Application log bytes written per request."""
    jobs_per_request: float = Field(default=0.01, ge=0)
    """Background jobs (queue messages) per API request."""
    llm_input_tokens_per_request: float = Field(default=500, ge=0)
    llm_output_tokens_per_request: float = Field(default=200, ge=0)
    llm_models: dict[str, float] | None = None
    """Share of requests per model of the app's price table (shares add up to 1). Default: every
    request on the first target of the model the app's ``medium`` tier (or default model) names."""
    database_gb: float = Field(default=10, ge=0)
    """Data stored in the vector database."""


@dataclass
class Usage:
    """The traffic in force and the per-resource quantities of a usage file (tracked as used)."""

    traffic: Traffic = field(default_factory=Traffic)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None
    """The usage file, or None for the defaults only."""


def _where(source: str, location: tuple[Any, ...]) -> str:
    return f"{source}: " + ".".join(str(part) for part in location)


def parse(document: Any, source: str) -> Usage:
    """A usage file's content, validated (resource names are checked later, against the plan)."""
    if document is None:
        return Usage(source=source)
    if not isinstance(document, Mapping):
        raise UsageError(f"{source}: must be a mapping with `traffic` and/or `resources`, not {document!r}")
    unknown = sorted(set(document) - {"traffic", "resources"})
    if unknown:
        key = unknown[0]
        raise UsageError(f"{source}: {key} = {document[key]!r}: not a section; allowed: traffic, resources")
    traffic_raw = document.get("traffic") or {}
    try:
        traffic = Traffic.model_validate(traffic_raw)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            location = ("traffic", *item["loc"])
            value = item.get("input")
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                allowed = ", ".join(sorted(to_camel(name) for name in Traffic.model_fields))
                message = f"not a traffic setting; allowed: {allowed}"
            problems.append(f"{_where(source, location)} = {value!r}: {message}")
        raise UsageError("\n".join(problems)) from None
    _check_shares(traffic, source)
    resources = document.get("resources") or {}
    if not isinstance(resources, Mapping):
        raise UsageError(f"{source}: resources = {resources!r}: must map resource names to quantities")
    checked: dict[str, dict[str, Any]] = {}
    for name, quantities in resources.items():
        if not isinstance(quantities, Mapping) or not quantities:
            raise UsageError(
                f"{_where(source, ('resources', name))} = {quantities!r}: must map quantities to numbers, "
                "e.g. {gbProcessed: 40}"
            )
        for key, value in quantities.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise UsageError(f"{_where(source, ('resources', name, key))} = {value!r}: must be a number >= 0")
        checked[str(name)] = dict(quantities)
    return Usage(traffic=traffic, resources=checked, source=source)


def _check_shares(traffic: Traffic, source: str) -> None:
    shares = traffic.llm_models
    if shares is None:
        return
    bad = {model: share for model, share in shares.items() if not 0 <= share <= 1}
    if bad or not shares or abs(sum(shares.values()) - 1) > 1e-6:
        raise UsageError(
            f"{_where(source, ('traffic', 'llmModels'))} = {shares!r}: must map models of the app's price "
            "table to shares between 0 and 1 that add up to 1"
        )


def load(path: Path) -> Usage:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UsageError(f"usage file {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"usage file {path} is not valid YAML: {error}") from None
    return parse(document, str(path))
