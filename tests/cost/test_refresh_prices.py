"""scripts/refresh_prices.py against price lists served over HTTP on loopback.

The documents in ``tests/cost/price_lists/`` follow the providers' response formats (AWS bulk
offer file; Azure Retail Prices ``Items`` with ``NextPageLink`` paging; Cloud Billing Catalog
``services`` and ``skus`` with ``nextPageToken``); their figures are test values, not list prices.
A small server answers as the providers do (the Azure ``$filter``, pages), so the script's own
HTTP fetching, paging, matching and rewriting all run.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ai_platform_cli import price_lists as refresh
from ai_platform_cli.price_lists import (
    AwsLookup,
    AzureLookup,
    GcpLookup,
    PriceListError,
    PriceLists,
    aws_price,
    azure_price,
    gcp_price,
)
from components.cost.prices import PriceTableError, read_table

LISTS = Path(__file__).with_name("price_lists")
TODAY = datetime.date(2026, 12, 7)
KEY = "test-api-key"


def _document(name: str) -> Any:
    return json.loads((LISTS / name).read_text())


class _PriceListHandler(BaseHTTPRequestHandler):
    """AWS offer files by path, Azure's Retail Prices API ($filter, one item a page) and the
    Cloud Billing Catalog API (key required, paged skus)."""

    requests: list[str]

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append(self.path)
        offer = re.fullmatch(r"/offers/v1.0/aws/(\w+)/current/([\w-]+)/index.json", url.path)
        if offer and (LISTS / f"aws-{offer[1]}-{offer[2]}.json").is_file():
            return self._send(200, _document(f"aws-{offer[1]}-{offer[2]}.json"))
        if url.path == "/api/retail/prices":
            return self._azure(query)
        if url.path.startswith("/v1/services"):
            if query.get("key") != KEY:
                return self._send(403, {"error": {"code": 403, "message": "The request is missing a valid API key."}})
            if url.path == "/v1/services":
                return self._send(200, _document("gcp-services.json"))
            if url.path == "/v1/services/152E-C115-5142/skus" and query.get("currencyCode") == "USD":
                return self._send(200, _document("gcp-skus-2.json" if query.get("pageToken") else "gcp-skus-1.json"))
        return self._send(404, {"message": "not found"})

    def _azure(self, query: dict[str, str]) -> None:
        terms = dict(re.findall(r"(\w+) eq '((?:[^']|'')*)'", query["$filter"]))
        field = {"priceType": "type"}
        items = [i for i in _document("azure-items.json") if all(i.get(field.get(k, k)) == v for k, v in terms.items())]
        skip = int(query.get("$skip", 0))
        following = {**query, "$skip": str(skip + 1)}
        host = f"http://{self.headers['Host']}"
        more = f"{host}/api/retail/prices?{urllib.parse.urlencode(following)}" if skip + 1 < len(items) else None
        page = items[skip : skip + 1]
        document = {"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail"}
        self._send(200, {**document, "Items": page, "NextPageLink": more, "Count": len(page)})

    def _send(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """The price lists on a free loopback port: (base URL, the paths requested)."""
    seen: list[str] = []
    handler = type("Handler", (_PriceListHandler,), {"requests": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _endpoints(base: str) -> list[str]:
    return [arg for name in ("aws", "azure", "gcp") for arg in ("--endpoint", f"{name}={base}")]


def _table(tmp_path: Path, target: str, regions: list[str], prices: dict[str, Any]) -> Path:
    path = tmp_path / f"{target}-prices.json"
    document = {"target": target, "regions": regions, "refresh": "scripts/refresh_prices.py", "prices": prices}
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def _entry(usd: dict[str, float], lookup: dict[str, Any]) -> dict[str, Any]:
    return {
        "unit": "hour",
        "usd": usd,
        "source": "https://example.com/pricing",
        "taken": "2026-01-01",
        "lookup": lookup,
    }


NAT = {"priceList": "aws", "offer": "AmazonEC2", "productFamily": "NAT Gateway", "unit": "Hrs"}


# --- the documents, parsed ------------------------------------------------------------------------
def test_aws_offer_file_on_demand_price_by_family_attributes_and_unit() -> None:
    offer = _document("aws-AmazonEC2-eu-west-1.json")
    hours = AwsLookup.model_validate({**NAT, "attributes": {"usagetype": "*NatGateway-Hours"}})
    assert aws_price(offer, hours) == 0.048  # the EU- prefixed usage type; the reserved term is not read
    per_thousand = AwsLookup.model_validate({**NAT, "attributes": {"usagetype": "*NatGateway-Hours"}, "per": 1000})
    assert aws_price(offer, per_thousand) == 48
    with pytest.raises(PriceListError, match=r"2 prices match in AmazonEC2: .*narrow the attributes"):
        aws_price(offer, AwsLookup.model_validate({**NAT, "unit": None, "attributes": {"usagetype": "*NatGateway-*"}}))
    wrong_unit = AwsLookup.model_validate({**NAT, "unit": "GB-Mo", "attributes": {"usagetype": "*NatGateway-Bytes"}})
    with pytest.raises(PriceListError) as error:
        aws_price(offer, wrong_unit)
    assert "usagetypes: EU-NatGateway-Bytes; prices: GB from 0" in str(error.value)


def test_azure_items_consumption_meter_at_its_tier() -> None:
    items = _document("azure-items.json")
    b0 = AzureLookup.model_validate(
        {"priceList": "azure", "serviceName": "Redis Cache", "skuName": "B0", "meterName": "B0 Cache Instance"}
    )
    westeurope = [i for i in items if i["skuName"] == "B0" and i["armRegionName"] == "westeurope"]
    assert azure_price(westeurope, b0) == 0.0175  # the Reservation item is not pay-as-you-go
    ingestion = [i for i in items if i["serviceName"] == "Log Analytics"]
    lookup = {"priceList": "azure", "serviceName": "Log Analytics", "meterName": "Pay-as-you-go Data Ingestion"}
    assert azure_price(ingestion, AzureLookup.model_validate({**lookup, "tierMinimumUnits": 5})) == 2.99
    pattern = {**lookup, "meterName": "*Data Ingestion", "tierMinimumUnits": 5}  # a pattern, matched here
    assert azure_price(ingestion, AzureLookup.model_validate(pattern)) == 2.99
    assert "meterName" not in refresh.azure_filter(AzureLookup.model_validate(pattern), "westeurope")
    with pytest.raises(PriceListError, match=r"no meter matches \(tierMinimumUnits 1\); the list holds: "):
        azure_price(ingestion, AzureLookup.model_validate({**lookup, "tierMinimumUnits": 1}))


def test_gcp_sku_by_description_region_and_tier() -> None:
    skus = _document("gcp-skus-1.json")["skus"] + _document("gcp-skus-2.json")["skus"]
    cpu = {"priceList": "gcp", "service": "Cloud Run", "description": "CPU Allocation Time (Always-on CPU)"}
    # $0.000018 a vCPU-second x 3,600 (the commitment SKU of the same description is not on-demand)
    assert gcp_price(skus, GcpLookup.model_validate({**cpu, "per": 3600, "usageUnit": "s"}), "europe-west1") == 0.0648
    pattern = {**cpu, "description": "CPU Allocation Time (Always-on*", "per": 3600}  # a pattern matches too
    assert gcp_price(skus, GcpLookup.model_validate(pattern), "europe-west1") == 0.0648
    with pytest.raises(PriceListError, match=r"is priced per 's', not 'h': check the lookup's per"):
        gcp_price(skus, GcpLookup.model_validate({**cpu, "usageUnit": "h"}), "europe-west1")
    with pytest.raises(PriceListError, match=r"no SKU matches in us-east4; similar SKUs: CPU Allocation"):
        gcp_price(skus, GcpLookup.model_validate(cpu), "us-east4")
    requests = {"priceList": "gcp", "service": "Cloud Run", "description": "Requests", "per": 1_000_000}
    assert gcp_price(skus, GcpLookup.model_validate({**requests, "startUsageAmount": 2_000_000}), "global") == 0.4


# --- the script, end to end over HTTP --------------------------------------------------------------
def test_refresh_rewrites_the_changed_prices_prints_the_diff_and_check_then_passes(
    tmp_path: Path, server: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    base, seen = server
    aws = _table(
        tmp_path,
        "aws",
        ["us-east-1", "eu-west-1"],
        {
            "nat-gateway-hour": _entry(
                {"us-east-1": 0.045, "eu-west-1": 0.05}, {**NAT, "attributes": {"usagetype": "*NatGateway-Hours"}}
            ),
            "nat-gateway-gb": _entry(
                {"*": 0.045}, {**NAT, "unit": "GB", "attributes": {"usagetype": "*NatGateway-Bytes"}}
            ),
        },
    )
    redis = {"priceList": "azure", "serviceName": "Redis Cache", "productName": "Azure Managed Redis - Balanced"}
    azure = _table(
        tmp_path,
        "azure",
        ["westeurope"],
        {
            "redis-balanced_b0-node-hour": _entry({}, {**redis, "skuName": "B0", "meterName": "B0 Cache Instance"}),
            "redis-balanced_b3-node-hour": _entry(
                {"westeurope": 0.1432}, {**redis, "skuName": "B3", "meterName": "B3 Cache Instance"}
            ),
        },
    )
    args = [*_endpoints(base), "--table", str(aws), "--table", str(azure)]
    assert refresh.main(args, PriceLists(api_key=KEY), TODAY) == 0
    out = capsys.readouterr().out
    assert f"{aws}: 2 entries read, 2 price(s) changed" in out
    assert "  nat-gateway-hour [eu-west-1]: 0.05 -> 0.048 (-4.0%)" in out
    # a "*" price the regions no longer share is split per region
    assert "  nat-gateway-gb [us-east-1]: 0.045 -> 0.045" not in out
    assert "  nat-gateway-gb [eu-west-1]: 0.045 -> 0.048 (+6.7%)" in out
    assert (
        f"{azure}: 2 entries read, 1 price(s) changed\n  redis-balanced_b0-node-hour [westeurope]: (none) -> 0.0175"
        in out
    )
    table = read_table(aws)
    assert table.prices["nat-gateway-hour"].usd == {"us-east-1": 0.045, "eu-west-1": 0.048}
    assert table.prices["nat-gateway-gb"].usd == {"us-east-1": 0.045, "eu-west-1": 0.048}
    assert {e.taken for e in table.prices.values()} == {TODAY}
    assert aws.read_text().startswith('{\n "target": "aws",\n')  # the file keeps its one-space indent
    assert read_table(azure).prices["redis-balanced_b0-node-hour"].usd == {"westeurope": 0.0175}
    # each offer file is fetched once for all its entries
    assert sorted(p for p in seen if p.startswith("/offers")) == [
        "/offers/v1.0/aws/AmazonEC2/current/eu-west-1/index.json",
        "/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json",
    ]
    # the refreshed tables are current: --check passes and writes nothing
    before = aws.read_text()
    assert refresh.main([*args, "--check"], PriceLists(api_key=KEY), TODAY) == 0
    assert aws.read_text() == before


def test_check_exits_1_on_a_changed_price_and_writes_nothing(tmp_path: Path, server: tuple[str, list[str]]) -> None:
    base, _ = server
    lookup = {**NAT, "attributes": {"usagetype": "*NatGateway-Hours"}}
    path = _table(tmp_path, "aws", ["us-east-1"], {"nat-gateway-hour": _entry({"us-east-1": 0.04}, lookup)})
    before = path.read_text()
    assert refresh.main([*_endpoints(base), "--table", str(path), "--check"], PriceLists(), TODAY) == 1
    assert path.read_text() == before


def test_azure_paging_follows_next_page_link(server: tuple[str, list[str]]) -> None:
    base, seen = server
    lists = PriceLists(endpoints={"azure": base})
    ingestion = {
        "serviceName": "Log Analytics",
        "skuName": "Pay-as-you-go",
        "meterName": "Pay-as-you-go Data Ingestion",
    }
    lookup = AzureLookup.model_validate({"priceList": "azure", **ingestion, "tierMinimumUnits": 5})
    # two items, one a page: the second page through the first's NextPageLink
    assert lists.price(lookup, "westeurope") == 2.99
    assert len(seen) == 2 and "%24skip=1" in seen[1]
    redis = {"priceList": "azure", "serviceName": "Redis Cache", "skuName": "B0", "meterName": "B0 Cache Instance"}
    # B0 in westeurope: the pay-as-you-go item only (the filter asks priceType eq 'Consumption')
    assert lists.price(AzureLookup.model_validate(redis), "westeurope") == 0.0175
    assert "priceType+eq+%27Consumption%27" in seen[-1]


def test_lookups_that_fail_are_reported_by_entry_and_left_as_they_are(
    tmp_path: Path, server: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = server
    gcp_lookup = {"priceList": "gcp", "service": "Cloud Run", "description": "Requests", "per": 1_000_000}
    prices = {
        "nat-gateway-hour": _entry({"us-east-1": 0.045}, {**NAT, "attributes": {"usagetype": "*NatGateway-Hourz"}}),
        "requests": _entry({"*": 0.4}, {**gcp_lookup, "region": "global", "startUsageAmount": 2_000_000}),
        "free-tier": _entry({"*": 0.4}, {**gcp_lookup, "region": "global", "startUsageAmount": 0}),
    }
    path = _table(tmp_path, "aws", ["us-east-1"], prices)
    before = path.read_text()
    # no API key: the Google entries name the variable to set
    assert refresh.main([*_endpoints(base), "--table", str(path)], PriceLists(), TODAY) == 2
    out = capsys.readouterr().out
    assert "! nat-gateway-hour (aws): no on-demand price of unit 'Hrs' from beginRange '0': 0 product(s)" in out
    assert f"! requests (gcp): the Cloud Billing Catalog API needs an API key: set {refresh.API_KEY_VARIABLE}" in out
    assert path.read_text() == before
    assert refresh.main([*_endpoints(base), "--table", str(path)], PriceLists(api_key=KEY), TODAY) == 2
    out = capsys.readouterr().out
    assert "! free-tier (gcp): the list's price is 0 in * (a free tier?): point the lookup past it" in out
    table = read_table(path)
    assert table.prices["requests"].taken == TODAY and table.prices["free-tier"].taken == datetime.date(2026, 1, 1)


def test_bad_arguments_name_what_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        refresh.main(["openstack"])
    assert "target 'openstack' has no price table; allowed: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        refresh.main(["--endpoint", "oracle=http://127.0.0.1:1"])
    assert "must be LIST=URL with LIST one of aws, azure, gcp" in capsys.readouterr().err


# --- the shipped tables ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", sorted(refresh.tables()))
def test_every_shipped_entry_names_its_lookup_key_in_a_public_price_list(target: str) -> None:
    table = read_table(refresh.tables()[target])
    missing = [key for key, entry in table.prices.items() if entry.lookup is None]
    assert missing == [], f"{target}: entries without a lookup: {missing}"
    for key, entry in table.prices.items():
        lookup = refresh.LOOKUP.validate_python(entry.lookup)  # each list's own fields, validated
        if not table.regions:  # a table without regions reads its prices in the lookup's region
            assert lookup.region, f"{target}: {key} needs a lookup region"
        if lookup.per != 1:  # a converted price names the list unit it converts from
            unit = {"aws": "unit", "azure": "unit_of_measure", "gcp": "usage_unit"}[lookup.price_list]
            assert getattr(lookup, unit), f"{target}: {key} converts x{lookup.per:g} from an unnamed unit"


def test_an_entry_without_a_price_needs_a_lookup(tmp_path: Path) -> None:
    entry = {"unit": "hour", "usd": {}, "source": "https://example.com", "taken": "2026-12-06"}
    path = _table(tmp_path, "aws", ["us-east-1"], {"pending": entry})
    with pytest.raises(PriceTableError, match="usd is empty and there is no lookup to fill it"):
        read_table(path)


def test_the_script_reads_the_api_key_from_the_environment(tmp_path: Path, server: tuple[str, list[str]]) -> None:
    base, _ = server
    lookup = {"priceList": "gcp", "service": "Cloud Run", "description": "Requests", "per": 1_000_000}
    entry = _entry({"*": 0.5}, {**lookup, "region": "global", "startUsageAmount": 2_000_000})
    path = _table(tmp_path, "gcp", ["europe-west1"], {"run-requests-million": entry})
    script = Path(__file__).resolve().parents[2] / "scripts" / "refresh_prices.py"
    env = {**os.environ, refresh.API_KEY_VARIABLE: KEY}
    command = [sys.executable, str(script), *_endpoints(base), "--table", str(path), "--check"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "run-requests-million [*]: 0.5 -> 0.4 (-20.0%)" in done.stdout
