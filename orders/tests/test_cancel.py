"""Cancelling orders: a sales order still in the portal's hands gives its reservation back
(ledger, history, real-time push to the marketplace); a sent one is cancelled at its
fulfillment channel first when the channel can (Tryton, not yet picked), otherwise it is
refused with the reason, like a sent purchase order."""

import pytest

from automations import workflows
from automations.tests.test_jobs import run
from catalog.models import InventoryAdjustment
from channels.connectors.base import ConnectorUnavailable
from channels.connectors.tryton import TrytonConnector
from channels.crypto import encrypt_json
from channels.models import Channel
from channels.platforms import JobType
from orders import workflow
from orders.models import PurchaseOrder, SalesOrder
from orders.services import create_sales_order
from orders.tests.test_workflow import history, level, order_data, switch, tpl_orders, tpl_pos

pytestmark = pytest.mark.django_db


class WorkerLost(Exception):
    pass


def allocated_order(linked, capture, monkeypatch, quantity=3) -> SalesOrder:
    """An order processed up to its allocation, whose worker died before the send: the
    one state in which a cancellable order holds stock reserved."""

    def die(*args, **kwargs):
        raise WorkerLost

    order = create_sales_order(linked.world.acme_us, order_data(quantity=quantity), source="manual")
    with monkeypatch.context() as patch:
        patch.setattr(workflows, "_send_run", die)
        with capture(execute=True), pytest.raises(WorkerLost):
            workflows.process_sales_orders(
                linked.world.acme_us, [order.pk], workflow.automatic_workflow(workflow.SO_WORKFLOW)
            )
    order.refresh_from_db()
    assert order.status == "allocated" and level(linked).reserved == quantity
    return order


def sent_order(linked, capture) -> SalesOrder:
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    with capture(execute=True):
        order = create_sales_order(linked.world.acme_us, order_data(quantity=3), source="manual")
    order.refresh_from_db()
    assert order.status == "sent"
    return order


