"""Record the Tryton connector's JSON-RPC conversations for the contract tests.

Starts the project's Tryton peer (peers/tryton, the pinned trytond 8.2) from its seeded
template, runs each scenario through the real connector with a recording HTTP client,
plays the warehouse's part in between (peers.tryton.rpc.Warehouse, not recorded) and
writes one `<scenario>.json` per scenario beside this file: every request the connector
sent (path, Authorization header, body) and Tryton's answer or HTTP failure.

    .venv/bin/python channels/tests/recordings/tryton/record.py

Run it again after changing what the connector sends: the contract tests replay these
files strictly, request by request.
"""

import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))

from channels.connectors.base import (  # noqa: E402
    ChannelProduct,
    ConnectorError,
    ConnectorHttpError,
    FulfillmentRequest,
    Line,
    PurchaseOrderRequest,
)
from channels.connectors.http import JsonHttpClient  # noqa: E402
from channels.connectors.tryton import TrytonConnector  # noqa: E402
from peers.tryton.peer import start_peer  # noqa: E402
from peers.tryton.rpc import TrytonRpc, Warehouse  # noqa: E402

SHIP_TO = {
    "name": "Ada Lovelace",
    "phone": "+1 555 0100",
    "address1": "12 Analytical Way",
    "address2": "Suite 3",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}


class Recorder:
    """A JsonHttpClient that writes down each exchange."""

    def __init__(self, url: str):
        self.client = JsonHttpClient(url, timeout=60)
        self.base_url = self.client.base_url
        self.headers = self.client.headers
        self.exchanges: list[dict] = []

    def post(self, path: str, data: dict):
        exchange = {"path": path, "authorization": self.headers.get("Authorization"), "request": data}
        self.exchanges.append(exchange)
        try:
            exchange["response"] = self.client.post(path, data)
        except ConnectorError as error:
            exchange["failure"] = {
                "class": type(error).__name__,
                "status": getattr(error, "status", None),
                "message": str(error),
            }
            raise
        return exchange["response"]


def connector(peer, **changes) -> TrytonConnector:
    credentials = {**peer.credentials, **changes}
    return TrytonConnector(credentials, Recorder(credentials["url"]))


def save(name: str, made: TrytonConnector, **extra) -> None:
    data = {"credentials": {**made.credentials}, **extra, "exchanges": made.http.exchanges}
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{name}: {len(made.http.exchanges)} exchanges")


def expect_failure(call) -> None:
    try:
        call()
    except ConnectorError:
        return
    raise AssertionError("the call was expected to fail")


# The orders sent, as the recording keeps them for the test to send the same.
ORDERS = [
    {
        "reference": "SO-9001",
        "location": "MAIN",
        "lines": [["TSHIRT-BLK-M", 2], ["MUG-12OZ", 1]],
        "carrier": "UPS",
    },
    {"reference": "SO-9002", "location": "EAST", "lines": [["CAP-NAVY", 3]]},
    {"reference": "SO-9003", "location": "MAIN", "lines": [["NOPE-1", 1]]},
    {"reference": "SO-9004", "location": "MAIN", "lines": [["LAMP-DESK", 1]]},
    {"reference": "SO-9005", "location": "NORTH", "lines": [["MUG-12OZ", 1]]},
]


PURCHASE_ORDERS = [
    {
        "reference": "PO-9001",
        "location": "MAIN",
        "lines": [["TSHIRT-WHT-M", 12], ["BOTTLE-750", 5]],
        "expected_at": "2026-12-24",
    },
    {"reference": "PO-9002", "location": "EAST", "lines": [["NOPE-2", 1]]},
]


def purchase_order(data: dict) -> PurchaseOrderRequest:
    return PurchaseOrderRequest(
        reference=data["reference"],
        number=data["reference"],
        location=data["location"],
        lines=tuple(Line(sku=sku, quantity=quantity) for sku, quantity in data["lines"]),
        expected_at=date.fromisoformat(data["expected_at"]) if data.get("expected_at") else None,
    )


# The products exported: one as Tryton has it, one changed, one new.
EXPORTED = [
    {"sku": "TSHIRT-BLK-M", "name": "T-shirt, black, M", "price": "19.90", "mm": [300, 250, 20], "g": 180},
    {"sku": "MUG-12OZ", "name": "Mug 12 oz, blue", "price": "13.00", "mm": [120, 90, 100], "g": 350},
    {
        "sku": "POSTER-A2",
        "name": "Poster A2",
        "price": "15.00",
        "mm": [594, 420, 2.5],
        "g": 95.5,
        "description": "Rolled",
    },
]


