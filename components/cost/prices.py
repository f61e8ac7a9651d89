"""A target's price table (``components/<target>/prices.json``): list prices shipped with the code.

Each entry has its unit, its price per region (``"*"`` where the price is the same everywhere),
the page it was taken from, the date it was taken and the key that finds it in the cloud's
public price list (``lookup``). No network at run time: ``scripts/refresh_prices.py`` refreshes
the table from those lists (:mod:`components.cost.refresh`), and a test fails when an entry is
older than ``MAX_AGE_DAYS``, names no source or has no lookup key.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic.alias_generators import to_camel

#: how old (in days) a table entry may be before the freshness test fails
MAX_AGE_DAYS = 365
ANY_REGION = "*"


class PriceTableError(ValueError):
    """A price table that cannot be read, or a region or price it does not hold."""


Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lookup(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    per: float = Field(default=1, gt=0)
    """List-price units in one table unit (a price per request in a ``1M requests`` entry: 1000000)."""
    region: str | None = None
    """The list's region to read instead of the table's (``global``; a ``"*"`` price read in one region)."""


class AwsLookup(_Lookup):
    """A price in the AWS Price List bulk API: the on-demand term of one product in the offer file
    ``/offers/v1.0/aws/<offer>/current/<region>/index.json``."""

    price_list: Literal["aws"]
    offer: str = Field(min_length=1)
    """The offer (service) code: ``AmazonVPC``, ``AWSELB``..."""
    product_family: str | None = None
    """``products.<sku>.productFamily``, when the attributes alone are ambiguous."""
    attributes: dict[str, str] = Field(min_length=1)
    """``products.<sku>.attributes`` that identify the product; values are shell patterns
    (``*NatGateway-Hours``: the usage type carries a region prefix outside us-east-1)."""
    unit: str | None = None
    """``priceDimensions.<rate>.unit`` the on-demand price must have (``Hrs``, ``GB``, ``GB-Mo``...):
    guards the ``per`` conversion."""
    begin_range: str = "0"
    """``beginRange`` of the tier to read (the first paid tier where the list starts with a free one)."""


class AzureLookup(_Lookup):
    """A meter of the Azure Retail Prices API (``https://prices.azure.com/api/retail/prices``, no authentication)."""

    price_list: Literal["azure"]
    service_name: str = Field(min_length=1)
    product_name: str | None = None
    sku_name: str | None = None
    meter_name: str = Field(min_length=1)
    """Exact, or a shell pattern (``*Data Ingestion``), matched on the items the other fields select."""
    unit_of_measure: str | None = None
    """``unitOfMeasure`` the meter must have (``1 Hour``, ``1 GB``, ``10K``...)."""
    tier_minimum_units: float = 0
    """``tierMinimumUnits`` of the tier to read."""


class GcpLookup(_Lookup):
    """A SKU of the Cloud Billing Catalog API (``services/<id>/skus``; needs an API key)."""

    price_list: Literal["gcp"]
    service: str = Field(min_length=1)
    """The service's display name (``Cloud Run``), resolved to its id through ``services.list``."""
    description: str = Field(min_length=1)
    """The SKU's ``description``: exact, or a shell pattern (``Redis Capacity Basic M1*``)."""
    usage_unit: str | None = None
    """``pricingExpression.usageUnit`` the SKU must have (``h``, ``s``, ``GiBy.mo``...): guards ``per``."""
    start_usage_amount: float = 0
    """``startUsageAmount`` of the tiered rate to read (past a free tier)."""


Lookup = Annotated[AwsLookup | AzureLookup | GcpLookup, Field(discriminator="price_list")]


class Entry(_Strict):
    unit: str = Field(min_length=1)
    """What one unit is: ``hour``, ``GB``, ``GB-month``, ``1M requests``..."""
    usd: dict[str, float]
    """Price of one unit per region (``"*"``: every region); empty only for an entry whose price
    no public page confirmed yet, which ``lookup`` fills from the price list."""
    source: Url
    """The public price page the figure was taken from."""
    taken: datetime.date
    """When the figure was taken from ``source`` (or the entry written, while ``usd`` is empty)."""
    note: str = ""
    verified: Url | None = None
    """The public page that confirmed the figure when it was last checked, if any."""
    lookup: Lookup | None = None
    """Where the price is in the provider's public price list (scripts/refresh_prices.py)."""

    @model_validator(mode="after")
    def _priced_or_looked_up(self) -> Entry:
        if not self.usd and self.lookup is None:
            raise ValueError("usd is empty and there is no lookup to fill it: give a price or a lookup")
        return self


class Table(_Strict):
    target: str
    currency: str = "USD"
    regions: list[str] = Field(default_factory=list)
    """Regions the table prices (empty: the target has no regions)."""
    refresh: str = Field(min_length=1)
    """How to refresh the table from the provider's public price list."""
    prices: dict[str, Entry]


@dataclass(frozen=True)
class Price:
    key: str
    unit: str
    amount: float
    source: str
    taken: datetime.date


@dataclass(frozen=True)
class PriceTable:
    """One target's table, read for one region."""

    table: Table
    path: Path
    region: str | None

    @property
    def taken(self) -> datetime.date:
        """The oldest entry's date: how current the table is as a whole."""
        return min(entry.taken for entry in self.table.prices.values())

    def has(self, key: str) -> bool:
        entry = self.table.prices.get(key)
        return entry is not None and (ANY_REGION in entry.usd or self.region in entry.usd)

    def price(self, key: str) -> Price:
        entry = self.table.prices.get(key)
        if entry is None:
            raise PriceTableError(f"{self.path.name}: no price {key!r}")
        amount = entry.usd.get(self.region or ANY_REGION, entry.usd.get(ANY_REGION))
        if amount is None and not entry.usd:
            raise PriceTableError(
                f"{self.path.name}: {key!r} has no price yet (no public page confirmed one); "
                f"take it from the price list: scripts/refresh_prices.py {self.table.target}"
            )
        if amount is None:
            raise PriceTableError(
                f"{self.path.name}: {key!r} has no price for region {self.region!r}; priced: {', '.join(entry.usd)}"
            )
        return Price(key, entry.unit, amount, entry.source, entry.taken)


@cache
def read_table(path: Path) -> Table:
    try:
        return Table.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as error:
        raise PriceTableError(f"price table {path} cannot be read: {error}") from None


def load(path: Path, region: str | None, region_key: str | None) -> PriceTable:
    """The table at ``path`` for ``region``; an unknown region names the key, the value and the
    regions the table prices."""
    table = read_table(path)
    if table.regions and region not in table.regions:
        key = region_key or "region"
        raise PriceTableError(
            f"{key} = {region!r}: the price table ({path.name}) has no prices for this region; "
            f"priced regions: {', '.join(table.regions)} (add the region to the table: docs/cost.md)"
        )
    return PriceTable(table, path, region)
