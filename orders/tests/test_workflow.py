"""The order workflows end to end through the sandbox: an order arrives (API, import,
manual), the Automatic Sales Order Workflow validates, allocates and sends it to the
sandbox 3PL, or leaves it Pending for a person; purchase orders likewise."""

import os
import time

import pytest

from accounts.models import Account
from automations.models import JobRun
from automations.tests.test_jobs import run
from catalog.models import InventoryLevel, Product
from channels.platforms import JobType
from orders.models import PurchaseOrder, SalesOrder
from orders.services import create_sales_order

pytestmark = pytest.mark.django_db

ADDRESS = {
    "customer_name": "Ann Lee",
    "customer_email": "ann@example.com",
    "ship_address1": "1 Main St",
    "ship_city": "Newark",
    "ship_postal_code": "07102",
    "ship_country": "US",
}


def order_data(number="API-1", sku="SKU-1", quantity=3, **extra):
    return {"number": number, **ADDRESS, "lines": [{"sku": sku, "quantity": quantity}], **extra}


def switch(account, **settings):
    # update(): the workflow settings alone, without the account's save side effects.
    Account.objects.filter(pk=account.pk).update(**settings)


def level(linked, sku="SKU-1", code="ACME-US-1"):
    return InventoryLevel.objects.get(product=linked.products[sku], warehouse=linked.world.warehouses[code])


def tpl_orders(linked) -> dict:
    return {o["reference"]: o for o in linked.shop("tpl")["orders"].values()}


def history(order) -> list[tuple[str, str]]:
    return [(e.action, e.actor_name) for e in order.events.all()]


def post_order(api, linked, capture, **data):
    with capture(execute=True):
        response = api(linked.world.acme_us).post(
            "/api/v1/sales-orders/", order_data(**data), content_type="application/json"
        )
    assert response.status_code == 201, response.json()
    return SalesOrder.objects.get(pk=response.json()["id"])


