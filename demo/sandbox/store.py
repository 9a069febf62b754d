"""The sandbox's own data: shops (a marketplace or a 3PL each) with their products, orders,
stock, shipments, purchase orders and receipts, kept in one JSON document.

Every operation takes the store lock, so the threaded HTTP server can call it from any
request; with a path, each change is written through atomically (temp file + rename).
Operations return the changed records and the webhook topics they raise.
"""

import copy
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

MARKETPLACE = "marketplace"
THREE_PL = "3pl"
KINDS = (MARKETPLACE, THREE_PL)
PRODUCT_FIELDS = (
    "title",
    "description",
    "barcode",
    "price",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
)


class SandboxError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Change:
    """What an operation did, for its answer and for the webhooks it raises."""

    result: object
    events: list[tuple[str, list[str]]] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SandboxStore:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else None
        self.lock = threading.RLock()
        self.data = {"next_id": 1000, "shops": {}}
        if self.path and self.path.exists():
            self.data = json.loads(self.path.read_text())

    # Plumbing ------------------------------------------------------------------------

    def _save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def _next_id(self) -> str:
        self.data["next_id"] += 1
        return str(self.data["next_id"])

    def shop_for_key(self, api_key: str) -> dict:
        with self.lock:
            for shop in self.data["shops"].values():
                if api_key and secrets.compare_digest(shop["api_key"], api_key):
                    return shop
        raise SandboxError(401, "Unknown API key.")

    def shop(self, code: str) -> dict:
        try:
            return self.data["shops"][code]
        except KeyError:
            raise SandboxError(404, f"No shop {code}.") from None

    def snapshot(self, code: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.shop(code))

    # Shops ---------------------------------------------------------------------------

    def create_shop(
        self,
        code: str,
        name: str,
        kind: str,
        locations: list[str],
        api_key: str | None = None,
        auto_ship: bool = True,
        auto_receive: bool = True,
    ) -> dict:
        if kind not in KINDS:
            raise SandboxError(422, f"kind must be one of {', '.join(KINDS)}.")
        if not code or not locations:
            raise SandboxError(422, "code and at least one location are required.")
        with self.lock:
            if code in self.data["shops"]:
                raise SandboxError(409, f"Shop {code} exists.")
            shop = {
                "code": code,
                "name": name or code,
                "kind": kind,
                "api_key": api_key or "sbx_" + secrets.token_urlsafe(24),
                "locations": list(locations),
                "auto_ship": auto_ship,
                "auto_receive": auto_receive,
                "webhook": None,
                "products": {},
                "inventory": {loc: {} for loc in locations},
                "orders": {},
                "shipments": {},
                "purchase_orders": {},
                "receipts": {},
            }
            self.data["shops"][code] = shop
            self._save()
            return copy.deepcopy(shop)

    def set_webhook(self, shop: dict, url: str, secret: str) -> Change:
        with self.lock:
            shop["webhook"] = {"url": url, "secret": secret} if url else None
            self._save()
            return Change({"url": url})

    # Products ------------------------------------------------------------------------

    def list_products(self, shop: dict, ids: list[str] | None = None) -> list[dict]:
        with self.lock:
            products = shop["products"].values()
            return [copy.deepcopy(p) for p in products if ids is None or p["sku"] in ids or p["id"] in ids]

    def upsert_products(self, shop: dict, products: list[dict]) -> Change:
        results, changed = [], []
        with self.lock:
            for incoming in products:
                sku = str(incoming.get("sku") or "").strip()
                if not sku:
                    results.append({"sku": sku, "result": "rejected", "error": "sku is required"})
                    continue
                values = {f: incoming.get(f) for f in PRODUCT_FIELDS if f in incoming}
                current = shop["products"].get(sku)
                if current is None:
                    shop["products"][sku] = {
                        "id": self._next_id(),
                        "sku": sku,
                        "updated_at": _now(),
                        **values,
                    }
                    result = "created"
                elif any(current.get(f) != v for f, v in values.items()):
                    current.update(values, updated_at=_now())
                    result = "updated"
                else:
                    result = "unchanged"
                if result != "unchanged":
                    changed.append(shop["products"][sku]["id"])
                results.append({"sku": sku, "id": shop["products"][sku]["id"], "result": result})
            self._save()
        return Change(results, [("products/update", changed)] if changed else [])

    # Inventory -----------------------------------------------------------------------

    def list_inventory(self, shop: dict) -> list[dict]:
        with self.lock:
            return [
                {"sku": sku, "location": location, "quantity": qty}
                for location, levels in shop["inventory"].items()
                for sku, qty in sorted(levels.items())
            ]

    def set_inventory(self, shop: dict, levels: list[dict]) -> Change:
        if shop["kind"] != MARKETPLACE:
            raise SandboxError(403, "A 3PL's stock is counted by the warehouse, not set by its clients.")
        results = []
        with self.lock:
            for level in levels:
                location = level.get("location") or shop["locations"][0]
                sku, qty = level.get("sku"), level.get("quantity")
                if location not in shop["inventory"]:
                    results.append(
                        {"sku": sku, "location": location, "result": "rejected", "error": "unknown location"}
                    )
                elif not isinstance(qty, int) or qty < 0:
                    results.append(
                        {"sku": sku, "location": location, "result": "rejected", "error": "bad quantity"}
                    )
                elif sku not in shop["products"]:
                    # Stock of an item the shop does not list is not an error, just unused.
                    results.append({"sku": sku, "location": location, "result": "not_listed"})
                else:
                    old = shop["inventory"][location].get(sku)
                    shop["inventory"][location][sku] = qty
                    results.append(
                        {"sku": sku, "location": location, "result": "unchanged" if old == qty else "updated"}
                    )
            self._save()
        return Change(results)

    def _take_stock(self, shop: dict, location: str, sku: str, wanted: int) -> int:
        level = shop["inventory"].setdefault(location, {})
        taken = max(0, min(wanted, level.get(sku, 0)))
        level[sku] = level.get(sku, 0) - taken
        return taken

    # Marketplace orders --------------------------------------------------------------

    def list_orders(self, shop: dict, ids: list[str] | None = None, status: str | None = None) -> list[dict]:
        with self.lock:
            orders = sorted(shop["orders"].values(), key=lambda o: int(o["id"]))
            return [
                copy.deepcopy(o)
                for o in orders
                if (ids is None or o["id"] in ids) and (status is None or o["status"] == status)
            ]

    def create_order(self, shop: dict, data: dict) -> Change:
        if shop["kind"] != MARKETPLACE:
            raise SandboxError(404, "Only a marketplace takes customer orders.")
        lines = data.get("lines") or []
        if not lines:
            raise SandboxError(422, "An order needs at least one line.")
        with self.lock:
            clean_lines = []
            for line in lines:
                sku, qty = line.get("sku"), line.get("quantity")
                if sku not in shop["products"]:
                    raise SandboxError(422, f"Unknown SKU {sku!r}.")
                if not isinstance(qty, int) or qty < 1:
                    raise SandboxError(422, "quantity must be a positive integer.")
                product = shop["products"][sku]
                clean_lines.append(
                    {
                        "sku": sku,
                        "title": product.get("title") or sku,
                        "quantity": qty,
                        "price": product.get("price"),
                    }
                )
            order_id = self._next_id()
            order = {
                "id": order_id,
                "number": f"{shop['code'].upper()}-{order_id}",
                "created_at": _now(),
                "status": "open",
                "currency": data.get("currency") or "USD",
                "customer": {k: data.get("customer", {}).get(k, "") for k in ("name", "email", "phone")},
                "shipping_address": {
                    k: data.get("shipping_address", {}).get(k, "")
                    for k in ("address1", "address2", "city", "region", "postal_code", "country")
                },
                "shipping": {
                    "carrier": data.get("shipping", {}).get("carrier", ""),
                    "service": data.get("shipping", {}).get("service", ""),
                },
                "lines": clean_lines,
                "fulfillments": [],
            }
            # A sale takes the units off the marketplace's own available count.
            location = shop["locations"][0]
            for line in clean_lines:
                self._take_stock(shop, location, line["sku"], line["quantity"])
            shop["orders"][order_id] = order
            self._save()
            return Change(copy.deepcopy(order), [("orders/create", [order_id])])

    def add_fulfillment(self, shop: dict, order_id: str, data: dict) -> Change:
        with self.lock:
            order = shop["orders"].get(order_id)
            if order is None:
                raise SandboxError(404, f"No order {order_id}.")
            reference = data.get("reference")
            if not reference or not data.get("tracking_number"):
                raise SandboxError(422, "reference and tracking_number are required.")
            for existing in order["fulfillments"]:
                if existing["reference"] == reference:
                    return Change({"fulfillment": copy.deepcopy(existing), "created": False})
            fulfillment = {
                "id": self._next_id(),
                "reference": reference,
                "carrier": data.get("carrier", ""),
                "service": data.get("service", ""),
                "tracking_number": data["tracking_number"],
                "lines": data.get("lines") or [],
                "created_at": _now(),
            }
            order["fulfillments"].append(fulfillment)
            fulfilled = {}
            for f in order["fulfillments"]:
                for line in f["lines"]:
                    fulfilled[line["sku"]] = fulfilled.get(line["sku"], 0) + line["quantity"]
            complete = all(fulfilled.get(line["sku"], 0) >= line["quantity"] for line in order["lines"])
            order["status"] = "fulfilled" if complete else "partially_fulfilled"
            self._save()
            return Change(
                {"fulfillment": copy.deepcopy(fulfillment), "created": True},
                [("orders/fulfilled", [order_id])],
            )

    # 3PL fulfillment orders and shipments ---------------------------------------------

    def _check_3pl(self, shop: dict) -> None:
        if shop["kind"] != THREE_PL:
            raise SandboxError(404, "Only a 3PL fulfils orders.")

    def _check_lines(self, shop: dict, lines: list[dict]) -> list[dict]:
        if not lines:
            raise SandboxError(422, "At least one line is required.")
        clean = []
        for line in lines:
            sku, qty = line.get("sku"), line.get("quantity")
            if sku not in shop["products"]:
                raise SandboxError(422, f"Unknown SKU {sku!r}: send the product first.")
            if not isinstance(qty, int) or qty < 1:
                raise SandboxError(422, "quantity must be a positive integer.")
            clean.append({"sku": sku, "quantity": qty})
        return clean

    def _check_location(self, shop: dict, location: str) -> None:
        if location not in shop["locations"]:
            raise SandboxError(422, f"Unknown location {location!r}.")

    def create_fulfillment_order(self, shop: dict, data: dict) -> Change:
        self._check_3pl(shop)
        with self.lock:
            reference = data.get("reference")
            if not reference:
                raise SandboxError(422, "reference is required.")
            for order in shop["orders"].values():
                if order["reference"] == reference:
                    return Change({"order": copy.deepcopy(order), "created": False})
            self._check_location(shop, data.get("location"))
            order = {
                "id": self._next_id(),
                "reference": reference,
                "location": data["location"],
                "status": "open",
                "carrier": data.get("carrier") or "",
                "service": data.get("service") or "",
                "ship_to": data.get("ship_to") or {},
                "lines": self._check_lines(shop, data.get("lines")),
                "created_at": _now(),
            }
            shop["orders"][order["id"]] = order
            events = []
            if shop["auto_ship"]:
                events = self.ship(shop, order["id"]).events
            self._save()
            return Change({"order": copy.deepcopy(order), "created": True}, events)

    def ship(self, shop: dict, order_id: str, quantities: dict[str, int] | None = None) -> Change:
        """Ship what the location has (or the given quantities): a short line ships 0."""
        self._check_3pl(shop)
        with self.lock:
            order = shop["orders"].get(order_id)
            if order is None:
                raise SandboxError(404, f"No fulfillment order {order_id}.")
            if order["status"] == "shipped":
                raise SandboxError(409, "This order has shipped.")
            lines = []
            for line in order["lines"]:
                wanted = line["quantity"] if quantities is None else quantities.get(line["sku"], 0)
                lines.append(
                    {
                        "sku": line["sku"],
                        "quantity": self._take_stock(shop, order["location"], line["sku"], wanted),
                    }
                )
            carrier = order["carrier"] or "UPS"
            service = order["service"] or ("03" if carrier == "UPS" else "")
            shipment = {
                "id": self._next_id(),
                "order_id": order_id,
                "reference": order["reference"],
                "location": order["location"],
                "carrier": carrier,
                "service": service,
                "tracking_number": ("1Z" if carrier == "UPS" else "SBX") + secrets.token_hex(8).upper(),
                "shipped_at": _now(),
                "lines": lines,
            }
            shop["shipments"][shipment["id"]] = shipment
            order["status"] = "shipped"
            self._save()
            return Change(copy.deepcopy(shipment), [("shipments/create", [shipment["id"]])])

    def list_records(self, shop: dict, kind: str, ids: list[str] | None = None) -> list[dict]:
        with self.lock:
            records = sorted(shop[kind].values(), key=lambda r: int(r["id"]))
            return [copy.deepcopy(r) for r in records if ids is None or r["id"] in ids]

    # 3PL purchase orders and receipts -------------------------------------------------

    def create_purchase_order(self, shop: dict, data: dict) -> Change:
        self._check_3pl(shop)
        with self.lock:
            reference = data.get("reference")
            if not reference:
                raise SandboxError(422, "reference is required.")
            for po in shop["purchase_orders"].values():
                if po["reference"] == reference:
                    return Change({"purchase_order": copy.deepcopy(po), "created": False})
            self._check_location(shop, data.get("location"))
            po = {
                "id": self._next_id(),
                "reference": reference,
                "number": data.get("number") or reference,
                "location": data["location"],
                "status": "open",
                "expected_at": data.get("expected_at"),
                "carrier": data.get("carrier") or "",
                "service": data.get("service") or "",
                "lines": self._check_lines(shop, data.get("lines")),
                "created_at": _now(),
            }
            shop["purchase_orders"][po["id"]] = po
            events = []
            if shop["auto_receive"]:
                events = self.receive(shop, po["id"]).events
            self._save()
            return Change({"purchase_order": copy.deepcopy(po), "created": True}, events)

    def receive(
        self,
        shop: dict,
        po_id: str,
        quantities: dict[str, int] | None = None,
        carrier: str | None = None,
        service: str | None = None,
    ) -> Change:
        """Count a purchase order in (all of it, or the given quantities). The delivery's
        carrier and service are the purchase order's (UPS Ground when it names none)
        unless given, blank included, so a demo or test can deliver odd codes."""
        self._check_3pl(shop)
        with self.lock:
            po = shop["purchase_orders"].get(po_id)
            if po is None:
                raise SandboxError(404, f"No purchase order {po_id}.")
            if po["status"] == "received":
                raise SandboxError(409, "This purchase order has been received.")
            lines = []
            for line in po["lines"]:
                qty = line["quantity"] if quantities is None else max(0, int(quantities.get(line["sku"], 0)))
                level = shop["inventory"].setdefault(po["location"], {})
                level[line["sku"]] = level.get(line["sku"], 0) + qty
                lines.append({"sku": line["sku"], "quantity": qty})
            carrier = (po.get("carrier") or "UPS") if carrier is None else carrier
            if service is None:
                service = po.get("service") or ("03" if carrier == "UPS" else "")
            receipt = {
                "id": self._next_id(),
                "purchase_order_id": po_id,
                "reference": po["reference"],
                "location": po["location"],
                "carrier": carrier,
                "service": service,
                "tracking_number": ("1Z" if carrier == "UPS" else "SBX") + secrets.token_hex(8).upper(),
                "received_at": _now(),
                "lines": lines,
            }
            shop["receipts"][receipt["id"]] = receipt
            po["status"] = "received"
            self._save()
            return Change(copy.deepcopy(receipt), [("receipts/create", [receipt["id"]])])

    def add_stock(self, shop: dict, location: str, sku: str, quantity: int) -> None:
        """Simulator control: goods counted into a 3PL location (or a marketplace's count)."""
        with self.lock:
            self._check_location(shop, location)
            level = shop["inventory"].setdefault(location, {})
            level[sku] = level.get(sku, 0) + quantity
            self._save()
