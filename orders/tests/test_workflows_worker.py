"""The order workflows and PII retention end to end through a real Celery worker (queue
`jobs`, Redis broker) and the sandbox channels over HTTP: each workflow on and off, the
scheduled channel jobs and the daily PII job dispatched from their schedule rows by the
dispatcher's own publishing path. CI sets REDIS_URL; without it these tests are skipped."""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import update_account_settings
from automations.dispatcher import dispatch_due
from automations.models import FINISHED_STATUSES, JobRun, RunStatus, ScheduleEntry, SystemJobType, Trigger
from automations.services import request_sync, save_recurring_jobs
from automations.tasks import execute_run
from catalog.models import InventoryLevel
from channels.platforms import JobType
from orders.models import PII_FIELDS, PurchaseOrder, Receipt, SalesOrder, SalesOrderEvent
from orders.retention import REDACTED
from orders.services import create_sales_order
from orders.tests.test_workflow import PO, history, level, order_data, tpl_orders, tpl_pos
from orders.workflow import PO_WORKFLOW, SO_WORKFLOW

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]

# Each step takes well under a second; the deadline only bounds a hung worker. Waits end on
# the last thing a step writes (the history event after a send), not on a status it sets
# earlier.
SETTLE = 20.0


@pytest.fixture
def worker(world):
    """A worker thread consuming the jobs queue, emptied first: earlier tests (and the
    fixtures asked for before it) leave messages there, webhook registrations and runs,
    that must not run against this world."""
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("jobs")
    # Threads, not solo: the solo pool closes the test's own database connection (Celery's
    # Django fixup on worker_process_init).
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["jobs"]):
        yield


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SETTLE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finished(runs) -> JobRun:
    """The only run of `runs`, once the worker has finished it."""
    wait_for(lambda: runs.filter(status__in=FINISHED_STATUSES).exists(), f"a finished run of {runs.query}")
    return runs.get()


def on_schedule(actor, account, job_type: str) -> None:
    """Switch the stable job on in the Recurring Jobs tab (each hour, no delay)."""
    save_recurring_jobs(actor, account, {job_type: {"enabled": True, "period_minutes": 60}}, None)


def dispatch_now(account, job_type: str) -> int:
    """Make the account's schedule row of the job due, as its window opening would, and
    run the dispatcher over it with its real publishing path: runs enqueued."""
    made_due = ScheduleEntry.objects.filter(account=account, job_type=job_type).update(
        next_run_at=timezone.now() - timedelta(seconds=1)
    )
    assert made_due == 1
    return dispatch_due()


def settings_change(world, **changes) -> None:
    """A Main-tab change by the organization administrator, through the settings service."""
    update_account_settings(world.org_admin, world.acme_us, changes, None)


# Automatic Sales Order Workflow off ----------------------------------------------------------


def test_workflow_off_orders_wait_through_a_scheduled_send_until_a_person_processes_them(
    linked, api, client_for, worker
):
    account, admin = linked.world.acme_us, linked.world.account_admin
    response = api(account).post("/api/v1/sales-orders/", order_data(), content_type="application/json")
    assert response.status_code == 201
    linked.place_order(quantity=2)
    imported = finished(
        JobRun.objects.filter(pk=request_sync(admin, linked.marketplace, JobType.IMPORT_ORDERS).pk)
    )
    assert (imported.status, imported.counts) == (RunStatus.SUCCESS, {"imported": 1})
    orders = list(SalesOrder.objects.order_by("pk"))
    assert [(o.source, o.status) for o in orders] == [("api", "pending"), ("channel", "pending")]
    for order in orders:
        assert history(order) == [("waiting", SO_WORKFLOW)]

    on_schedule(admin, account, JobType.SEND_ORDERS)
    assert dispatch_now(account, JobType.SEND_ORDERS) == 1
    scheduled = finished(JobRun.objects.filter(job_type=JobType.SEND_ORDERS))
    assert (scheduled.trigger, scheduled.status) == (Trigger.SCHEDULE, RunStatus.SUCCESS)
    assert scheduled.counts == {"waiting_for_a_person": 2}
    assert tpl_orders(linked) == {} and level(linked).reserved == 0
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {"pending"}

    client = client_for(admin, account)
    assert client.post("/sales-orders/process/", {"order": [o.pk for o in orders]}).status_code == 302
    wait_for(lambda: SalesOrderEvent.objects.filter(action="sent").count() == 2, "both sends recorded")
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {"sent"}
    assert set(tpl_orders(linked)) == {o.reference for o in orders}
    for order in orders:
        assert history(order) == [
            ("waiting", SO_WORKFLOW),
            ("validated", admin.email),
            ("allocated", admin.email),
            ("sent", admin.email),
        ]
    sent = JobRun.objects.exclude(pk=scheduled.pk).get(job_type=JobType.SEND_ORDERS)
    assert (sent.trigger, sent.requested_by, sent.counts) == (Trigger.MANUAL, admin, {"sent": 2})
    assert level(linked).reserved == 3 + 2


