"""The Medusa connector against answers recorded from the pinned Medusa (2.21.2), played
back over HTTP (channels/tests/medusa_replay.py; re-record with
channels/tests/recordings/medusa/record.py). No Node needed.

What each test expects is read from the recorded answers (the orders, levels and
products Medusa returned), so a re-recording keeps them meaningful.
"""

import base64
import copy
import socket
from contextlib import contextmanager
from datetime import timedelta

import pytest

from automations.jobs.runner import run_job
from automations.models import JobRun, RunStatus, Trigger
from channels import services
from channels.connectors import medusa
from channels.connectors.base import (
    ChannelProduct,
    ConnectorAuthError,
    ConnectorError,
    ConnectorHttpError,
    ConnectorProtocolError,
    ConnectorUnavailable,
    Line,
    StockLevel,
    TrackingUpdate,
)
from channels.connectors.medusa import MedusaConnector, iso
from channels.connectors.sandbox import decimal_or_none, parse_time
from channels.models import SyncCursor
from channels.platforms import JobType
from channels.tests.medusa_replay import ReplayServer, load
from orders.models import SalesOrder

KEY = "sk_" + "5" * 64


@contextmanager
def replaying(exchanges, monkeypatch, page_size=None, key=KEY):
    """A connector whose Medusa is the replay of these exchanges."""
    if page_size:
        monkeypatch.setattr(medusa, "PAGE_SIZE", page_size)
    with ReplayServer(exchanges) as server:
        credentials = {"base_url": server.url, "api_key": key}
        yield MedusaConnector(credentials, MedusaConnector.http_client(credentials)), server


@contextmanager
def recording(name, monkeypatch):
    document = load(name)
    with replaying(document["exchanges"], monkeypatch, document["inputs"].get("page_size")) as (c, server):
        yield c, server, document


def answered(document, key):
    """Every row of `key` Medusa answered in this recording, page after page."""
    return [row for e in document["exchanges"] if e["status"] == 200 for row in e["response"].get(key) or ()]


def newest(rows):
    return max(parse_time(row["updated_at"]) for row in rows)


# Test connection -------------------------------------------------------------------------


def test_test_connection_names_the_sales_channel_and_each_stock_location_by_id(monkeypatch):
    with recording("connection_ok", monkeypatch) as (connector, server, document):
        message = connector.test_connection()
    assert server.finished  # the locations' last page was exactly full: one more, empty page
    for location in answered(document, "stock_locations"):
        assert f"{location['name']} ({location['id']})" in message
    assert answered(document, "sales_channels")[0]["name"] in message