def product(data: dict) -> ChannelProduct:
    length, width, height = (Decimal(str(v)) for v in data["mm"])
    return ChannelProduct(
        external_id="",
        sku=data["sku"],
        name=data["name"],
        description=data.get("description", ""),
        price=Decimal(data["price"]),
        length_mm=length,
        width_mm=width,
        height_mm=height,
        weight_g=Decimal(str(data["g"])),
    )


def order(data: dict, ship_to: dict) -> FulfillmentRequest:
    return FulfillmentRequest(
        reference=data["reference"],
        location=data["location"],
        lines=tuple(Line(sku=sku, quantity=quantity) for sku, quantity in data["lines"]),
        carrier_code=data.get("carrier", ""),
        ship_to=ship_to,
    )


def main() -> None:
    peer = start_peer(Path(tempfile.mkdtemp(prefix="tryton-record-")))
    try:
        record(peer)
    finally:
        peer.stop()


def record(peer) -> None:
    rpc = TrytonRpc(peer.url, peer.database, peer.user, peer.password)
    rpc.login()
    warehouse = Warehouse(rpc, peer.info)
    # Tryton's clock (write_date) is the server's: a little before now reads what follows.
    started = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()

    made = connector(peer)
    made.test_connection()
    save("test_connection", made)

    made = connector(peer, password="wrong")
    expect_failure(made.test_connection)
    save("bad_password", made)

    made = connector(peer, database="nowhere")
    expect_failure(made.test_connection)
    save("unknown_database", made)

    unreachable = connector(peer, url="http://127.0.0.1:9")
    expect_failure(unreachable.test_connection)
    save("unreachable", unreachable)

    orders = [order(data, SHIP_TO) for data in ORDERS]
    made = connector(peer)
    first = made.send_orders(orders)
    made.send_orders(orders)
    save("send_orders", made, orders=ORDERS, ship_to=SHIP_TO)
    shipments = {o.key: int(o.external_id) for o in first.outcomes if o.ok}

    pos = [purchase_order(data) for data in PURCHASE_ORDERS]
    made = connector(peer)
    sent_pos = made.send_purchase_orders(pos)
    made.send_purchase_orders(pos)
    save("send_purchase_orders", made, purchase_orders=PURCHASE_ORDERS)

    # The warehouse: ships SO-9001 whole with a tracking number, SO-9002 short (2 of 3),
    # receives 10 of the 12 T-shirts of PO-9001 and the 5 bottles.
    warehouse.ship([shipments["SO-9001"]], carrier="UPS", tracking="1ZREC9001")
    (short,) = rpc.read("stock.shipment.out", [shipments["SO-9002"]], ["inventory_moves"])
    rpc.write("stock.move", short["inventory_moves"], {"quantity": 2.0})
    warehouse.ship([shipments["SO-9002"]], carrier="DHL", tracking="JPREC9002")
    receipt = int(sent_pos.outcomes[0].external_id)
    (incoming,) = rpc.read("stock.shipment.in", [receipt], ["incoming_moves"])
    moves = rpc.read("stock.move", incoming["incoming_moves"], ["product"])
    tshirt = peer.info["products"]["TSHIRT-WHT-M"]["id"]
    warehouse.receive([receipt], {m["id"]: 10 for m in moves if m["product"] == tshirt})

    made = connector(peer)
    made.receive_shipments(since=started)
    made.receive_shipments(ids=[str(shipments["SO-9001"])])
    save("receive_shipments", made, since=started, shipments=shipments)

    made = connector(peer)
    made.receive_receipts(since=started)
    save("receive_receipts", made, since=started)

    made = connector(peer)
    made.import_inventory()
    save("import_inventory", made)

    made = connector(peer)
    fetched = made.import_products()
    made.import_products(since=fetched.cursor)
    save("import_products", made, later=fetched.cursor)

    made = connector(peer)
    exported = [product(data) for data in EXPORTED]
    made.export_products(exported)
    made.export_products(exported)
    save("export_products", made, products=EXPORTED)

    made = connector(peer)
    made.cancel_fulfillment("SO-9004", str(shipments["SO-9004"]))
    made.cancel_fulfillment("SO-9001", str(shipments["SO-9001"]))
    save("cancel_fulfillment", made, shipments=shipments)

    # An expired session: Tryton forgets it (logout), the connector's next call logs in again.
    made = connector(peer)
    made.list_locations()
    made.rpc._post("common.db.logout", [])
    made._cache.clear()
    made.list_locations()
    save("expired_session", made)


if __name__ == "__main__":
    try:
        main()
    except ConnectorHttpError as error:
        sys.exit(f"Recording failed: {error}")