def test_on_an_api_order_reaches_the_3pl_with_its_stock_reserved(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    order = post_order(api, linked, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert (order.status, order.hold_reason, order.fulfillment_channel) == ("sent", "", linked.threepl)
    sent = tpl_orders(linked)[order.reference]
    assert (sent["location"], sent["lines"]) == ("NJ1", [{"sku": "SKU-1", "quantity": 3}])
    assert (level(linked).on_hand, level(linked).reserved) == (10, 3)
    workflow = "Automatic Sales Order Workflow"
    assert history(order) == [("validated", workflow), ("allocated", workflow), ("sent", workflow)]
    detail = api(linked.world.acme_us).get(f"/api/v1/sales-orders/{order.pk}/").json()
    assert [h["action"] for h in detail["history"]] == ["validated", "allocated", "sent"]
    assert "Reserved SKU-1 × 3 at WH1" in detail["history"][1]["detail"]


def test_on_an_imported_order_is_sent_and_its_shipment_releases_the_reservation(
    linked, eager_celery, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    linked.place_order(quantity=2)
    with django_capture_on_commit_callbacks(execute=True):
        run(linked.marketplace, JobType.IMPORT_ORDERS)
    order = SalesOrder.objects.get()
    assert order.status == "sent" and order.reference in tpl_orders(linked)
    assert level(linked).reserved == 2
    # The sandbox 3PL ships what it has at once; receiving the shipment frees the units.
    run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    order.refresh_from_db()
    assert order.status == "shipped"
    assert (level(linked).on_hand, level(linked).reserved) == (8, 0)


def test_off_orders_wait_in_pending_and_nothing_is_sent(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    order = post_order(api, linked, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == "pending" and tpl_orders(linked) == {}
    assert history(order) == [("waiting", "Automatic Sales Order Workflow")]
    assert "waits in Pending until someone processes it" in order.events.get().detail
    assert not JobRun.objects.filter(job_type=JobType.SEND_ORDERS).exists()
    assert level(linked).reserved == 0


def test_off_imported_orders_say_they_wait_and_an_inactive_accounts_say_nothing(
    linked, eager_celery, django_capture_on_commit_callbacks
):
    linked.place_order(quantity=1)
    with django_capture_on_commit_callbacks(execute=True):
        run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert history(SalesOrder.objects.get()) == [("waiting", "Automatic Sales Order Workflow")]
    switch(linked.world.acme_us, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        order = create_sales_order(linked.world.acme_us, order_data("INACTIVE"), source="manual")
    assert not order.events.exists()


def test_insufficient_stock_holds_the_order_with_the_reason_and_reserves_nothing(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    order = post_order(api, linked, django_capture_on_commit_callbacks, quantity=11)
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.hold_reason == "Insufficient stock at WH1: SKU-1 needs 11, 10 available."
    assert level(linked).reserved == 0 and tpl_orders(linked) == {}
    assert [a for a, _ in history(order)] == ["validated", "held"]


def test_incomplete_orders_are_held_naming_what_is_missing(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    order = post_order(
        api, linked, django_capture_on_commit_callbacks, sku="NOPE", ship_address1="", ship_city=""
    )
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert "Unknown SKU NOPE" in order.hold_reason
    assert "Shipping address incomplete: no address, city." in order.hold_reason
    assert history(order) == [("held", "Automatic Sales Order Workflow")]


def test_the_3pl_refusing_holds_the_order_and_frees_its_stock(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    # Known to the portal, unknown to the 3PL: the sandbox refuses the order (422).
    product = Product.objects.create(account=linked.world.acme_us, sku="SKU-3", name="New")
    wh1 = linked.world.warehouses["ACME-US-1"]
    InventoryLevel.objects.create(product=product, warehouse=wh1, on_hand=5)
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    order = post_order(api, linked, django_capture_on_commit_callbacks, sku="SKU-3", quantity=1)
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.hold_reason.startswith("3PL refused the order:") and "SKU-3" in order.hold_reason
    assert InventoryLevel.objects.get(product=product, warehouse=wh1).reserved == 0
    assert [a for a, _ in history(order)] == ["validated", "allocated", "held", "released"]
    assert order.lines.get().quantity_reserved == 0


def test_bulk_processing_from_the_orders_page_sends_them_in_one_run(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    account = linked.world.acme_us
    orders = [create_sales_order(account, order_data(f"M-{n}", quantity=2), source="manual") for n in (1, 2)]
    client = client_for(linked.world.account_admin, account)
    listing = client.get("/sales-orders/").content.decode()
    assert 'data-testid="process-selected"' in listing and f'value="{orders[0].pk}"' in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sales-orders/process/", {"order": [o.pk for o in orders]})
    assert response.status_code == 302
    for order in orders:
        order.refresh_from_db()
        assert order.status == "sent" and order.reference in tpl_orders(linked)
        assert history(order)[-1] == ("sent", linked.world.account_admin.email)
    assert JobRun.objects.get(job_type=JobType.SEND_ORDERS).counts == {"sent": 2}
    assert level(linked).reserved == 4
    page = client.get(f"/sales-orders/{orders[0].pk}/").content.decode()
    assert "Reserved SKU-1 × 2 at WH1." in page and linked.world.account_admin.email in page


def test_a_held_order_is_processed_again_once_stock_arrives(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    order = create_sales_order(linked.world.acme_us, order_data(quantity=12), source="manual")
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sales-orders/process/", {"order": [order.pk], "next": "detail"})
    order.refresh_from_db()
    assert order.status == "on_hold"
    InventoryLevel.objects.filter(pk=level(linked).pk).update(on_hand=20)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sales-orders/process/", {"order": [order.pk], "next": "detail"})
    order.refresh_from_db()
    assert (order.status, order.hold_reason, level(linked).reserved) == ("sent", "", 12)


def test_account_users_cannot_process_and_other_accounts_orders_are_404(linked, client_for, api):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    reader = client_for(linked.world.account_user, linked.world.acme_us)
    assert 'data-testid="process-selected"' not in reader.get("/sales-orders/").content.decode()
    assert reader.post("/sales-orders/process/", {"order": [order.pk]}).status_code == 403
    other = client_for(linked.world.org_admin, linked.world.acme_eu)
    assert other.post("/sales-orders/process/", {"order": [order.pk]}).status_code == 404
    outsider = api(linked.world.globex_jp)
    assert outsider.post(f"/api/v1/sales-orders/{order.pk}/process/").status_code == 404
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number="PO-X", warehouse=linked.world.warehouses["ACME-US-1"]
    )
    assert outsider.post(f"/api/v1/purchase-orders/{po.pk}/send/").status_code == 404
    order.refresh_from_db()
    assert order.status == "pending" and not order.events.exists()


def test_api_process_action_queues_the_order_and_refuses_a_sent_one(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    client = api(linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/sales-orders/{order.pk}/process/").status_code == 202
    order.refresh_from_db()
    assert order.status == "sent" and history(order)[-1] == ("sent", "API")
    assert client.post(f"/api/v1/sales-orders/{order.pk}/process/").status_code == 409


# Purchase orders ------------------------------------------------------------------------------

PO = {"number": "PO-1", "supplier": "Acme Supply", "lines": [{"sku": "SKU-2", "quantity": 7}]}


def post_po(api, linked, capture):
    with capture(execute=True):
        response = api(linked.world.acme_us).post(
            "/api/v1/purchase-orders/",
            {**PO, "warehouse": linked.world.warehouses["ACME-US-2"].pk},
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()
    return PurchaseOrder.objects.get(pk=response.json()["id"])


def tpl_pos(linked) -> dict:
    return {p["reference"]: p for p in linked.shop("tpl")["purchase_orders"].values()}


def test_po_workflow_on_sends_a_new_purchase_order_to_the_3pl(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_purchase_order_workflow=True)
    po = post_po(api, linked, django_capture_on_commit_callbacks)
    po.refresh_from_db()
    assert (po.status, po.fulfillment_channel) == ("sent", linked.threepl)
    sent = tpl_pos(linked)[po.reference]
    assert (sent["location"], sent["lines"]) == ("NV1", [{"sku": "SKU-2", "quantity": 7}])
    assert [(e.action, e.actor_name) for e in po.events.all()] == [
        ("sent", "Automatic Purchase Order Workflow")
    ]


def test_po_workflow_off_waits_until_sent_through_the_api(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    po = post_po(api, linked, django_capture_on_commit_callbacks)
    po.refresh_from_db()
    assert po.status == "open" and tpl_pos(linked) == {}
    client = api(linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/purchase-orders/{po.pk}/send/").status_code == 202
    po.refresh_from_db()
    assert po.status == "sent" and po.reference in tpl_pos(linked)
    detail = client.get(f"/api/v1/purchase-orders/{po.pk}/").json()
    assert [(h["action"], h["actor_name"]) for h in detail["history"]] == [
        ("waiting", "Automatic Purchase Order Workflow"),
        ("sent", "API"),
    ]
    assert client.post(f"/api/v1/purchase-orders/{po.pk}/send/").status_code == 409


def test_po_refused_by_the_3pl_stays_open_and_says_why(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    Product.objects.create(account=linked.world.acme_us, sku="SKU-9", name="Unknown to the 3PL")
    switch(linked.world.acme_us, auto_purchase_order_workflow=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(linked.world.acme_us).post(
            "/api/v1/purchase-orders/",
            {
                "number": "PO-9",
                "warehouse": linked.world.warehouses["ACME-US-1"].pk,
                "lines": [{"sku": "SKU-9", "quantity": 1}],
            },
            content_type="application/json",
        )
    po = PurchaseOrder.objects.get(pk=response.json()["id"])
    assert po.status == "open"
    event = po.events.get()
    assert event.action == "not_sent" and "SKU-9" in event.detail


# A real worker --------------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (REDIS_URL)")
@pytest.mark.django_db(transaction=True)
def test_workflow_on_sends_an_api_order_through_a_real_worker(linked, api):
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    # Threads, not solo: the solo pool closes the test's own database connection (Celery's
    # Django fixup on worker_process_init).
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["jobs"]):
        response = api(linked.world.acme_us).post(
            "/api/v1/sales-orders/", order_data(), content_type="application/json"
        )
        assert response.status_code == 201
        order = SalesOrder.objects.get(pk=response.json()["id"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and order.status in ("pending", "allocated"):
            time.sleep(0.1)
            order.refresh_from_db()
    assert order.status == "sent" and order.reference in tpl_orders(linked)
    assert level(linked).reserved == 3
