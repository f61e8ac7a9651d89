"""Refresh the price tables from the clouds' public price lists (``scripts/refresh_prices.py``).

Each entry of a ``prices.json`` names where its price is in its provider's list (``lookup``,
:mod:`components.cost.prices`; its fields per list are the ``*Lookup`` models below):

* AWS: the Price List bulk API offer file of the service for the region,
  ``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/<region>/index.json``
  (no authentication; ``products`` matched on product family and attributes, the price read
  from the product's ``terms.OnDemand`` dimension of the given ``unit`` and ``beginRange``);
* Azure: the Retail Prices API, ``https://prices.azure.com/api/retail/prices?$filter=...``
  (no authentication; one meter by service, SKU, meter name, ``armRegionName``, pay-as-you-go);
* Google Cloud: the Cloud Billing Catalog API, ``services`` (display name to id) then
  ``services/<id>/skus`` (the SKU by description and ``serviceRegions``). It needs an API key,
  read from the environment variable ``CLOUD_BILLING_API_KEY``.

A run reads every entry's price, prints what changed and rewrites ``usd`` and ``taken``;
``--check`` only reports and exits 1 when a price changed. An entry whose lookup matches no
price, or more than one, is reported with what the list holds and left as it is (exit 2).
Nothing here runs at estimate time: the estimate reads the shipped tables only.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from components.cost.prices import ANY_REGION, Table

API_KEY_VARIABLE = "CLOUD_BILLING_API_KEY"
#: the price lists' public endpoints (``--endpoint LIST=URL`` points one at a mirror)
ENDPOINTS = {
    "aws": "https://pricing.us-east-1.amazonaws.com",
    "azure": "https://prices.azure.com",
    "gcp": "https://cloudbilling.googleapis.com",
}
_SIGNIFICANT = 10
"""Digits kept of a converted price (a per-second rate x 3,600 leaves float noise)."""

Fetch = Callable[[str], Any]
"""A URL -> its JSON document."""


class _Lookup(BaseModel):
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


LOOKUP: TypeAdapter[AwsLookup | AzureLookup | GcpLookup] = TypeAdapter(Lookup)
"""Validates an entry's ``lookup`` (a malformed one fails tests/cost/test_refresh_prices.py)."""


class PriceListError(ValueError):
    """A lookup that finds no price, or more than one, in its price list."""


