"""Record the Medusa connector's exchanges with a running Medusa (the pinned 2.21.2) for
the contract tests (channels/tests/test_medusa_contract.py).

    .venv/bin/python channels/tests/recordings/medusa/record.py MEDUSA_READY_JSON

MEDUSA_READY_JSON names the peer's base_url, a secret api_key, region_id,
sales_channel_id, shipping_option_id and stock_locations (the file the Medusa peer
writes once it is seeded, e.g. /tmp/medusa_ready.json). Each scenario drives the real
connector through a recording proxy and writes <scenario>.json here: what the connector
asked, what Medusa answered, and the scenario's inputs. Changes made "during" a read
(an order updated between two pages) are made directly against Medusa at the recorded
point. Two answers Medusa never gives by itself (429 with Retry-After, and a 500) are
derived from a real recorded request and marked "synthetic". The peer's data changes
(orders, products and stock are added), so record against a throwaway Medusa.
"""

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from channels.connectors import medusa  # noqa: E402
from channels.connectors.base import (  # noqa: E402
    ChannelProduct,
    ConnectorError,
    Line,
    StockLevel,
    TrackingUpdate,
)
from channels.tests.medusa_replay import RecordingProxy  # noqa: E402

MEDUSA_VERSION = "2.21.2"
# The page size the paging scenarios record with: small, so a handful of orders spans pages.
PAGE_SIZE = 3


