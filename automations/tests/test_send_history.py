"""Send Orders / Send Purchase Orders, whoever starts them (a schedule, a webhook, a person's
sync): each order's history says what sent or held it, and an order cancelled while the
request was on its way stays cancelled."""

import pytest

from automations.jobs.runner import run_job
from automations.models import JobRun, Trigger
from automations.workflows import process_sales_orders
from channels.connectors.sandbox_3pl import Sandbox3PLConnector
from channels.platforms import JobType
from orders.models import (
    EventAction,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    SalesOrder,
    SalesOrderStatus,
)
from orders.workflow import Actor, cancel_sales_order

from .test_jobs import run, workflows_on

pytestmark = pytest.mark.django_db


def send(linked, job_type, trigger=Trigger.SCHEDULE, person=None) -> JobRun:
    job_run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.threepl,
        job_type=job_type,
        trigger=trigger,
        requested_by=person,
    )
    return run_job(job_run)


def imported_order(linked, **kwargs) -> SalesOrder:
    linked.place_order(**kwargs)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    return SalesOrder.objects.get()


def history(order) -> list[tuple[str, str]]:
    return [(e.action, e.actor_name) for e in order.events.order_by("pk")]


def test_a_scheduled_send_is_in_the_order_history(linked):
    workflows_on(linked)
    order = imported_order(linked)
    job_run = send(linked, JobType.SEND_ORDERS)
    assert job_run.counts == {"sent": 1}
    event = order.events.get(action=EventAction.SENT)
    assert event.actor_name == "Send Orders job (Schedule)" and event.actor is None
    order.refresh_from_db()
    assert event.detail == (
        f"Sent to {linked.threepl.name} as {order.fulfillment_external_id} (job run {job_run.pk})."
    )


def test_a_send_a_person_started_names_the_person(linked):
    workflows_on(linked)
    order = imported_order(linked)
    person = linked.world.account_admin
    send(linked, JobType.SEND_ORDERS, Trigger.MANUAL, person)
    event = order.events.get(action=EventAction.SENT)
    assert (event.actor, event.actor_name) == (person, person.email)


def test_an_order_the_job_holds_says_why(linked):
    workflows_on(linked)
    order = SalesOrder.objects.create(
        account=linked.world.acme_us, source="manual", number="M-7", ordered_at="2026-01-01T00:00Z"
    )
    order.lines.create(line_number=1, sku="NOPE", quantity=1)
    send(linked, JobType.SEND_ORDERS, Trigger.WEBHOOK)
    event = order.events.get(action=EventAction.HELD)
    assert event.actor_name == "Send Orders job (Webhook)"
    assert event.detail.startswith("Unknown SKU NOPE")


def test_the_workflow_writes_its_sends_once(linked):
    order = imported_order(linked)
    person = linked.world.account_admin
    process_sales_orders(linked.world.acme_us, [order.pk], Actor(person.email, person))
    assert [a for a, _ in history(order) if a == EventAction.SENT] == [EventAction.SENT]


def test_an_order_cancelled_while_the_warehouse_receives_it_stays_cancelled(linked, monkeypatch):
    order = imported_order(linked, quantity=2)
    person = linked.world.account_admin
    actor = Actor(person.email, person)
    # Allocated by a person; the scheduled send reads it, then the person cancels it
    # while the request is on its way to the warehouse.
    SalesOrder.objects.filter(pk=order.pk).update(status=SalesOrderStatus.ALLOCATED)
    real_send = Sandbox3PLConnector.send_orders

    def cancelled_meanwhile(self, requests):
        cancel_sales_order(order, actor, "Customer called")
        return real_send(self, requests)

    monkeypatch.setattr(Sandbox3PLConnector, "send_orders", cancelled_meanwhile)
    job_run = send(linked, JobType.SEND_ORDERS)
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.CANCELLED
    assert "sent" not in job_run.counts
    assert job_run.messages == [
        f"Order {order.number} was cancelled while {linked.threepl.name} received it "
        f"(as {next(iter(linked.shop('tpl')['orders'].values()))['id']}): cancel it there too."
    ]
    assert EventAction.SENT not in [a for a, _ in history(order)]


def test_a_scheduled_purchase_order_send_is_in_its_history(linked):
    workflows_on(linked)
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number="PO-5", warehouse=linked.world.warehouses["ACME-US-2"]
    )
    PurchaseOrderLine.objects.create(
        purchase_order=po, line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=3
    )
    job_run = send(linked, JobType.SEND_PURCHASE_ORDERS)
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT
    event = po.events.get(action=EventAction.SENT)
    assert event.actor_name == "Send Purchase Orders job (Schedule)"
    assert (
        event.detail
        == f"Sent to {linked.threepl.name} as {po.fulfillment_external_id} (job run {job_run.pk})."
    )