def http_json(url: str) -> Any:
    """The JSON document at ``url`` (GET, no credentials beyond what the URL carries)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ai-platform-prices"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


# --- one price out of one list's document ------------------------------------------------------
def _number(value: float) -> float:
    return float(f"{value:.{_SIGNIFICANT}g}")


def aws_price(offer: dict[str, Any], lookup: AwsLookup) -> float:
    """The on-demand price in an offer file (``products`` / ``terms.OnDemand``) that ``lookup`` names."""
    products = [
        product
        for product in (offer.get("products") or {}).values()
        if (lookup.product_family is None or product.get("productFamily") == lookup.product_family)
        and all(
            fnmatch.fnmatchcase(str((product.get("attributes") or {}).get(name, "")), pattern)
            for name, pattern in lookup.attributes.items()
        )
    ]
    on_demand = (offer.get("terms") or {}).get("OnDemand") or {}
    dimensions = [
        (product["sku"], dimension)
        for product in products
        for term in (on_demand.get(product["sku"]) or {}).values()
        for dimension in (term.get("priceDimensions") or {}).values()
    ]
    found = [
        (sku, float(d["pricePerUnit"]["USD"]))
        for sku, d in dimensions
        if (lookup.unit is None or d.get("unit") == lookup.unit) and str(d.get("beginRange")) == lookup.begin_range
    ]
    if len(found) == 1:
        return _number(found[0][1] * lookup.per)
    if not found:
        seen = sorted({f"{(p.get('attributes') or {}).get('usagetype')}" for p in products})
        held = sorted({f"{d.get('unit')} from {d.get('beginRange')}" for _, d in dimensions})
        raise PriceListError(
            f"no on-demand price of unit {lookup.unit!r} from beginRange {lookup.begin_range!r}: "
            f"{len(products)} product(s) of {offer.get('offerCode')} match (usagetypes: {', '.join(seen) or '-'}; "
            f"prices: {', '.join(held) or '-'})"
        )
    skus = ", ".join(f"{sku} ({price:g})" for sku, price in found)
    raise PriceListError(f"{len(found)} prices match in {offer.get('offerCode')}: {skus}; narrow the attributes")


def azure_filter(lookup: AzureLookup, region: str) -> str:
    """The Retail Prices API ``$filter`` of one pay-as-you-go meter in ``region`` (a meter name
    pattern is matched on the answer instead)."""
    terms = {"serviceName": lookup.service_name, "armRegionName": region, "priceType": "Consumption"}
    optional = {"productName": lookup.product_name, "skuName": lookup.sku_name}
    if "*" not in lookup.meter_name:
        optional["meterName"] = lookup.meter_name
    terms |= {name: value for name, value in optional.items() if value}
    return " and ".join(f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'" for name, value in terms.items())


def azure_price(items: Sequence[dict[str, Any]], lookup: AzureLookup) -> float:
    """The ``retailPrice`` of the one item (of the filtered ``Items``) at ``tierMinimumUnits``."""
    found = [
        item
        for item in items
        if item.get("type") == "Consumption"
        and fnmatch.fnmatchcase(str(item.get("meterName")), lookup.meter_name)
        and float(item.get("tierMinimumUnits") or 0) == lookup.tier_minimum_units
        and (lookup.unit_of_measure is None or item.get("unitOfMeasure") == lookup.unit_of_measure)
    ]
    if len(found) == 1:
        return _number(float(found[0]["retailPrice"]) * lookup.per)
    listed = "; ".join(
        f"{i.get('productName')} / {i.get('skuName')} / {i.get('meterName')}: {i.get('retailPrice')} per "
        f"{i.get('unitOfMeasure')} from {i.get('tierMinimumUnits')}"
        for i in items
    )
    problem = "no meter matches" if not found else f"{len(found)} meters match"
    raise PriceListError(f"{problem} (tierMinimumUnits {lookup.tier_minimum_units:g}); the list holds: {listed or '-'}")


def gcp_price(skus: Sequence[dict[str, Any]], lookup: GcpLookup, region: str) -> float:
    """The price of the one on-demand SKU of ``description`` sold in ``region``, at its tier."""
    found = [
        sku
        for sku in skus
        if fnmatch.fnmatchcase(str(sku.get("description")), lookup.description)
        and region in (sku.get("serviceRegions") or [])
        and (sku.get("category") or {}).get("usageType", "OnDemand") == "OnDemand"
    ]
    if len(found) != 1:
        similar = sorted(
            f"{s.get('description')} {s.get('serviceRegions')}"
            for s in skus
            if lookup.description.split(" ")[0].strip("*").lower() in str(s.get("description")).lower()
        )
        problem = "no SKU matches" if not found else f"{len(found)} SKUs match"
        raise PriceListError(f"{problem} in {region}; similar SKUs: {'; '.join(similar[:12]) or '-'}")
    expression = found[0]["pricingInfo"][0]["pricingExpression"]
    if lookup.usage_unit is not None and expression.get("usageUnit") != lookup.usage_unit:
        raise PriceListError(
            f"{found[0].get('skuId')} is priced per {expression.get('usageUnit')!r}, not {lookup.usage_unit!r}: "
            "check the lookup's per"
        )
    for rate in expression.get("tieredRates") or []:
        if float(rate.get("startUsageAmount") or 0) == lookup.start_usage_amount:
            money = rate["unitPrice"]
            return _number((int(money.get("units") or 0) + int(money.get("nanos") or 0) / 1e9) * lookup.per)
    starts = [float(r.get("startUsageAmount") or 0) for r in expression.get("tieredRates") or []]
    raise PriceListError(
        f"{found[0].get('skuId')}: no tier starts at {lookup.start_usage_amount:g}; tiers start at {starts}"
    )


# --- the lists, fetched once each --------------------------------------------------------------
@dataclass
class PriceLists:
    """The provider lists a refresh reads, each document fetched once."""

    fetch: Fetch = http_json
    endpoints: dict[str, str] = field(default_factory=lambda: dict(ENDPOINTS))
    api_key: str | None = None
    _documents: dict[str, Any] = field(default_factory=dict)
    _gcp_services: dict[str, str] | None = None

    def _get(self, url: str) -> Any:
        if url not in self._documents:
            self._documents[url] = self.fetch(url)
        return self._documents[url]

    def price(self, lookup: AwsLookup | AzureLookup | GcpLookup, region: str) -> float:
        if isinstance(lookup, AwsLookup):
            base = self.endpoints["aws"]
            return aws_price(self._get(f"{base}/offers/v1.0/aws/{lookup.offer}/current/{region}/index.json"), lookup)
        if isinstance(lookup, AzureLookup):
            return azure_price(self._azure_items(azure_filter(lookup, region)), lookup)
        return gcp_price(self._gcp_skus(lookup.service), lookup, region)

    def _azure_items(self, expression: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.endpoints['azure']}/api/retail/prices?" + urllib.parse.urlencode(
            {"$filter": expression}
        )
        items: list[dict[str, Any]] = []
        while url:  # NextPageLink: 100 items a page
            page = self._get(url)
            items += page.get("Items") or []
            url = page.get("NextPageLink")
        return items

    def _gcp_pages(self, path: str, key: str, extra: dict[str, str]) -> list[dict[str, Any]]:
        if not self.api_key:
            raise PriceListError(
                f"the Cloud Billing Catalog API needs an API key: set {API_KEY_VARIABLE} "
                "(a key of any project with the Cloud Billing API enabled)"
            )
        found: list[dict[str, Any]] = []
        token = ""
        while True:
            query = {"key": self.api_key, **extra, **({"pageToken": token} if token else {})}
            page = self._get(f"{self.endpoints['gcp']}/v1/{path}?" + urllib.parse.urlencode(query))
            found += page.get(key) or []
            token = page.get("nextPageToken") or ""
            if not token:
                return found

    def _gcp_skus(self, service: str) -> list[dict[str, Any]]:
        if self._gcp_services is None:
            services = self._gcp_pages("services", "services", {"pageSize": "5000"})
            self._gcp_services = {str(s.get("displayName")): str(s.get("serviceId")) for s in services}
        service_id = self._gcp_services.get(service)
        if service_id is None:
            raise PriceListError(f"no Cloud Billing service is named {service!r}")
        return self._gcp_pages(f"services/{service_id}/skus", "skus", {"currencyCode": "USD", "pageSize": "5000"})


# --- a table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    key: str
    region: str
    old: float | None
    new: float

    def line(self) -> str:
        if self.old is None:
            return f"  {self.key} [{self.region}]: (none) -> {self.new:g}"
        percent = f" ({(self.new - self.old) / self.old:+.1%})" if self.old else ""
        return f"  {self.key} [{self.region}]: {self.old:g} -> {self.new:g}{percent}"


@dataclass
class Result:
    path: Path
    document: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    read: int = 0
    """Entries whose every price was read from the list."""

    def report(self) -> str:
        lines = [f"{self.path}: {self.read} entries read, {len(self.changes)} price(s) changed"]
        lines += [change.line() for change in self.changes]
        lines += [f"  ! {problem}" for problem in self.problems]
        return "\n".join(lines)


def _new_prices(table: Table, key: str, lists: PriceLists) -> dict[str, float]:
    """An entry's ``usd`` read from its price list: in the lookup's region when it names one (the
    price of every region the entry lists), else in each of the table's regions (one ``"*"``
    price when the entry has one and every region agrees)."""
    entry = table.prices[key]
    assert entry.lookup is not None
    lookup = LOOKUP.validate_python(entry.lookup)
    if lookup.region is not None:
        return dict.fromkeys(entry.usd or [ANY_REGION], lists.price(lookup, lookup.region))
    if not table.regions:
        raise PriceListError("the table has no regions: give the lookup a region")
    read = {region: lists.price(lookup, region) for region in table.regions}
    if ANY_REGION in entry.usd and len(set(read.values())) == 1:
        return {ANY_REGION: next(iter(read.values()))}
    return read


def refresh(path: Path, lists: PriceLists, today: datetime.date) -> Result:
    """Read every entry of the table at ``path`` from its price list; the new document and what changed."""
    document = json.loads(path.read_text())
    table = Table.model_validate(document)
    result = Result(path, document)
    for key, entry in table.prices.items():
        if entry.lookup is None:
            result.problems.append(f"{key}: no lookup: it cannot be refreshed from a price list")
            continue
        try:
            new = _new_prices(table, key, lists)
        except (PriceListError, OSError, ValueError, KeyError) as error:
            result.problems.append(f"{key} ({entry.lookup.get('priceList')}): {error}")
            continue
        olds = {region: entry.usd.get(region, entry.usd.get(ANY_REGION)) for region in new}
        free = [region for region, price in new.items() if price == 0 and olds[region]]
        if free:
            result.problems.append(
                f"{key} ({entry.lookup.get('priceList')}): the list's price is 0 in {', '.join(free)} (a free tier?): "
                "point the lookup past it (beginRange, tierMinimumUnits, startUsageAmount)"
            )
            continue
        result.changes += [Change(key, r, olds[r], price) for r, price in new.items() if olds[r] != price]
        raw = document["prices"][key]
        raw["usd"] = new
        raw["taken"] = today.isoformat()
        result.read += 1
    return result


def _indent(text: str) -> int:
    """The indent a JSON file uses (its first indented line's), so a rewrite keeps its layout."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped:
            return len(line) - len(stripped)
    return 2


def write(result: Result) -> None:
    text = result.path.read_text()
    result.path.write_text(json.dumps(result.document, indent=_indent(text)) + "\n")


def tables() -> dict[str, Path]:
    """Target -> its shipped price table."""
    from components import targets

    return {name: Path(targets.get(name).module("cost").PRICES) for name in targets.available()}


def main(argv: Sequence[str] | None = None, lists: PriceLists | None = None, today: datetime.date | None = None) -> int:
    """0: refreshed (or, with --check, unchanged); 1: --check found a changed price; 2: a lookup failed."""
    shipped = tables()
    parser = argparse.ArgumentParser(
        prog="scripts/refresh_prices.py",
        description="Refresh components/<target>/prices.json from the clouds' public price lists.",
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"default: all ({', '.join(shipped)})")
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if any price changed")
    parser.add_argument(
        "--endpoint", action="append", default=[], metavar="LIST=URL", help="read a price list from a mirror"
    )
    parser.add_argument("--table", action="append", default=[], metavar="PATH", help="refresh this table file instead")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.targets) - set(shipped))
    if unknown:
        parser.error(f"target {unknown[0]!r} has no price table; allowed: {', '.join(shipped)}")
    lists = lists or PriceLists(api_key=os.environ.get(API_KEY_VARIABLE))
    for item in args.endpoint:
        name, _, url = item.partition("=")
        if name not in ENDPOINTS or not url:
            parser.error(f"--endpoint {item!r}: must be LIST=URL with LIST one of {', '.join(ENDPOINTS)}")
        lists.endpoints[name] = url.rstrip("/")
    paths = [Path(p) for p in args.table] or [shipped[name] for name in (args.targets or shipped)]
    today = today or datetime.date.today()
    changed = failed = False
    for path in paths:
        result = refresh(path, lists, today)
        print(result.report())
        changed |= bool(result.changes)
        failed |= bool(result.problems)
        if not args.check:
            write(result)
    if failed:
        print(
            "some entries could not be read: fix their lookup (components/cost/prices.py) or the entry", file=sys.stderr
        )
        return 2
    return 1 if args.check and changed else 0
