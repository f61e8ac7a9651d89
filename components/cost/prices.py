"""A target's price table (``components/<target>/prices.json``): list prices shipped with the code.

Each entry has its unit, its price per region (``"*"`` where the price is the same everywhere),
the page it was taken from, the date it was taken and the key that finds it in the cloud's
public price list (``lookup``). No network at run time: ``scripts/refresh_prices.py`` refreshes
the table from those lists (:mod:`ai_platform_cli.price_lists`), and a test fails when an entry is
older than ``MAX_AGE_DAYS``, names no source or has no lookup key.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

#: how old (in days) a table entry may be before the freshness test fails
MAX_AGE_DAYS = 365
ANY_REGION = "*"


class PriceTableError(ValueError):
    """A price table that cannot be read, or a region or price it does not hold."""


Url = Annotated[str, StringConstraints(pattern=r"^https://\S+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    lookup: dict[str, Any] | None = None
    """Where the price is in the provider's public price list: read by the refresh tool, which
    knows each list's fields (:mod:`ai_platform_cli.price_lists`, scripts/refresh_prices.py)."""

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
