"""The sandbox marketplace/3PL simulator as an HTTP service (stdlib only).

JSON API under /api/ (Bearer API key of a shop), shop sign-up at POST /shops, and a tiny
HTML page at / where a demo user places a marketplace order or ships a 3PL order. When a
shop's data changes it sends HMAC-signed webhooks to the URL the shop registered,
best-effort: a failed delivery is logged, never retried, never blocks the change.
"""

import hashlib
import hmac
import html
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from .store import MARKETPLACE, Change, SandboxError, SandboxStore

log = logging.getLogger("sandbox")
SIGNATURE_HEADER = "X-Techoms-Signature"
TIMESTAMP_HEADER = "X-Techoms-Timestamp"
PAGE_SIZE = 50
MAX_BODY = 1024 * 1024


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The portal's webhook signature: HMAC-SHA256 over `<timestamp>.<body>`, as a real
    platform computes it on its side (the simulator imports no portal code)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store: SandboxStore, synchronous_webhooks: bool = False):
        super().__init__(address, SandboxHandler)
        self.store = store
        self.synchronous_webhooks = synchronous_webhooks
        # Fault injection for tests and demos: delay seconds, malformed answers, forced
        # status; `path` limits them to calls of one API path, `times` to the next N of
        # those calls (a platform that recovers).
        self.faults = {"delay": 0.0, "malformed": False, "status": None, "path": None, "times": None}
        self.faults_lock = threading.Lock()
        # Every API call each shop received: ("GET", "/api/orders"), in order.
        self.calls: dict[str, list[tuple[str, str]]] = {}
        self.deliveries: list[dict] = []

    def take_faults(self, path: str) -> dict:
        """The faults of a call to `path`; a counted fault clears itself after its last call."""
        with self.faults_lock:
            if self.faults["path"] not in (None, path):
                return {"delay": 0.0, "malformed": False, "status": None}
            faults = dict(self.faults)
            if self.faults["times"] is not None:
                self.faults["times"] -= 1
                if self.faults["times"] <= 0:
                    self.faults.update(delay=0.0, malformed=False, status=None, path=None, times=None)
            return faults

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def notify(self, shop: dict, change: Change) -> None:
        webhook = shop.get("webhook")
        if not webhook or not change.events:
            return
        for topic, ids in change.events:
            body = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "topic": topic,
                    "shop": shop["code"],
                    "entity_ids": ids,
                    "sent_at": int(time.time()),
                }
            ).encode()
            if self.synchronous_webhooks:
                self._deliver(webhook, topic, body)
            else:
                threading.Thread(target=self._deliver, args=(webhook, topic, body), daemon=True).start()

    def _deliver(self, webhook: dict, topic: str, body: bytes) -> None:
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the URL a shop registered, http(s) only
            webhook["url"],
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(webhook["secret"], timestamp, body),
                TIMESTAMP_HEADER: timestamp,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            status = None
            log.warning("webhook %s to %s failed: %s", topic, webhook["url"], exc)
        self.deliveries.append({"topic": topic, "url": webhook["url"], "status": status})


def _ids(query: dict) -> list[str] | None:
    raw = query.get("ids", [None])[0]
    return [i for i in raw.split(",") if i] if raw else None


def _page(records: list[dict], query: dict, key: str) -> dict:
    try:
        page = max(1, int(query.get("page", ["1"])[0]))
    except ValueError:
        raise SandboxError(400, "page must be a number.") from None
    start = (page - 1) * PAGE_SIZE
    more = len(records) > start + PAGE_SIZE
    return {key: records[start : start + PAGE_SIZE], "next_page": page + 1 if more else None}