# Automatic Purchase Order Workflow on and off ------------------------------------------------


def post_po(api, linked) -> PurchaseOrder:
    response = api(linked.world.acme_us).post(
        "/api/v1/purchase-orders/",
        {**PO, "warehouse": linked.world.warehouses["ACME-US-2"].pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    return PurchaseOrder.objects.get(pk=response.json()["id"])


def receive_on_schedule(linked, po: PurchaseOrder) -> None:
    """The sandbox 3PL counted the purchase order in as it arrived; the scheduled Receive
    Receipts run on the worker brings the receipt and its stock into the portal."""
    account, wh2 = linked.world.acme_us, linked.world.warehouses["ACME-US-2"]
    on_schedule(linked.world.account_admin, account, JobType.RECEIVE_RECEIPTS)
    assert dispatch_now(account, JobType.RECEIVE_RECEIPTS) == 1
    run = finished(JobRun.objects.filter(job_type=JobType.RECEIVE_RECEIPTS))
    assert (run.trigger, run.status, run.counts) == (Trigger.SCHEDULE, RunStatus.SUCCESS, {"received": 1})
    po.refresh_from_db()
    assert po.status == "received" and po.lines.get().quantity_received == 7
    assert Receipt.objects.get().purchase_order == po
    stock = InventoryLevel.objects.get(product=linked.products["SKU-2"], warehouse=wh2)
    assert (stock.on_hand, stock.reserved) == (7, 0)


def test_po_workflow_on_the_worker_sends_a_new_purchase_order_and_its_receipt_stocks_the_warehouse(
    linked, api, worker
):
    settings_change(linked.world, auto_purchase_order_workflow=True)
    po = post_po(api, linked)
    wait_for(lambda: po.events.filter(action="sent").exists(), "the purchase order's send recorded")
    po.refresh_from_db()
    assert (po.status, po.fulfillment_channel) == ("sent", linked.threepl)
    sent = tpl_pos(linked)[po.reference]
    assert (sent["location"], sent["lines"]) == ("NV1", [{"sku": "SKU-2", "quantity": 7}])
    assert [(e.action, e.actor_name) for e in po.events.all()] == [("sent", PO_WORKFLOW)]
    run = JobRun.objects.get(job_type=JobType.SEND_PURCHASE_ORDERS)
    assert (run.trigger, run.status, run.counts) == (Trigger.WORKFLOW, RunStatus.SUCCESS, {"sent": 1})

    receive_on_schedule(linked, po)


def test_po_workflow_off_the_purchase_order_waits_open_until_sent_then_its_receipt_stocks_the_warehouse(
    linked, api, worker
):
    account = linked.world.acme_us
    po = post_po(api, linked)
    # The scheduled send runs after anything the new purchase order queued (one thread,
    # first in first out): when it ends, a workflow would already have sent it.
    on_schedule(linked.world.account_admin, account, JobType.SEND_PURCHASE_ORDERS)
    assert dispatch_now(account, JobType.SEND_PURCHASE_ORDERS) == 1
    scheduled = finished(JobRun.objects.filter(job_type=JobType.SEND_PURCHASE_ORDERS))
    assert (scheduled.trigger, scheduled.status) == (Trigger.SCHEDULE, RunStatus.SUCCESS)
    assert scheduled.counts == {"waiting_for_a_person": 1}
    po.refresh_from_db()
    assert (po.status, po.fulfillment_channel) == ("open", None) and tpl_pos(linked) == {}
    assert [(e.action, e.actor_name) for e in po.events.all()] == [("waiting", PO_WORKFLOW)]

    assert api(account).post(f"/api/v1/purchase-orders/{po.pk}/send/").status_code == 202
    wait_for(lambda: po.events.filter(action="sent").exists(), "the purchase order's send recorded")
    po.refresh_from_db()
    assert po.status == "sent" and po.reference in tpl_pos(linked)
    assert [(e.action, e.actor_name) for e in po.events.all()] == [("waiting", PO_WORKFLOW), ("sent", "API")]

    receive_on_schedule(linked, po)


# PII retention ---------------------------------------------------------------------------


def orders_old_and_new(account) -> tuple[SalesOrder, SalesOrder]:
    """An API order placed 40 days ago and one placed now."""
    old = create_sales_order(account, order_data("OLD", ordered_at=timezone.now() - timedelta(days=40)))
    new = create_sales_order(account, order_data("NEW"))
    return old, new


def pii(order: SalesOrder) -> dict:
    order.refresh_from_db()
    return {field: getattr(order, field) for field in PII_FIELDS}


def test_pii_retention_the_dispatched_daily_row_redacts_old_orders_on_the_worker(worker, world):
    account = world.acme_us
    old, new = orders_old_and_new(account)
    kept = pii(new)
    settings_change(world, pii_retention_days=30)
    row = ScheduleEntry.objects.get(account=account, job_type=SystemJobType.PII_RETENTION)
    assert (row.kind, row.enabled, row.period_minutes) == ("system", True, 24 * 60)

    assert dispatch_now(account, SystemJobType.PII_RETENTION) == 1
    run = finished(JobRun.objects.filter(job_type=SystemJobType.PII_RETENTION))
    assert (run.trigger, run.status, run.counts) == (Trigger.SCHEDULE, RunStatus.SUCCESS, {"redacted": 1})
    assert run.messages[0].startswith("API, manual and imported orders: 1 redacted (placed before ")
    assert pii(old) == dict.fromkeys(PII_FIELDS, REDACTED) and old.pii_redacted_at is not None
    assert pii(new) == kept and new.pii_redacted_at is None
    assert kept["customer_name"] == "Ann Lee"


def test_pii_retention_blank_disables_the_daily_row_and_nothing_is_redacted(worker, world):
    account = world.acme_us
    old, _ = orders_old_and_new(account)
    before = pii(old)
    settings_change(world, pii_retention_days=30)
    settings_change(world, pii_retention_days=None)
    assert not ScheduleEntry.objects.get(account=account, job_type=SystemJobType.PII_RETENTION).enabled

    # Even when its time comes, a disabled row is not dispatched.
    assert dispatch_now(account, SystemJobType.PII_RETENTION) == 0
    assert not JobRun.objects.exists()
    # And a run the worker executes anyway (one queued before the change) keeps the data.
    queued = JobRun.objects.create(
        account=account, job_type=SystemJobType.PII_RETENTION, trigger=Trigger.SCHEDULE
    )
    execute_run.delay(queued.pk)
    run = finished(JobRun.objects.filter(pk=queued.pk))
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"redacted": 0})
    assert run.messages == ["No retention is set: customer data is kept."]
    assert pii(old) == before and old.pii_redacted_at is None
    assert before["customer_email"] == "ann@example.com"