class Medusa:
    """Direct admin calls for the scenarios' set-up (never recorded)."""

    def __init__(self, ready: dict):
        self.ready = ready
        self.auth = "Basic " + base64.b64encode(f"{ready['api_key']}:".encode()).decode()

    def call(self, method: str, path: str, body=None) -> dict:
        request = urllib.request.Request(  # noqa: S310 - a local peer
            self.ready["base_url"].rstrip("/") + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": self.auth},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None

    def variant_ids(self) -> dict[str, str]:
        products = self.call("GET", "/admin/products?fields=id,*variants&limit=500")["products"]
        return {v["sku"]: v["id"] for p in products for v in p["variants"] if v.get("sku")}

    def place_order(self, lines: dict[str, int], number: int, carrier=("UPS", "03")) -> dict:
        """A draft order converted to an order, as a merchant's admin places one."""
        variants = self.variant_ids()
        draft = self.call(
            "POST",
            "/admin/draft-orders",
            {
                "email": f"buyer{number}@example.com",
                "region_id": self.ready["region_id"],
                "sales_channel_id": self.ready["sales_channel_id"],
                "items": [{"variant_id": variants[sku], "quantity": qty} for sku, qty in lines.items()],
                "shipping_address": {
                    "first_name": "Buyer",
                    "last_name": f"Number {number}",
                    "address_1": f"{number} Market Street",
                    "city": "Newark",
                    "province": "NJ",
                    "postal_code": "07102",
                    "country_code": "us",
                    "phone": "555-0100",
                },
                "shipping_methods": [
                    {
                        "name": "UPS Ground",
                        "shipping_option_id": self.ready["shipping_option_id"],
                        "amount": 5,
                        "data": {"carrier_code": carrier[0], "service_code": carrier[1]},
                    }
                ],
            },
        )["draft_order"]
        return self.call("POST", f"/admin/draft-orders/{draft['id']}/convert-to-order")["order"]

    def restock(self, skus: list[str], quantity: int = 1000) -> None:
        """Every level of these SKUs stocked, so that the orders placed find stock."""
        query = "&".join(f"sku[{i}]={sku}" for i, sku in enumerate(skus))
        items = self.call("GET", f"/admin/inventory-items?{query}&fields=id,*location_levels&limit=100")
        update = [
            {
                "inventory_item_id": item["id"],
                "location_id": level["location_id"],
                "stocked_quantity": quantity,
            }
            for item in items["inventory_items"]
            for level in item["location_levels"]
        ]
        self.call("POST", "/admin/inventory-items/location-levels/batch", {"update": update})

    def order(self, order_id: str) -> dict:
        return self.call("GET", f"/admin/orders/{order_id}?fields=id,created_at,updated_at,status")["order"]


def connector(url: str, api_key: str) -> medusa.MedusaConnector:
    credentials = {"base_url": url, "api_key": api_key}
    return medusa.MedusaConnector(credentials, medusa.MedusaConnector.http_client(credentials))


def jsonable(value):
    """A connector result as JSON (it is kept beside the exchanges for a reader; the
    tests derive what they expect from the answers, not from this)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, Decimal | datetime):
        return str(value)
    return value


class Recorder:
    def __init__(self, ready: dict):
        self.ready = ready
        self.medusa = Medusa(ready)

    def record(self, name: str, run, inputs: dict, page_size: int = medusa.PAGE_SIZE, after=None, key=None):
        """Run `run(connector)` through a recording proxy and write the scenario."""
        medusa.PAGE_SIZE = page_size
        try:
            with RecordingProxy(self.ready["base_url"]) as proxy:
                proxy.after.update(after or {})
                try:
                    outcome = {"result": jsonable(run(connector(proxy.url, key or self.ready["api_key"])))}
                except ConnectorError as exc:
                    outcome = {"error": type(exc).__name__, "message": str(exc)}
        finally:
            medusa.PAGE_SIZE = 100
        self.write(name, inputs | {"page_size": page_size}, proxy.exchanges, outcome)
        return outcome, proxy.exchanges

    @staticmethod
    def write(name: str, inputs: dict, exchanges: list, outcome: dict, synthetic: str = "") -> None:
        document = {
            "scenario": name,
            "medusa": MEDUSA_VERSION,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "inputs": inputs,
            "exchanges": exchanges,
            "outcome_when_recorded": outcome,
        }
        if synthetic:
            document["synthetic"] = synthetic
        (HERE / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
        print(f"{name}: {len(exchanges)} exchanges")


def main(ready_path: str) -> None:
    ready = json.loads(Path(ready_path).read_text())
    rec = Recorder(ready)
    m = rec.medusa
    locations = sorted(ready["stock_locations"].values())
    skus = sorted(ready["skus"])

    # Connection ------------------------------------------------------------------------
    rec.record("connection_ok", lambda c: c.test_connection(), {}, page_size=2)
    rec.record("connection_bad_key", lambda c: c.test_connection(), {}, key="sk_" + "0" * 64)

    # Orders: seven placed two seconds after anything else, so that a cursor just before
    # them reads exactly them.
    m.restock(skus)
    time.sleep(2.5)
    placed = [
        m.place_order({skus[i % len(skus)]: 1 + i % 2, skus[(i + 1) % len(skus)]: 1}, i) for i in range(7)
    ]
    since = medusa.iso(medusa.parse_time(placed[0]["created_at"]) + medusa.CURSOR_OVERLAP)
    ids = [o["id"] for o in placed]
    inputs = {"since": since, "placed": ids}
    first, _ = rec.record(
        "orders_exact_page_boundary", lambda c: c.import_orders(since=since), inputs, PAGE_SIZE
    )
    cursor = first["result"]["cursor"]
    rec.record(
        "orders_second_run", lambda c: c.import_orders(since=cursor), inputs | {"since": cursor}, PAGE_SIZE
    )
    touched = {}

    def touch(index: int):
        def change():
            m.call("POST", f"/admin/orders/{ids[index]}", {"metadata": {"touched": index}})
            touched[ids[index]] = m.order(ids[index])["updated_at"]

        return change

    # After the first page (orders 0-2): order 4 (not read yet) and order 1 (read) change.
    rec.record(
        "orders_updated_during_paging",
        lambda c: c.import_orders(since=since),
        inputs | {"changed_during_read": [ids[4], ids[1]]},
        PAGE_SIZE,
        after={0: lambda: (touch(4)(), touch(1)())},
    )
    rec.record("orders_one_instant_pages", lambda c: c.import_orders(since=since), inputs, page_size=1)
    future = medusa.iso(datetime.now(UTC) + timedelta(hours=1))
    rec.record("orders_empty", lambda c: c.import_orders(since=future), {"since": future}, PAGE_SIZE)
    m.call("POST", f"/admin/orders/{ids[6]}/cancel", {})
    wanted = [ids[0], ids[6], "order_01NOTTHERE0000000000000000"]
    rec.record("orders_by_ids", lambda c: c.import_orders(ids=wanted), {"ids": wanted, "cancelled": ids[6]})

    # Tracking: order 5 shipped (twice: the retry adds nothing); a cancelled order and an
    # unknown one refused.
    update = TrackingUpdate(
        reference="SH-501",
        order_external_id=ids[5],
        carrier_code="UPS",
        service_code="03",
        tracking_number="1Z999AA10123456784",
        lines=tuple(Line(sku=i["variant_sku"], quantity=i["quantity"]) for i in placed[5]["items"]),
    )
    cancelled_lines = tuple(Line(sku=i["variant_sku"], quantity=i["quantity"]) for i in placed[6]["items"])
    refused = [
        TrackingUpdate("SH-502", ids[6], "UPS", "03", "1Z2", cancelled_lines),
        TrackingUpdate("SH-503", "order_01NOTTHERE0000000000000000", "UPS", "03", "1Z3", update.lines),
    ]
    tracking_inputs = {"updates": jsonable([update, *refused])}
    rec.record("tracking_export", lambda c: c.export_tracking([update, *refused]), tracking_inputs)
    rec.record("tracking_export_again", lambda c: c.export_tracking([update]), tracking_inputs)

    # Products: one new SKU, one changed, one as Medusa has it; then all unchanged.
    variants = m.call(
        "GET", "/admin/products?fields=id,title,description,*variants,variants.prices.*&limit=500"
    )
    changed = next(p for p in variants["products"] if any(v["sku"] == skus[0] for v in p["variants"]))
    same = next(p for p in variants["products"] if any(v["sku"] == skus[1] for v in p["variants"]))
    new_sku = f"REC-{int(time.time())}"
    barcode = f"REC{int(time.time() * 1000)}"
    catalogue = [
        ChannelProduct(
            "",
            new_sku,
            "Recorded tote bag",
            "Canvas",
            barcode,
            Decimal("15.50"),
            weight_g=Decimal("180"),
        ),
        # Refused: Medusa keeps barcodes unique, and the batch goes back product by product.
        ChannelProduct("", new_sku + "-TWIN", "Recorded twin", "", barcode, Decimal("1")),
        ChannelProduct(
            "", skus[0], changed["title"], f"Changed by the portal ({barcode})", "", Decimal("99.00")
        ),
        ChannelProduct(
            "",
            skus[1],
            same["title"],
            same.get("description") or "",
            same["variants"][0].get("barcode") or "",
            Decimal(str(same["variants"][0]["prices"][0]["amount"])),
        ),
    ]
    products_inputs = {"products": jsonable(catalogue)}
    rec.record("products_export", lambda c: c.export_products(catalogue), products_inputs)
    rec.record("products_export_again", lambda c: c.export_products(catalogue), products_inputs)
    rec.record("products_import", lambda c: c.import_products(), {})
    rec.record(
        "products_import_by_ids", lambda c: c.import_products(ids=[changed["id"]]), {"ids": [changed["id"]]}
    )

    # Inventory: a reservation held in Medusa, a SKU with no level at a location yet (the
    # new one), an unknown SKU and an unknown location; then the same levels again.
    items = m.call("GET", f"/admin/inventory-items?sku={skus[2]}&fields=id")["inventory_items"]
    m.call(
        "POST",
        "/admin/reservations",
        {"inventory_item_id": items[0]["id"], "location_id": locations[0], "quantity": 2},
    )
    levels = [
        StockLevel(skus[2], locations[0], 11),
        StockLevel(skus[2], locations[1], 0),
        StockLevel(new_sku, locations[0], 5),
        StockLevel(new_sku, locations[1], 6),
        StockLevel("NOT-IN-MEDUSA", locations[0], 1),
        StockLevel(skus[2], "sloc_01NOTTHERE000000000000000", 1),
    ]
    level_inputs = {"levels": jsonable(levels)}
    rec.record("inventory_export", lambda c: c.export_inventory(levels), level_inputs)
    rec.record("inventory_export_again", lambda c: c.export_inventory(levels), level_inputs)

    # Stores this peer is not: the real connection exchanges with one answer emptied.
    connection = json.loads((HERE / "connection_ok.json").read_text())["exchanges"]
    for name, index, key in (
        ("connection_no_sales_channel", 1, "sales_channels"),
        ("connection_no_location", 2, "stock_locations"),
    ):
        exchanges = [dict(e) for e in connection[: index + 1]]
        exchanges[index]["response"] = {**exchanges[index]["response"], key: [], "count": 0}
        rec.write(name, {"page_size": 2}, exchanges, {}, synthetic=f"A Medusa store with no {key}.")

    # What Medusa does not answer by itself, on the first request of a real read.
    first_request = json.loads((HERE / "orders_empty.json").read_text())["exchanges"][0]
    for name, status, headers, body, why in (
        (
            "orders_rate_limited",
            429,
            {"Retry-After": "7"},
            {"type": "too_many_requests", "message": "Too many requests, retry later."},
            "Medusa 2.21 has no rate limiter of its own; a proxy in front of it answers so.",
        ),
        (
            "orders_server_error",
            500,
            {},
            {"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."},
            "The body Medusa's error handler sends for an unexpected exception.",
        ),
    ):
        exchange = {**first_request, "status": status, "headers": headers, "response": body}
        rec.write(name, {"since": future, "page_size": PAGE_SIZE}, [exchange], {}, synthetic=why)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
