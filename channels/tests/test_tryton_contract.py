"""The Tryton connector against recorded JSON-RPC conversations with the pinned Tryton 8.2
(channels/tests/recordings/tryton/*.json, written by record.py there).

The replay is strict: each request the connector sends must be the next one recorded
(path, Authorization header, JSON body with its id, method and params), and it gets the
answer Tryton gave, or the failure the HTTP client raised. So these tests check both what
the connector asks Tryton and what it makes of the answers.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from channels.connectors import base
from channels.connectors.base import ConnectorAuthError, ConnectorError, ConnectorUnavailable, Line
from channels.connectors.tryton import CURSOR_OVERLAP, TrytonConnector
from channels.connectors.tryton_rpc import TrytonBusy, TrytonServerError, TrytonUserError, decode

RECORDINGS = Path(__file__).parent / "recordings" / "tryton"


class Replay:
    """Plays a recording's exchanges back, in order, to the connector's `http.post`."""

    def __init__(self, name: str):
        self.recording = json.loads((RECORDINGS / f"{name}.json").read_text())
        self.exchanges = list(self.recording["exchanges"])
        self.base_url = self.recording["credentials"]["url"].rstrip("/")
        self.headers: dict[str, str] = {}

    def post(self, path: str, data: dict):
        assert self.exchanges, f"an unrecorded request: {data['method']}"
        expected = self.exchanges.pop(0)
        assert (path, self.headers.get("Authorization"), data) == (
            expected["path"],
            expected["authorization"],
            expected["request"],
        )
        if "failure" in expected:
            failure = expected["failure"]
            cls = getattr(base, failure["class"])
            if failure["status"] is not None:
                raise cls(failure["status"], failure["message"])
            raise cls(failure["message"])
        return expected["response"]

    def done(self) -> bool:
        return not self.exchanges


def connector(name: str) -> tuple[TrytonConnector, Replay]:
    replay = Replay(name)
    return TrytonConnector(replay.recording["credentials"], replay), replay


# Set-up ------------------------------------------------------------------------------------


def test_test_connection_names_the_company_and_the_warehouses():
    made, replay = connector("test_connection")
    said = made.test_connection()
    assert said == (
        f"Connected to Tryton at {replay.base_url}, database techoms, as admin: "
        "company techOMS Demo Warehouse, warehouses MAIN, EAST."
    )
    assert replay.done()


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        (
            "bad_password",
            ConnectorAuthError,
            "Tryton refused user 'admin' on database 'techoms': wrong user or password.",
        ),
        ("unknown_database", ConnectorError, "has no database 'nowhere'."),
        ("unreachable", ConnectorUnavailable, "cannot be reached"),
    ],
)
def test_test_connection_says_plainly_what_is_wrong(name, error, words):
    made, replay = connector(name)
    with pytest.raises(error) as raised:
        made.test_connection()
    assert words in str(raised.value)
    # Only an unreachable server is worth retrying; a refused password is not.
    assert raised.value.transient is (name == "unreachable")
    assert replay.done()


def test_an_expired_session_logs_in_again_once_and_the_call_goes_through():
    made, replay = connector("expired_session")
    assert made.list_locations() == ["MAIN", "EAST"]
    made.rpc._post("common.db.logout", [])
    made._cache.clear()
    assert made.list_locations() == ["MAIN", "EAST"]
    assert replay.done()
    reads = [
        e
        for e in replay.recording["exchanges"]
        if e["request"]["method"] == "model.stock.location.search_read"
    ]
    # The refused read, then the same read again with the new session.
    assert "failure" in reads[1] and reads[2]["authorization"] not in (None, reads[1]["authorization"])


# Sending -------------------------------------------------------------------------------------


def test_send_orders_creates_a_waiting_shipment_per_order_once():
    made, replay = connector("send_orders")
    ship_to = replay.recording["ship_to"]
    orders = [
        base.FulfillmentRequest(
            reference=o["reference"],
            location=o["location"],
            lines=tuple(Line(sku=sku, quantity=q) for sku, q in o["lines"]),
            carrier_code=o.get("carrier", ""),
            ship_to=ship_to,
        )
        for o in replay.recording["orders"]
    ]
    first = made.send_orders(orders)
    results = {o.key: (o.result, o.error) for o in first.outcomes}
    assert results == {
        "SO-9001": ("created", ""),
        "SO-9002": ("created", ""),
        "SO-9003": ("rejected", "Tryton has no product with code NOPE-1."),
        "SO-9004": ("created", ""),
        "SO-9005": ("rejected", "Tryton has no warehouse 'NORTH'."),
    }
    again = made.send_orders(orders)
    assert [(o.key, o.result) for o in again.outcomes] == [
        ("SO-9001", "unchanged"),
        ("SO-9002", "unchanged"),
        ("SO-9003", "rejected"),
        ("SO-9004", "unchanged"),
        ("SO-9005", "rejected"),
    ]
    assert [o.external_id for o in again.outcomes if o.ok] == [o.external_id for o in first.outcomes if o.ok]
    assert replay.done()

    sent = {e["request"]["method"]: e["request"]["params"] for e in replay.recording["exchanges"]}
    # Looked up by reference, a cancelled shipment aside (an order sent again gets a new one).
    lookup = sent["model.stock.shipment.out.search_read"][0]
    assert lookup == [
        ["reference", "in", [o["reference"] for o in replay.recording["orders"]]],
        ["state", "!=", "cancelled"],
    ]
    # The second run only looked the references up: nothing was created twice.
    methods = [e["request"]["method"] for e in replay.recording["exchanges"]]
    assert methods.count("model.stock.shipment.out.create") == 1
    shipments = sent["model.stock.shipment.out.create"][0]
    assert [s["reference"] for s in shipments] == ["SO-9001", "SO-9002", "SO-9004"]
    main = shipments[0]
    # The warehouse's zones are written explicitly (raw RPC runs no on_change), and the
    # UPS carrier is Tryton's carrier of that name.
    assert (main["warehouse"], main["warehouse_storage"], main["warehouse_output"], main["carrier"]) == (
        5,
        3,
        2,
        2,
    )
    assert [(m["product"], m["quantity"], m["from_location"]) for m in main["outgoing_moves"][0][1]] == [
        (3, 2.0, 2),
        (5, 1.0, 2),
    ]
    # One call creates the three orders' addresses; the country is Tryton's, the region
    # it does not know stays on the street lines.
    address = sent["model.party.address.create"][0][0]
    assert address == {
        "party": address["party"],
        "party_name": "Ada Lovelace",
        "street_unstructured": "12 Analytical Way\nSuite 3\nIL",
        "city": "Springfield",
        "postal_code": "62701",
        "country": 1,
    }
    assert sent["model.stock.shipment.out.wait"][0] == [1, 2, 3]


def test_send_purchase_orders_announces_a_draft_supplier_shipment_once():
    made, replay = connector("send_purchase_orders")
    requests = [
        base.PurchaseOrderRequest(
            reference=p["reference"],
            number=p["reference"],
            location=p["location"],
            lines=tuple(Line(sku=sku, quantity=q) for sku, q in p["lines"]),
            expected_at=datetime.fromisoformat(p["expected_at"]).date() if p.get("expected_at") else None,
        )
        for p in replay.recording["purchase_orders"]
    ]
    first = made.send_purchase_orders(requests)
    assert [(o.key, o.result, o.error) for o in first.outcomes] == [
        ("PO-9001", "created", ""),
        ("PO-9002", "rejected", "Tryton has no product with code NOPE-2."),
    ]
    again = made.send_purchase_orders(requests)
    assert [(o.key, o.result, o.external_id) for o in again.outcomes][0] == (
        "PO-9001",
        "unchanged",
        first.outcomes[0].external_id,
    )
    assert replay.done()
    methods = [e["request"]["method"] for e in replay.recording["exchanges"]]
    assert methods.count("model.stock.shipment.in.create") == 1
    # An advance notice: created in draft, no workflow button pressed.
    assert not any(
        m.startswith("model.stock.shipment.in.") and m.split(".")[-1] not in ("search_read", "create")
        for m in methods
    )
    (created,) = next(
        e for e in replay.recording["exchanges"] if e["request"]["method"] == "model.stock.shipment.in.create"
    )["request"]["params"][0]
    assert (created["warehouse_input"], created["warehouse_storage"], created["planned_date"]) == (
        1,
        3,
        {"__class__": "date", "year": 2026, "month": 12, "day": 24},
    )
    assert [(m["product"], m["quantity"], m["to_location"]) for m in created["incoming_moves"][0][1]] == [
        (4, 12.0, 1),
        (7, 5.0, 1),
    ]


# Reading ---------------------------------------------------------------------------------


def test_receive_shipments_reads_done_shipments_since_the_cursor_with_tracking_and_short_lines():
    made, replay = connector("receive_shipments")
    since = replay.recording["since"]
    fetched = made.receive_shipments(since=since)
    by_reference = {s.order_reference: s for s in fetched.items}
    assert sorted(by_reference) == ["SO-9001", "SO-9002"]
    whole, short = by_reference["SO-9001"], by_reference["SO-9002"]
    # Carrier code: the Tryton carrier's party name; service code: its product's code.
    assert (whole.location, whole.tracking_number, whole.carrier_code, whole.service_code) == (
        "MAIN",
        "1ZREC9001",
        "UPS",
        "03",
    )
    assert sorted((li.sku, li.quantity) for li in whole.lines) == [("MUG-12OZ", 1), ("TSHIRT-BLK-M", 2)]
    # The warehouse picked 2 of the 3 caps: the shipment says so.
    assert (short.location, short.tracking_number, short.carrier_code) == ("EAST", "JPREC9002", "DHL")
    assert [(li.sku, li.quantity) for li in short.lines] == [("CAP-NAVY", 2)]
    assert fetched.messages == []
    # The cursor is the latest change read; the next read starts a minute before it.
    assert fetched.cursor == max(s.shipped_at for s in fetched.items).isoformat()
    domain = replay.recording["exchanges"][2]["request"]["params"][0]
    start = datetime.fromisoformat(since) - CURSOR_OVERLAP
    assert domain == [["state", "in", ["done"]], ["write_date", ">=", json_datetime(start)]]

    by_id = made.receive_shipments(ids=[whole.external_id])
    assert [s.order_reference for s in by_id.items] == ["SO-9001"] and by_id.cursor is None
    assert replay.done()


def json_datetime(moment: datetime) -> dict:
    moment = moment.astimezone(UTC)
    return {
        "__class__": "datetime",
        **{
            k: getattr(moment, k) for k in ("year", "month", "day", "hour", "minute", "second", "microsecond")
        },
    }


def test_receive_receipts_reads_received_supplier_shipments_with_what_arrived():
    made, replay = connector("receive_receipts")
    fetched = made.receive_receipts(since=replay.recording["since"])
    (receipt,) = fetched.items
    assert (receipt.purchase_order_reference, receipt.location) == ("PO-9001", "MAIN")
    # 10 of the 12 T-shirts announced arrived, and the 5 bottles.
    assert sorted((li.sku, li.quantity) for li in receipt.lines) == [("BOTTLE-750", 5), ("TSHIRT-WHT-M", 10)]
    assert fetched.cursor == receipt.received_at.isoformat()
    assert replay.done()


def test_import_inventory_reads_each_warehouse_with_its_child_locations():
    made, replay = connector("import_inventory")
    fetched = made.import_inventory()
    levels = {(lv.location, lv.sku): lv.quantity for lv in fetched.items}
    # The seed's stock after the recorded scenario: MAIN shipped 2 T-shirts and a mug
    # and received 10 T-shirts and 5 bottles; EAST shipped 2 caps.
    assert levels[("MAIN", "TSHIRT-BLK-M")] == 38 and levels[("MAIN", "TSHIRT-WHT-M")] == 45
    assert levels[("MAIN", "BOTTLE-750")] == 35 and levels[("EAST", "CAP-NAVY")] == 23
    assert levels[("EAST", "LAMP-DESK")] == 0 and len(levels) == 12
    contexts = [
        e["request"]["params"][-1]
        for e in replay.recording["exchanges"]
        if e["request"]["method"] == "model.product.product.search_read"
    ]
    assert [(c["locations"], c["with_childs"]) for c in contexts] == [([5], True), ([12], True)]
    assert replay.done()


def test_import_products_converts_measurements_to_mm_and_g_and_keeps_a_cursor():
    made, replay = connector("import_products")
    fetched = made.import_products()
    products = {p.sku: p for p in fetched.items}
    assert len(products) == 6
    shirt = products["TSHIRT-BLK-M"]
    # Seeded in cm and kg.
    assert (shirt.name, shirt.price) == ("T-shirt, black, M", Decimal("19.90"))
    assert (shirt.length_mm, shirt.width_mm, shirt.height_mm, shirt.weight_g) == (
        Decimal("300.0"),
        Decimal("250.0"),
        Decimal("20.0"),
        Decimal("180.0"),
    )
    assert products["LAMP-DESK"].weight_g == Decimal("1250.0")
    assert fetched.cursor == replay.recording["later"]
    # Read again from that cursor: the products changed since (all of them, within the
    # overlap) come again and the cursor does not move back.
    again = made.import_products(since=fetched.cursor)
    assert again.cursor == fetched.cursor
    assert replay.done()


def test_cancel_fulfillment_cancels_a_shipment_not_picked_and_refuses_a_shipped_one():
    made, replay = connector("cancel_fulfillment")
    shipments = replay.recording["shipments"]
    assert made.cancel_fulfillment("SO-9004", str(shipments["SO-9004"])) is True
    assert made.cancel_fulfillment("SO-9001", str(shipments["SO-9001"])) is False
    methods = [e["request"]["method"] for e in replay.recording["exchanges"]]
    assert methods.count("model.stock.shipment.out.cancel") == 1
    assert replay.done()


# Tryton's error answers ----------------------------------------------------------------------


class Answers:
    """Answers every post with the next of `answers` (a Tryton JSON-RPC body)."""

    base_url = "http://tryton.test"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.headers = {}

    def post(self, path, data):
        return self.answers.pop(0)


LOGGED_IN = ({"id": 1, "result": [1, "key", None]}, {"id": 2, "result": {"company": 1}})


@pytest.mark.parametrize(
    ("error", "kind", "transient", "words"),
    [
        # As Tryton 8.2 answered a read of a record that does not exist (recorded by hand).
        (
            [
                "UserError",
                ['You are trying to read records "99" of "Stock Shipment Out" that don\'t exist.', "", None],
            ],
            TrytonUserError,
            False,
            'Tryton refused model.stock.shipment.out.read: You are trying to read records "99"',
        ),
        (
            ["UserWarning", ["abc.done", 'Stock moves "40 u" have no origin.', ""]],
            TrytonUserError,
            False,
            'Stock moves "40 u" have no origin.',
        ),
        (["ConcurrencyException", ["Records were modified in the meanwhile"]], TrytonBusy, True, "try again"),
        (["'bad'", ""], TrytonServerError, False, "Tryton failed on model.stock.shipment.out.read: 'bad'"),
    ],
)
def test_tryton_errors_become_connector_errors_that_say_whether_to_retry(error, kind, transient, words):
    made = TrytonConnector(
        {"database": "db", "user": "u", "password": "p"}, Answers(*LOGGED_IN, {"id": 3, "error": error})
    )
    with pytest.raises(kind) as raised:
        made.rpc.model("stock.shipment.out", "read", [99], ["id"])
    assert raised.value.transient is transient and words in str(raised.value)


def test_a_user_without_company_is_told_so():
    made = TrytonConnector(
        {"database": "db", "user": "clerk", "password": "p"},
        Answers({"id": 1, "result": [7, "key", None]}, {"id": 2, "result": {"company": None}}),
    )
    with pytest.raises(
        ConnectorError, match="Tryton user 'clerk' has no company: set one on the user in Tryton."
    ):
        made.test_connection()


def test_a_database_without_warehouse_is_told_so():
    made = TrytonConnector(
        {"database": "db", "user": "u", "password": "p"},
        Answers(
            *LOGGED_IN,
            {"id": 3, "result": [{"id": 1, "currency": 1, "rec_name": "Co"}]},
            {"id": 4, "result": []},
        ),
    )
    with pytest.raises(ConnectorError, match="Tryton has no warehouse"):
        made.test_connection()


def test_a_batch_tryton_refuses_is_sent_again_one_by_one_and_only_the_refused_one_is_rejected():
    warehouse = {
        "id": 5,
        "code": "MAIN",
        "name": "Main",
        "input_location": 1,
        "output_location": 2,
        "storage_location": 3,
        "picking_location": None,
    }
    refused = {"id": 0, "error": ["UserError", ["The address is not valid.", "", None]]}
    made = TrytonConnector(
        {"database": "db", "user": "u", "password": "p"},
        Answers(
            *LOGGED_IN,
            {"id": 3, "result": []},  # no shipment of these references yet
            {"id": 4, "result": [{"id": 9, "code": "SKU-1", "default_uom": 1}]},
            {"id": 5, "result": [warehouse]},
            {"id": 6, "result": [{"id": 4, "customer_location": 7, "supplier_location": 6}]},
            {"id": 8, "result": [11, 12]},  # addresses
            {"id": 9, "result": []},  # carriers
            {"id": 10, "result": [{"id": 1, "currency": 1, "rec_name": "Co"}]},
            refused,  # the batch
            {"id": 11, "result": [31]},  # SO-1 alone
            refused,  # SO-2 alone
            {"id": 12, "result": None},  # wait SO-1
        ),
    )
    lines = (Line(sku="SKU-1", quantity=1),)
    pushed = made.send_orders(
        [base.FulfillmentRequest(reference=f"SO-{n}", location="MAIN", lines=lines) for n in (1, 2)]
    )
    assert [(o.key, o.result, o.external_id) for o in pushed.outcomes] == [
        ("SO-1", "created", "31"),
        ("SO-2", "rejected", ""),
    ]
    assert "The address is not valid." in pushed.outcomes[1].error
    assert not pushed.stopped_by and made.http.answers == []


def test_a_failing_tryton_stops_the_send_with_what_was_done_and_says_to_retry():
    made = TrytonConnector(
        {"database": "db", "user": "u", "password": "p"},
        Answers(*LOGGED_IN, {"id": 3, "error": ["ConcurrencyException", ["busy"]]}),
    )
    pushed = made.send_orders(
        [base.FulfillmentRequest(reference="SO-1", location="MAIN", lines=(Line("A", 1),))]
    )
    assert pushed.outcomes == [] and pushed.stopped_transient and "try again" in pushed.stopped_by


def test_tryton_values_decode_to_python():
    assert decode(
        {
            "__class__": "datetime",
            "year": 2026,
            "month": 1,
            "day": 2,
            "hour": 3,
            "minute": 4,
            "second": 5,
            "microsecond": 6,
        }
    ) == datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert decode([{"__class__": "Decimal", "decimal": "1.50"}]) == [Decimal("1.50")]


class Asked(Answers):
    """Answers and keeps each request's params."""

    def __init__(self, *answers):
        super().__init__(*answers)
        self.asked = []

    def post(self, path, data):
        self.asked.append(data["params"])
        return super().post(path, data)