def test_cancelling_an_allocated_order_gives_its_units_back_and_pushes_them(
    linked, eager_celery, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    order = allocated_order(linked, django_capture_on_commit_callbacks, monkeypatch)
    # Real-time updates (on by default) told the marketplace 10 − 3.
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 7
    admin = linked.world.account_admin
    client = client_for(admin, linked.world.acme_us)
    assert 'data-testid="cancel-order"' in client.get(f"/sales-orders/{order.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/sales-orders/{order.pk}/cancel/", {"reason": "Customer changed their mind"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled" and order.lines.get().quantity_reserved == 0
    assert (level(linked).on_hand, level(linked).reserved) == (10, 0)
    release = InventoryAdjustment.objects.filter(product=linked.products["SKU-1"]).latest("pk")
    assert (release.quantity, release.reserved_quantity, release.actor) == (0, -3, admin)
    assert history(order)[-2:] == [("released", admin.email), ("cancelled", admin.email)]
    assert order.events.last().detail == "Customer changed their mind"
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 10
    page = client.get(f"/sales-orders/{order.pk}/").content.decode()
    assert "is cancelled" in page and "Released SKU-1 × 3 at WH1." in page
    assert 'data-testid="cancel-order"' not in page and 'data-testid="process-order"' not in page


def test_cancelling_a_pending_order_touches_no_stock(linked, client_for):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    client.post(f"/sales-orders/{order.pk}/cancel/")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert history(order) == [("cancelled", linked.world.account_admin.email)]
    assert order.events.get().detail == "Cancelled; no reason given."
    assert not InventoryAdjustment.objects.exclude(reason="cycle_count").exists()


def test_a_cancelled_order_is_neither_processed_nor_sent_later(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    workflow.cancel_sales_order(order, workflow.Actor("API"))
    counts = workflows.process_sales_orders(
        linked.world.acme_us, [order.pk], workflow.Actor("admin", linked.world.account_admin)
    )
    assert counts == {"skipped": 1}
    run(linked.threepl, JobType.SEND_ORDERS)
    order.refresh_from_db()
    assert order.status == "cancelled" and tpl_orders(linked) == {}


def test_an_order_cancelled_while_its_send_is_on_its_way_stays_cancelled(
    linked, eager_celery, monkeypatch, django_capture_on_commit_callbacks
):
    order = create_sales_order(linked.world.acme_us, order_data(quantity=3), source="manual")
    real_send_run = workflows._send_run

    def cancel_first(*args):
        # Someone cancels after the allocation committed, before Send Orders reads the order.
        workflow.cancel_sales_order(order, workflow.Actor("admin", linked.world.account_admin))
        return real_send_run(*args)

    monkeypatch.setattr(workflows, "_send_run", cancel_first)
    with django_capture_on_commit_callbacks(execute=True):
        counts = workflows.process_sales_orders(
            linked.world.acme_us, [order.pk], workflow.automatic_workflow(workflow.SO_WORKFLOW)
        )
    assert counts == {"cancelled": 1}
    order.refresh_from_db()
    assert order.status == "cancelled" and tpl_orders(linked) == {}
    assert [a for a, _ in history(order)] == ["validated", "allocated", "released", "cancelled"]
    assert level(linked).reserved == 0


def test_a_sent_order_is_not_cancelled_and_keeps_its_reservation(
    linked, eager_celery, client_for, api, django_capture_on_commit_callbacks
):
    order = sent_order(linked, django_capture_on_commit_callbacks)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert 'data-testid="cancel-order"' not in client.get(f"/sales-orders/{order.pk}/").content.decode()
    page = client.post(f"/sales-orders/{order.pk}/cancel/", follow=True).content.decode()
    assert "was sent to 3PL, which may already be picking it: only 3PL can stop it now." in page
    response = api(linked.world.acme_us).post(
        f"/api/v1/sales-orders/{order.pk}/cancel/", content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state" and "only 3PL can stop it" in response.json()["message"]
    order.refresh_from_db()
    assert order.status == "sent" and level(linked).reserved == 3
    assert [a for a, _ in history(order)] == ["validated", "allocated", "sent"]


def test_api_cancel_names_the_api_and_checks_the_reason(
    linked, eager_celery, api, monkeypatch, django_capture_on_commit_callbacks
):
    order = allocated_order(linked, django_capture_on_commit_callbacks, monkeypatch)
    client = api(linked.world.acme_us)
    url = f"/api/v1/sales-orders/{order.pk}/cancel/"
    too_long = client.post(url, {"reason": "x" * 256}, content_type="application/json")
    assert too_long.status_code == 400 and "reason" in too_long.json()["errors"]
    order.refresh_from_db()
    assert order.status == "allocated" and level(linked).reserved == 3
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Fraud check"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert [(h["action"], h["actor_name"]) for h in response.json()["history"]][-2:] == [
        ("released", "API"),
        ("cancelled", "API"),
    ]
    assert level(linked).reserved == 0
    assert client.post(url, content_type="application/json").status_code == 409


def test_a_too_long_reason_on_the_page_is_an_error_and_nothing_changes(linked, client_for):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    page = client.post(f"/sales-orders/{order.pk}/cancel/", {"reason": "x" * 300}, follow=True)
    assert "Enter at most 255 characters (300 given)." in page.content.decode()
    order.refresh_from_db()
    assert order.status == "pending" and not order.events.exists()


def test_account_users_cannot_cancel_and_other_tenants_get_404(linked, client_for, api):
    order = create_sales_order(linked.world.acme_us, order_data(), source="manual")
    reader = client_for(linked.world.account_user, linked.world.acme_us)
    assert 'data-testid="cancel-order"' not in reader.get(f"/sales-orders/{order.pk}/").content.decode()
    assert reader.post(f"/sales-orders/{order.pk}/cancel/").status_code == 403
    other = client_for(linked.world.org_admin, linked.world.acme_eu)
    assert other.post(f"/sales-orders/{order.pk}/cancel/").status_code == 404
    assert api(linked.world.globex_jp).post(f"/api/v1/sales-orders/{order.pk}/cancel/").status_code == 404
    order.refresh_from_db()
    assert order.status == "pending" and not order.events.exists()


# Purchase orders ------------------------------------------------------------------------------


def open_po(linked, number="PO-1") -> PurchaseOrder:
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number=number, warehouse=linked.world.warehouses["ACME-US-2"]
    )
    po.lines.create(line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=7)
    return po


def test_an_open_purchase_order_is_cancelled_and_never_sent(linked, client_for):
    po = open_po(linked)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert 'data-testid="cancel-po"' in client.get(f"/purchase-orders/{po.pk}/").content.decode()
    client.post(f"/purchase-orders/{po.pk}/cancel/", {"reason": "Supplier out of business"})
    po.refresh_from_db()
    assert po.status == "cancelled"
    assert [(e.action, e.actor_name, e.detail) for e in po.events.all()] == [
        ("cancelled", linked.world.account_admin.email, "Supplier out of business")
    ]
    run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    assert tpl_pos(linked) == {}


def test_a_sent_purchase_order_is_not_cancelled(
    linked, eager_celery, client_for, api, django_capture_on_commit_callbacks
):
    po = open_po(linked)
    workflows.send_purchase_orders(linked.world.acme_us, [po.pk], workflow.Actor("API"))
    po.refresh_from_db()
    assert po.status == "sent"
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert 'data-testid="cancel-po"' not in client.get(f"/purchase-orders/{po.pk}/").content.decode()
    page = client.post(f"/purchase-orders/{po.pk}/cancel/", follow=True).content.decode()
    assert "was sent to 3PL, which expects the goods: only 3PL can cancel it now." in page
    response = api(linked.world.acme_us).post(
        f"/api/v1/purchase-orders/{po.pk}/cancel/", content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    po.refresh_from_db()
    assert po.status == "sent" and [e.action for e in po.events.all()] == ["sent"]


# Sent orders a fulfillment channel can still cancel (Tryton) ---------------------------------


def sent_to_tryton(linked, capture, monkeypatch, answer) -> SalesOrder:
    """A sent order whose fulfillment channel is a Tryton channel, whose connector answers
    `answer` (True, False or an exception) when asked to cancel; the calls are recorded."""
    order = sent_order(linked, capture)
    tryton = Channel.objects.create(
        account=linked.world.acme_us,
        name="Tryton WH",
        kind="fulfillment",
        platform="tryton",
        credentials_encrypted=encrypt_json(
            {"url": "http://127.0.0.1:9", "database": "wh", "user": "admin", "password": "secret"}
        ),
    )
    SalesOrder.objects.filter(pk=order.pk).update(fulfillment_channel=tryton, fulfillment_external_id="41")
    calls = []

    def cancel_fulfillment(connector, reference, external_id):
        calls.append((reference, external_id))
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(TrytonConnector, "cancel_fulfillment", cancel_fulfillment)
    order.refresh_from_db()
    order.calls = calls
    return order


def test_a_sent_order_not_yet_picked_is_cancelled_at_tryton_then_here(
    linked, eager_celery, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    order = sent_to_tryton(linked, django_capture_on_commit_callbacks, monkeypatch, True)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert 'data-testid="cancel-order"' in client.get(f"/sales-orders/{order.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/sales-orders/{order.pk}/cancel/", {"reason": "Duplicate"}, follow=True)
    assert order.calls == [(order.reference, "41")]
    order.refresh_from_db()
    assert order.status == "cancelled" and level(linked).reserved == 0
    assert order.events.last().detail == "Cancelled at Tryton WH (shipment 41) and here: Duplicate"
    assert "Cancelled at Tryton WH (shipment 41) and here" in page.content.decode()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (False, "Tryton WH already picked order {number} (shipment 41): it can no longer be cancelled"),
        (
            ConnectorUnavailable("Tryton is down."),
            "Tryton WH could not cancel order {number}: Tryton is down.",
        ),
    ],
)
def test_a_sent_order_tryton_picked_or_could_not_answer_for_stays_sent(
    linked, eager_celery, api, monkeypatch, django_capture_on_commit_callbacks, answer, said
):
    order = sent_to_tryton(linked, django_capture_on_commit_callbacks, monkeypatch, answer)
    response = api(linked.world.acme_us).post(
        f"/api/v1/sales-orders/{order.pk}/cancel/", content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert said.format(number=order.number) in response.json()["message"]
    order.refresh_from_db()
    assert order.status == "sent" and level(linked).reserved == 3
    assert [a for a, _ in history(order)] == ["validated", "allocated", "sent"]


def test_an_order_shipped_while_tryton_cancelled_it_is_not_cancelled_here(
    linked, eager_celery, monkeypatch, django_capture_on_commit_callbacks
):
    order = sent_to_tryton(linked, django_capture_on_commit_callbacks, monkeypatch, True)
    real = TrytonConnector.cancel_fulfillment

    def shipped_meanwhile(connector, reference, external_id):
        SalesOrder.objects.filter(pk=order.pk).update(status="shipped")
        return real(connector, reference, external_id)

    monkeypatch.setattr(TrytonConnector, "cancel_fulfillment", shipped_meanwhile)
    with pytest.raises(workflow.WorkflowConflict, match="became Shipped here meanwhile"):
        workflow.cancel_sales_order(order, workflow.Actor("API"))
    order.refresh_from_db()
    assert order.status == "shipped"