def test_the_key_is_sent_as_http_basic_with_an_empty_password(monkeypatch):
    with recording("connection_ok", monkeypatch) as (connector, server, _):
        connector.test_connection()
    sent = {headers.get("Authorization") for *_, headers in server.requests}
    assert sent == {"Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


def test_test_connection_with_a_refused_key_says_so(monkeypatch):
    with (
        recording("connection_bad_key", monkeypatch) as (connector, server, _),
        pytest.raises(ConnectorAuthError) as refused,
    ):
        connector.test_connection()
    assert server.finished
    assert "Medusa refused the secret API key" in str(refused.value)
    assert not refused.value.transient


@pytest.mark.parametrize(
    "name, missing",
    [
        ("connection_no_sales_channel", "has no sales channel"),
        ("connection_no_location", "has no stock location"),
    ],
)
def test_test_connection_says_what_the_store_lacks(monkeypatch, name, missing):
    with recording(name, monkeypatch) as (connector, server, _), pytest.raises(ConnectorError, match=missing):
        connector.test_connection()
    assert server.finished


def test_test_connection_to_a_port_where_nothing_listens_says_medusa_cannot_be_reached():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = {"base_url": f"http://127.0.0.1:{port}", "api_key": KEY}
    connector = MedusaConnector(credentials, MedusaConnector.http_client(credentials))
    with pytest.raises(ConnectorUnavailable, match="cannot be reached") as failed:
        connector.test_connection()
    assert failed.value.transient


@pytest.mark.parametrize("base_url", ["", "ftp://shop.example.com", "shop.example.com"])
def test_a_base_url_that_is_not_http_is_refused_before_any_call(base_url):
    with pytest.raises(ConnectorError, match="must start with http"):
        MedusaConnector.http_client({"base_url": base_url, "api_key": KEY})


# Import Orders: the cursor -----------------------------------------------------------------


def test_the_first_read_returns_every_order_once_across_exact_page_boundaries(monkeypatch):
    with recording("orders_exact_page_boundary", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert server.finished
    ids = [order.external_id for order in fetched.items]
    assert sorted(ids) == sorted(set(ids)) == sorted(document["inputs"]["placed"])
    # 7 orders by 3: three full pages, each starting at the previous page's last instant,
    # then a page holding only that instant again.
    pages = [e["response"]["orders"] for e in document["exchanges"]]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert all(p[0]["id"] == previous[-1]["id"] for previous, p in zip(pages, pages[1:], strict=False))
    assert fetched.cursor == iso(newest(answered(document, "orders")))
    assert fetched.messages == []


def test_each_read_starts_one_second_before_the_cursor(monkeypatch):
    with recording("orders_second_run", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert server.finished and len(server.requests) == 1
    asked = dict(server.query(0))["updated_at[$gte]"]
    assert parse_time(asked) == parse_time(document["inputs"]["since"]) - timedelta(seconds=1)
    # What the overlap read again is known to the engine; the cursor does not move back.
    assert fetched.cursor == document["inputs"]["since"]


def test_orders_changed_during_the_read_are_neither_skipped_nor_doubled(monkeypatch):
    with recording("orders_updated_during_paging", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert server.finished
    ids = [order.external_id for order in fetched.items]
    assert sorted(ids) == sorted(set(ids)) == sorted(document["inputs"]["placed"])
    # Offset paging would have skipped one: the changed order behind the first page moved
    # to the end and every order after it one place up.
    pages = [e["response"]["orders"] for e in document["exchanges"]]
    changed_late, changed_read = document["inputs"]["changed_during_read"]
    assert changed_late not in {row["id"] for row in pages[1]} and changed_read in {
        row["id"] for row in pages[-1]
    }
    assert fetched.cursor == iso(newest(answered(document, "orders")))


def test_a_page_that_is_all_one_instant_is_read_to_its_end_by_id(monkeypatch):
    with recording("orders_one_instant_pages", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert server.finished
    assert sorted(o.external_id for o in fetched.items) == sorted(document["inputs"]["placed"])
    assert any("id[$gt]" in dict(server.query(i)) for i in range(len(server.requests)))


def test_a_read_that_finds_nothing_keeps_the_cursor(monkeypatch):
    with recording("orders_empty", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert server.finished
    assert (fetched.items, fetched.cursor) == ([], document["inputs"]["since"])


def test_an_unreadable_order_holds_the_cursor_at_its_change_time(monkeypatch):
    document = load("orders_exact_page_boundary")
    exchanges = copy.deepcopy(document["exchanges"])
    broken = document["inputs"]["placed"][3]
    for exchange in exchanges:
        for row in exchange["response"]["orders"]:
            if row["id"] == broken:
                row["items"] = []
                held = row["updated_at"]
    with replaying(exchanges, monkeypatch, document["inputs"]["page_size"]) as (connector, server):
        fetched = connector.import_orders(since=document["inputs"]["since"])
    assert broken not in {o.external_id for o in fetched.items} and len(fetched.items) == 6
    assert fetched.messages == [f"Skipped Medusa order {broken}: unreadable (no lines)."]
    assert fetched.cursor == held


def test_a_row_without_a_change_time_stops_the_read(monkeypatch):
    exchanges = copy.deepcopy(load("orders_exact_page_boundary")["exchanges"][:1])
    del exchanges[0]["response"]["orders"][0]["updated_at"]
    exchanges[0]["any_query"] = True
    with (
        replaying(exchanges, monkeypatch, page_size=3) as (connector, _),
        pytest.raises(ConnectorProtocolError, match="no readable updated_at"),
    ):
        connector.import_orders()


def test_the_pages_come_as_medusa_answers_them_each_with_the_cursor_it_reached(monkeypatch):
    with recording("orders_exact_page_boundary", monkeypatch) as (connector, server, document):
        pages = list(connector.import_order_pages(since=document["inputs"]["since"]))
    assert server.finished
    answers = [e["response"]["orders"] for e in document["exchanges"]]
    # Each order once across the pages: the rows a page starts with (the previous page's
    # last instant, read again) are dropped.
    ids = [order.external_id for page in pages for order in page.items]
    assert sorted(ids) == sorted(set(ids)) == sorted(document["inputs"]["placed"])
    assert [page.cursor for page in pages] == [
        iso(newest([row for answer in answers[: n + 1] for row in answer])) for n in range(len(answers))
    ]
    assert pages[0].expected == document["exchanges"][0]["response"]["count"]


def test_a_failure_on_a_later_page_is_raised_after_the_pages_before(monkeypatch):
    document = load("orders_exact_page_boundary")
    limited = load("orders_rate_limited")["exchanges"][0]
    exchanges = [
        *document["exchanges"][:2],
        {**document["exchanges"][2], **{k: limited[k] for k in ("status", "headers", "response")}},
    ]
    with replaying(exchanges, monkeypatch, document["inputs"]["page_size"]) as (connector, server):
        pages = connector.import_order_pages(since=document["inputs"]["since"])
        read = [next(pages), next(pages)]
        with pytest.raises(ConnectorHttpError) as failure:
            next(pages)
    assert server.finished and failure.value.transient and failure.value.retry_after == 7
    assert [len(page.items) for page in read] == [3, 2]


# Import Orders: the records ----------------------------------------------------------------


def test_orders_by_id_are_those_medusa_has_with_lines_customer_address_and_carrier(monkeypatch):
    with recording("orders_by_ids", monkeypatch) as (connector, server, document):
        fetched = connector.import_orders(ids=document["inputs"]["ids"])
    assert server.finished and fetched.cursor is None
    raw = {row["id"]: row for row in answered(document, "orders")}
    assert {o.external_id for o in fetched.items} == set(raw) == set(document["inputs"]["ids"][:2])
    for order in fetched.items:
        row = raw[order.external_id]
        address = row["shipping_address"]
        assert order.number == str(row["display_id"])
        assert [(li.sku, li.quantity, li.unit_price) for li in order.lines] == [
            (i["variant_sku"], i["quantity"], decimal_or_none(i["unit_price"])) for i in row["items"]
        ]
        assert (order.customer_email, order.customer_name) == (
            row["email"],
            f"{address['first_name']} {address['last_name']}",
        )
        assert (order.ship_address1, order.ship_city, order.ship_region, order.ship_postal_code) == (
            address["address_1"],
            address["city"],
            address["province"],
            address["postal_code"],
        )
        assert order.ship_country == address["country_code"].upper()
        data = row["shipping_methods"][0]["data"]
        assert (order.carrier_code, order.service_code) == (data["carrier_code"], data["service_code"])
        assert order.currency == row["currency_code"].upper()
        assert order.cancelled == (order.external_id == document["inputs"]["cancelled"])
    assert any(o.cancelled for o in fetched.items)


# Failures ----------------------------------------------------------------------------------


def test_a_rate_limit_is_worth_retrying_after_the_time_medusa_asks_for(monkeypatch):
    with (
        recording("orders_rate_limited", monkeypatch) as (connector, server, document),
        pytest.raises(ConnectorHttpError) as limited,
    ):
        connector.import_orders(since=document["inputs"]["since"])
    assert server.finished
    assert (limited.value.status, limited.value.transient) == (429, True)
    assert limited.value.retry_after == float(document["exchanges"][0]["headers"]["Retry-After"])
    assert "Too many requests" in str(limited.value)


def test_a_server_error_is_worth_retrying(monkeypatch):
    with (
        recording("orders_server_error", monkeypatch) as (connector, _, document),
        pytest.raises(ConnectorHttpError) as failed,
    ):
        connector.import_orders(since=document["inputs"]["since"])
    assert (failed.value.status, failed.value.transient) == (500, True)


def test_a_conflict_is_worth_retrying(monkeypatch):
    empty = load("orders_empty")
    exchange = {
        **empty["exchanges"][0],
        "status": 409,
        "response": {"code": "invalid_state_error", "type": "conflict", "message": "The request conflicted."},
    }
    with (
        replaying([exchange], monkeypatch, empty["inputs"]["page_size"]) as (connector, _),
        pytest.raises(medusa.MedusaConflict) as conflict,
    ):
        connector.import_orders(since=empty["inputs"]["since"])
    assert conflict.value.transient


# Export Inventory ---------------------------------------------------------------------------


def levels_of(document):
    return [StockLevel(**level) for level in document["inputs"]["levels"]]


def test_stock_is_written_so_that_medusa_offers_what_is_sent_in_one_batch(monkeypatch):
    with recording("inventory_export", monkeypatch) as (connector, server, document):
        pushed = connector.export_inventory(levels_of(document))
    assert server.finished
    batches = [e for e in document["exchanges"] if e["method"] == "POST"]
    assert len(batches) == 1
    items = {item["id"]: item for item in answered(document, "inventory_items")}
    sent = {level.sku: {} for level in levels_of(document)}
    for level in levels_of(document):
        sent[level.sku][level.location] = level.quantity
    body = batches[0]["body"]
    for entry in body["update"]:
        item = items[entry["inventory_item_id"]]
        held = next(lv for lv in item["location_levels"] if lv["location_id"] == entry["location_id"])
        # Medusa offers stocked − reserved: stocked is what we send plus its reservations.
        assert (
            entry["stocked_quantity"] == sent[item["sku"]][entry["location_id"]] + held["reserved_quantity"]
        )
    assert any(
        lv["reserved_quantity"] for item in items.values() for lv in item["location_levels"]
    )  # the recording holds a reservation, so the rule above was exercised
    for entry in body["create"]:
        assert (
            entry["stocked_quantity"] == sent[items[entry["inventory_item_id"]]["sku"]][entry["location_id"]]
        )
    results = {o.key: o.result for o in pushed.outcomes}
    assert list(results.values()).count("created") == len(body["create"]) > 0
    assert list(results.values()).count("updated") == len(body["update"]) > 0
    rejected = {o.key: o.error for o in pushed.outcomes if o.result == "rejected"}
    assert any("no inventory item with SKU NOT-IN-MEDUSA" in e for e in rejected.values())
    assert any("no stock location" in e for e in rejected.values())


def test_stock_medusa_already_holds_is_not_sent_again(monkeypatch):
    with recording("inventory_export_again", monkeypatch) as (connector, server, document):
        pushed = connector.export_inventory(levels_of(document))
    assert server.finished
    assert all(e["method"] == "GET" for e in document["exchanges"])
    assert {o.result for o in pushed.outcomes} == {"unchanged", "rejected"}


def test_without_mappings_the_single_stock_location_is_the_channels(monkeypatch):
    document = load("inventory_export_again")
    exchanges = copy.deepcopy(document["exchanges"])
    locations = exchanges[0]["response"]["stock_locations"]
    del locations[1:]
    with replaying(exchanges, monkeypatch) as (connector, server):
        pushed = connector.export_inventory(
            [StockLevel(level.sku, None, level.quantity) for level in levels_of(document)]
        )
    # The one remaining location is used for every level Medusa has an item for.
    assert {o.key.split("@")[1] for o in pushed.outcomes} == {"all"}
    assert not any("no stock location" in o.error for o in pushed.outcomes)


# Export Tracking ----------------------------------------------------------------------------


def updates_of(document):
    return [
        TrackingUpdate(**{**u, "lines": tuple(Line(**li) for li in u["lines"])})
        for u in document["inputs"]["updates"]
    ]


def test_tracking_is_a_fulfilment_carrying_our_reference_then_its_shipment_with_the_number(monkeypatch):
    with recording("tracking_export", monkeypatch) as (connector, server, document):
        pushed = connector.export_tracking(updates_of(document))
    assert server.finished
    shipped, cancelled, unknown = updates_of(document)
    posts = [e for e in document["exchanges"] if e["method"] == "POST"]
    fulfilment, shipment = posts[0]["body"], posts[1]["body"]
    assert fulfilment["metadata"]["techoms_reference"] == shipped.reference
    assert (fulfilment["metadata"]["carrier_code"], fulfilment["metadata"]["service_code"]) == ("UPS", "03")
    assert sum(i["quantity"] for i in fulfilment["items"]) == sum(li.quantity for li in shipped.lines)
    assert shipment["labels"][0]["tracking_number"] == shipped.tracking_number
    assert shipment["items"] == fulfilment["items"]
    outcomes = {o.key: o for o in pushed.outcomes}
    assert outcomes[shipped.reference].result == "created"
    assert outcomes[cancelled.reference].result == "rejected"
    assert "has been canceled" in outcomes[cancelled.reference].error  # Medusa's 400
    assert outcomes[unknown.reference].result == "rejected"
    assert "not found" in outcomes[unknown.reference].error  # Medusa's 404
    assert not pushed.stopped_by


def test_tracking_sent_again_finds_its_fulfilment_and_adds_nothing(monkeypatch):
    with recording("tracking_export_again", monkeypatch) as (connector, server, document):
        pushed = connector.export_tracking(updates_of(document)[:1])
    assert server.finished and len(server.requests) == 1
    assert [o.result for o in pushed.outcomes] == ["unchanged"]


def test_tracking_whose_shipment_failed_is_shipped_on_the_retry_without_a_second_fulfilment(monkeypatch):
    document = load("tracking_export")
    exchanges = copy.deepcopy(document["exchanges"][:4])
    # The retry's first read finds the fulfilment made by the first try, not yet shipped.
    retry_read = copy.deepcopy(exchanges[2])
    for fulfilment in retry_read["response"]["order"]["fulfillments"]:
        fulfilment["shipped_at"] = None
    with replaying([retry_read, exchanges[3]], monkeypatch) as (connector, server):
        pushed = connector.export_tracking(updates_of(document)[:1])
    assert server.finished
    assert [o.result for o in pushed.outcomes] == ["created"]
    assert [r[0] + " " + r[1].split("?")[0] for r in server.requests][-1].endswith("/shipments")


def test_a_transient_failure_stops_the_tracking_export(monkeypatch):
    document = load("tracking_export")
    first = {
        **document["exchanges"][0],
        "status": 503,
        "headers": {"Retry-After": "3"},
        "response": {"message": "busy"},
    }
    with replaying([first], monkeypatch) as (connector, _):
        pushed = connector.export_tracking(updates_of(document))
    assert (pushed.outcomes, pushed.stopped_transient, pushed.stopped_retry_after) == ([], True, 3.0)


# Products -----------------------------------------------------------------------------------


def products_of(document):
    numbers = ("price", "length_mm", "width_mm", "height_mm", "weight_g")
    return [
        ChannelProduct(**{k: decimal_or_none(v) if k in numbers else v for k, v in p.items()})
        for p in document["inputs"]["products"]
    ]


def test_export_products_creates_what_medusa_lacks_updates_what_differs_and_refuses_one_by_one(monkeypatch):
    with recording("products_export", monkeypatch) as (connector, server, document):
        pushed = connector.export_products(products_of(document))
    assert server.finished
    results = {o.key: o.result for o in pushed.outcomes}
    new, twin, changed, same = (p.sku for p in products_of(document))
    assert (results[new], results[twin], results[changed], results[same]) == (
        "created",
        "rejected",
        "updated",
        "unchanged",
    )
    batch_posts = [e for e in document["exchanges"] if e["path"] == "/admin/products/batch"]
    # The batch of two was refused whole, then sent product by product.
    assert [len(e["body"]["create"]) for e in batch_posts] == [2, 1, 1]
    created = batch_posts[1]["body"]["create"][0]
    assert created["handle"] == new.lower() and created["variants"][0]["sku"] == new
    assert created["sales_channels"] and created["shipping_profile_id"]


def test_export_products_again_changes_nothing(monkeypatch):
    with recording("products_export_again", monkeypatch) as (connector, server, document):
        pushed = connector.export_products(products_of(document))
    assert server.finished
    assert not [e for e in document["exchanges"] if e["method"] == "POST" and e["status"] == 200]
    assert {o.result for o in pushed.outcomes} == {"unchanged", "rejected"}


def test_import_products_reads_a_product_per_variant_sku_with_the_store_currencys_price(monkeypatch):
    with recording("products_import", monkeypatch) as (connector, server, document):
        fetched = connector.import_products()
    assert server.finished
    variants = {v["sku"]: v for p in answered(document, "products") for v in p["variants"] if v.get("sku")}
    assert {p.sku for p in fetched.items} == set(variants)
    for product in fetched.items:
        assert product.external_id == variants[product.sku]["id"]
        assert product.price == decimal_or_none(variants[product.sku]["prices"][0]["amount"])
    assert fetched.cursor == iso(newest(answered(document, "products")))


def test_import_products_by_id_reads_those_products(monkeypatch):
    with recording("products_import_by_ids", monkeypatch) as (connector, server, document):
        fetched = connector.import_products(ids=document["inputs"]["ids"])
    assert server.finished and fetched.cursor is None
    assert [p.sku for p in fetched.items] == [
        v["sku"] for p in answered(document, "products") for v in p["variants"]
    ]


# Webhooks -----------------------------------------------------------------------------------


def test_a_plugin_event_names_its_topic_and_ids():
    notice = MedusaConnector.parse_webhook(
        {"id": "evt_1", "topic": "order.placed", "entity_ids": ["order_1"]}
    )
    assert (notice.event_id, notice.topic, notice.entity_ids) == ("evt_1", "order.placed", ("order_1",))
    assert MedusaConnector.topic_job_types[notice.topic] == (JobType.IMPORT_ORDERS,)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"id": "evt_1"},
        {"id": "evt_1", "topic": "order.placed"},
        {"id": 1, "topic": "x", "entity_ids": []},
        {"id": "evt_1", "topic": "order.placed", "entity_ids": [3]},
    ],
)
def test_a_body_that_is_not_a_plugin_event_is_refused(payload):
    with pytest.raises(ConnectorProtocolError):
        MedusaConnector.parse_webhook(payload)


# Through the engine -------------------------------------------------------------------------


@pytest.fixture
def channel(world):
    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Medusa shop",
        platform="medusa",
        credentials={"base_url": "http://127.0.0.1:9", "api_key": KEY},
    )


def run(channel, http) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=JobType.IMPORT_ORDERS, trigger=Trigger.MANUAL
    )
    return run_job(job_run, http=http)


@pytest.mark.django_db
def test_import_orders_stores_the_orders_and_the_cursor_and_a_failed_read_keeps_it(channel, monkeypatch):
    document = load("orders_exact_page_boundary")
    SyncCursor.objects.create(
        channel=channel, job_type=JobType.IMPORT_ORDERS, position=document["inputs"]["since"]
    )
    with replaying(document["exchanges"], monkeypatch, document["inputs"]["page_size"]) as (
        connector,
        server,
    ):
        first = run(channel, connector.http)
    assert server.finished
    assert first.counts["imported"] == len(document["inputs"]["placed"])
    assert set(SalesOrder.objects.filter(channel=channel).values_list("external_id", flat=True)) == set(
        document["inputs"]["placed"]
    )
    cursor = SyncCursor.objects.get(channel=channel).position
    assert cursor == iso(newest(answered(document, "orders")))

    limited = {**load("orders_rate_limited")["exchanges"][0], "any_query": True}
    with replaying([limited], monkeypatch, document["inputs"]["page_size"]) as (connector, server):
        failed = run(channel, connector.http)
    assert server.finished
    assert failed.status == RunStatus.FAILED
    assert SyncCursor.objects.get(channel=channel).position == cursor


@pytest.mark.django_db
def test_a_read_that_fails_part_way_keeps_the_pages_stored_and_the_next_run_brings_the_rest_once(
    channel, monkeypatch
):
    document = load("orders_exact_page_boundary")
    SyncCursor.objects.create(
        channel=channel, job_type=JobType.IMPORT_ORDERS, position=document["inputs"]["since"]
    )
    limited = load("orders_rate_limited")["exchanges"][0]
    third = {**document["exchanges"][2], **{k: limited[k] for k in ("status", "headers", "response")}}
    with replaying([*document["exchanges"][:2], third], monkeypatch, document["inputs"]["page_size"]) as (
        connector,
        server,
    ):
        failed = run(channel, connector.http)
    assert server.finished and failed.status == RunStatus.FAILED
    first_pages = [row for e in document["exchanges"][:2] for row in e["response"]["orders"]]
    stored = set(SalesOrder.objects.filter(channel=channel).values_list("external_id", flat=True))
    assert stored == {row["id"] for row in first_pages} and failed.counts["imported"] == len(stored)
    # The cursor went as far as the stored pages, no further.
    assert SyncCursor.objects.get(channel=channel).position == iso(newest(first_pages))

    # The next run starts a second before that position: Medusa answers the last stored
    # page again (known, nothing stored twice), then the rest.
    again = [{**exchange, "any_query": True} for exchange in document["exchanges"][1:]]
    with replaying(again, monkeypatch, document["inputs"]["page_size"]) as (connector, server):
        second = run(channel, connector.http)
    assert server.finished and second.status != RunStatus.FAILED
    assert second.counts["imported"] == len(document["inputs"]["placed"]) - len(stored)
    assert second.counts["already_imported"] == len(document["exchanges"][1]["response"]["orders"])
    assert SalesOrder.objects.filter(channel=channel).count() == len(document["inputs"]["placed"])
    assert SyncCursor.objects.get(channel=channel).position == iso(newest(answered(document, "orders")))