def test_pages_follow_each_other_by_change_time_and_id_not_by_offset(monkeypatch):
    monkeypatch.setattr("channels.connectors.tryton.CHANGED_PAGE_SIZE", 2)
    moment = {
        "__class__": "datetime",
        "year": 2026,
        "month": 1,
        "day": 2,
        "hour": 3,
        "minute": 4,
        "second": 5,
        "microsecond": 0,
    }

    def shipment(i):
        return {
            "id": i,
            "write_date": moment,
            "create_date": moment,
            "reference": f"SO-{i}",
            "warehouse": 5,
            "incoming_moves": [],
        }

    # A page is parsed (its warehouses read the first time) before the next is read.
    http = Asked(
        *LOGGED_IN,
        {"id": 3, "result": [shipment(1), shipment(2)]},
        {"id": 4, "result": [{"id": 5, "code": "MAIN", "name": "Main"}]},
        {"id": 5, "result": [shipment(3)]},
    )
    made = TrytonConnector({"database": "db", "user": "u", "password": "p"}, http)
    fetched = made.receive_receipts()
    assert [r.purchase_order_reference for r in fetched.items] == ["SO-1", "SO-2", "SO-3"]
    first, second = http.asked[2], http.asked[4]
    assert first[1] == 0 and second[1] == 0  # never an offset
    assert second[0][-1] == ["OR", ["write_date", ">", moment], [["write_date", "=", moment], ["id", ">", 2]]]