class SandboxHandler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s %s", self.address_string(), format % args)

    # Dispatch ------------------------------------------------------------------------

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            body = self._read_body()
            if url.path.startswith("/api/"):
                self._api(method, url.path, query, body)
            elif url.path == "/shops" and method == "POST":
                data = self._json(body)
                shop = self.server.store.create_shop(
                    code=str(data.get("code") or ""),
                    name=str(data.get("name") or ""),
                    kind=data.get("kind"),
                    locations=data.get("locations") or ["MAIN"],
                    api_key=data.get("api_key"),
                    auto_ship=bool(data.get("auto_ship", True)),
                    auto_receive=bool(data.get("auto_receive", True)),
                )
                self._send_json(201, {"code": shop["code"], "api_key": shop["api_key"]})
            elif url.path == "/" and method == "GET":
                self._send_html(200, self._home_page(query))
            elif url.path.startswith("/ui/") and method == "POST":
                self._ui_action(url.path, parse_qs(body.decode()))
            else:
                raise SandboxError(404, "Not found.")
        except SandboxError as exc:
            self._send_json(exc.status, {"error": exc.message})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise SandboxError(413, "Body too large.")
        return self.rfile.read(length) if length else b""

    def _json(self, body: bytes) -> dict:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise SandboxError(400, "Body is not JSON.") from None
        if not isinstance(data, dict):
            raise SandboxError(400, "Body must be a JSON object.")
        return data

    def _send_json(self, status: int, data) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _send_html(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # JSON API ------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict, body: bytes) -> None:
        auth = self.headers.get("Authorization", "")
        api_key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        shop = self.server.store.shop_for_key(api_key)
        self.server.calls.setdefault(shop["code"], []).append((method, path))
        faults = self.server.take_faults(path)
        if faults["delay"]:
            time.sleep(faults["delay"])
        if faults["status"]:
            raise SandboxError(faults["status"], "Injected failure.")
        if faults["malformed"]:
            self._send(200, b'{"orders": [{"id": "1", "lines": [', "application/json")
            return
        status, data, change = self._route(shop, method, path, query, body)
        if change is not None:
            self.server.notify(shop, change)
        self._send_json(status, data)

    def _route(self, shop, method, path, query, body):  # noqa: C901 - one flat routing table
        store = self.server.store
        marketplace = shop["kind"] == MARKETPLACE
        if path == "/api/shop" and method == "GET":
            return 200, {k: shop[k] for k in ("code", "name", "kind", "locations")}, None
        if path == "/api/webhook" and method == "PUT":
            data = self._json(body)
            change = store.set_webhook(shop, str(data.get("url") or ""), str(data.get("secret") or ""))
            return 200, change.result, None
        if path == "/api/products":
            if method == "GET":
                return 200, _page(store.list_products(shop, _ids(query)), query, "products"), None
            if method == "PUT":
                change = store.upsert_products(shop, self._json(body).get("products") or [])
                return 200, {"results": change.result}, change
        if path == "/api/inventory":
            if method == "GET":
                return 200, {"levels": store.list_inventory(shop)}, None
            if method == "PUT":
                change = store.set_inventory(shop, self._json(body).get("levels") or [])
                return 200, {"results": change.result}, change
        if marketplace:
            if path == "/api/orders" and method == "GET":
                status = query.get("status", [None])[0]
                return 200, _page(store.list_orders(shop, _ids(query), status), query, "orders"), None
            if path == "/api/orders" and method == "POST":
                change = store.create_order(shop, self._json(body))
                return 201, {"order": change.result}, change
            if (m := re.fullmatch(r"/api/orders/(\w+)/fulfillments", path)) and method == "POST":
                change = store.add_fulfillment(shop, m[1], self._json(body))
                return (201 if change.result["created"] else 200), change.result, change
        else:
            routes = {
                "/api/fulfillment-orders": ("orders", store.create_fulfillment_order, "order"),
                "/api/purchase-orders": ("purchase_orders", store.create_purchase_order, "purchase_order"),
                "/api/shipments": ("shipments", None, None),
                "/api/receipts": ("receipts", None, None),
            }
            if path in routes:
                records, create, _ = routes[path]
                if method == "GET":
                    return 200, _page(store.list_records(shop, records, _ids(query)), query, records), None
                if method == "POST" and create is not None:
                    change = create(shop, self._json(body))
                    return (201 if change.result["created"] else 200), change.result, change
            if (m := re.fullmatch(r"/api/fulfillment-orders/(\w+)/ship", path)) and method == "POST":
                change = store.ship(shop, m[1], self._quantities(body))
                return 201, {"shipment": change.result}, change
            if (m := re.fullmatch(r"/api/purchase-orders/(\w+)/receive", path)) and method == "POST":
                data = self._json(body)
                change = store.receive(
                    shop,
                    m[1],
                    self._quantities(body),
                    carrier=data.get("carrier"),
                    service=data.get("service"),
                )
                return 201, {"receipt": change.result}, change
        raise SandboxError(404, f"No route {method} {path} for a {shop['kind']} shop.")

    def _quantities(self, body: bytes) -> dict[str, int] | None:
        lines = self._json(body).get("lines")
        return None if lines is None else {line["sku"]: int(line["quantity"]) for line in lines}

    # The demo page -------------------------------------------------------------------

    def _home_page(self, query: dict) -> str:
        store = self.server.store
        with store.lock:
            shops = [store.snapshot(code) for code in sorted(store.data["shops"])]
        return PAGE.format(shops="".join(_shop_section(shop, query) for shop in shops))

    def _ui_action(self, path: str, form: dict) -> None:
        store = self.server.store
        field = lambda name: (form.get(name) or [""])[0]  # noqa: E731
        shop = store.shop(field("shop"))
        if path == "/ui/orders":
            action = "placed"
            try:
                quantity = int(field("quantity"))
            except ValueError:
                raise SandboxError(422, "quantity must be a number.") from None
            change = store.create_order(
                shop,
                {
                    "customer": {"name": field("name"), "email": field("email"), "phone": "+1 555 0100"},
                    "shipping_address": {
                        "address1": "1 Demo Street",
                        "city": "Newark",
                        "region": "NJ",
                        "postal_code": "07102",
                        "country": "US",
                    },
                    "shipping": {"carrier": "UPS", "service": "03"},
                    "lines": [{"sku": field("sku"), "quantity": quantity}],
                },
            )
        elif path == "/ui/ship":
            action = "shipped"
            change = store.ship(shop, field("order"))
        else:
            raise SandboxError(404, "Not found.")
        self.server.notify(shop, change)
        # Back to the page, which confirms what was done (and how the portal hears of it).
        record = change.result.get("order_id") or change.result["id"]
        self.send_response(303)
        self.send_header(
            "Location", f"/?{urlencode({action: record, 'shop': shop['code']})}#shop-{shop['code']}"
        )
        self.send_header("Content-Length", "0")
        self.end_headers()


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>techOMS sandbox</title>
<style>body{{font:14px system-ui;margin:2rem;max-width:960px}}
section{{border:1px solid #ccd;padding:1rem;margin:1rem 0;border-radius:6px}}
td,th{{padding:.2rem .6rem;text-align:left}} .how{{color:#445}}
form.order{{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.6rem 0}}
form.order label{{display:flex;flex-direction:column;font-size:.85rem}}
.done{{background:#e7f4ea;border:1px solid #8c8;padding:.6rem 1rem;border-radius:4px}}</style></head><body>
<h1>techOMS sandbox</h1>
<p>A simulated marketplace and 3PL. Place an order in a marketplace or ship a 3PL's order;
each shop says how the portal hears of it.</p>{shops}</body></html>"""
ORDER_FORM = """<form method="post" action="/ui/orders" class="order">
<input type="hidden" name="shop" value="{shop}">
<label>SKU <select name="sku">{options}</select></label>
<label>Quantity <input name="quantity" type="number" min="1" value="1" size="3"></label>
<label>Customer <input name="name" value="Jane Doe"></label>
<label>Email <input name="email" value="jane@example.com"></label>
<button type="submit">Place order</button></form>"""
# How the portal learns of a shop's changes: by its webhook when one is registered (the
# sandbox cannot know the channel's mode), else only when the portal asks.
HOW_WITH_WEBHOOK = (
    "A webhook is registered: the portal hears of each change at once. A channel in Webhook "
    "mode imports it after its Webhook Delay; otherwise its next scheduled {job} run or the "
    "<em>{job}</em> button on its page brings it."
)
HOW_WITHOUT_WEBHOOK = (
    "No webhook is registered: the portal sees changes at the channel's next scheduled {job} "
    "run, or at once with the <em>{job}</em> button on its page."
)
SHIP_FORM = """<form method="post" action="/ui/ship"><input type="hidden" name="shop" value="{shop}">
<input type="hidden" name="order" value="{order}"><button>Ship</button></form>"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _shop_section(shop: dict, query: dict) -> str:
    """One shop on the demo page; every value from the store is escaped."""
    e = html.escape
    code = e(shop["code"])
    stock = _table(
        ["Location", "SKU", "Quantity"],
        [
            [e(loc), e(sku), str(qty)]
            for loc, levels in shop["inventory"].items()
            for sku, qty in sorted(levels.items())
        ],
    )
    job = "Import Orders" if shop["kind"] == MARKETPLACE else "Receive Shipments"
    how = (HOW_WITH_WEBHOOK if shop.get("webhook") else HOW_WITHOUT_WEBHOOK).format(job=job)
    parts = [
        f"<section data-shop='{code}' id='shop-{code}'>"
        f"<h2>{e(shop['name'])} <small>({e(shop['kind'])}, {code})</small></h2>",
        _done_banner(shop, query),
        f"<p class='how'>{how}</p>",
        f"<details><summary>Stock</summary>{stock}</details>",
    ]
    recent = sorted(shop["orders"].values(), key=lambda o: -int(o["id"]))[:20]
    if shop["kind"] == MARKETPLACE:
        options = "".join(
            f"<option value='{e(sku)}'>{e(sku)} {e(p.get('title') or '')}</option>"
            for sku, p in sorted(shop["products"].items())
        )
        parts.append(ORDER_FORM.format(shop=code, options=options))
        rows = [
            [
                e(o["number"]),
                e(o["status"]),
                ", ".join(f"{e(li['sku'])}×{li['quantity']}" for li in o["lines"]),
                ", ".join(e(f["tracking_number"]) for f in o["fulfillments"]),
            ]
            for o in recent
        ]
        parts.append(_table(["Order", "Status", "Lines", "Tracking"], rows))
    else:
        rows = [
            [
                e(o["reference"]),
                e(o["location"]),
                e(o["status"]),
                SHIP_FORM.format(shop=code, order=e(o["id"])) if o["status"] == "open" else "",
            ]
            for o in recent
        ]
        parts.append(_table(["Order", "Location", "Status", ""], rows))
    parts.append("</section>")
    return "".join(parts)


def _done_banner(shop: dict, query: dict) -> str:
    """The confirmation after placing or shipping one of the shop's orders (the form
    redirects to the page at this shop)."""
    if query.get("shop", [""])[0] != shop["code"]:
        return ""
    for action in ("placed", "shipped"):
        order = shop["orders"].get(query.get(action, [""])[0])
        if order:
            e = html.escape
            lines = ", ".join(f"{li['quantity']} × {e(li['sku'])}" for li in order["lines"])
            told = (
                "the portal was sent a webhook"
                if shop.get("webhook")
                else "the portal sees it at the channel's next run, or at once with its button"
            )
            return (
                f"<p class='done' role='status'>Order <strong>{e(order.get('number') or order['reference'])}"
                f"</strong> {action} ({lines}); {told}.</p>"
            )
    return ""


def start_in_thread(store: SandboxStore, host: str = "127.0.0.1", port: int = 0, **kwargs) -> SandboxServer:
    """A running server on a free port (port 0), serving from a daemon thread."""
    server = SandboxServer((host, port), store, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