def test_export_products_creates_what_tryton_lacks_writes_what_differs_and_then_nothing():
    made, replay = connector("export_products")
    products = [
        base.ChannelProduct(
            external_id="",
            sku=p["sku"],
            name=p["name"],
            description=p.get("description", ""),
            price=Decimal(p["price"]),
            length_mm=Decimal(str(p["mm"][0])),
            width_mm=Decimal(str(p["mm"][1])),
            height_mm=Decimal(str(p["mm"][2])),
            weight_g=Decimal(str(p["g"])),
        )
        for p in replay.recording["products"]
    ]
    first = made.export_products(products)
    assert [(o.key, o.result) for o in first.outcomes] == [
        ("TSHIRT-BLK-M", "unchanged"),  # Tryton's cm and kg are the same 300 mm and 180 g
        ("MUG-12OZ", "updated"),
        ("POSTER-A2", "created"),
    ]
    again = made.export_products(products)
    assert [o.result for o in again.outcomes] == ["unchanged"] * 3
    assert [o.external_id for o in again.outcomes] == [o.external_id for o in first.outcomes]
    assert replay.done()
    sent = {e["request"]["method"]: e["request"]["params"] for e in replay.recording["exchanges"]}
    # Only what differs is written; a new product is measured in Tryton's mm and g.
    assert sent["model.product.template.write"][:2] == [
        [5],
        {"name": "Mug 12 oz, blue", "list_price": {"__class__": "Decimal", "decimal": "13.00"}},
    ]
    (created,) = sent["model.product.template.create"][0]
    assert (created["type"], created["length"], created["height"], created["weight"]) == (
        "goods",
        594.0,
        2.5,
        95.5,
    )
    assert created["products"] == [["create", [{"suffix_code": "POSTER-A2", "description": "Rolled"}]]]
