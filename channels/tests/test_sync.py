"""Every job type end to end against the sandbox over HTTP, and idempotent re-runs."""

import pytest

from automations.models import JobRun, RunStatus, Trigger
from catalog.models import InventoryLevel
from channels.platforms import JobType
from channels.sync import run_job
from orders.models import (
    SalesOrder,
    SalesOrderStatus,
)

pytestmark = pytest.mark.django_db


def run(channel, job_type, **kwargs) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    return run_job(job_run, **kwargs)


def on_hand(product, warehouse) -> int:
    level = InventoryLevel.objects.filter(product=product, warehouse=warehouse).first()
    return level.on_hand if level else 0


def test_import_orders_stores_new_orders_with_lines_and_customer(linked):
    placed = linked.place_order(quantity=3)
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"imported": 1}
    order = SalesOrder.objects.get(channel=linked.marketplace)
    assert order.external_id == placed["id"]
    assert order.status == SalesOrderStatus.PENDING
    assert (order.customer_name, order.customer_email, order.ship_city) == (
        "Jane Doe",
        "jane@example.com",
        "Newark",
    )
    line = order.lines.get()
    assert (line.sku, line.quantity, line.product) == ("SKU-1", 3, linked.products["SKU-1"])


def test_import_orders_twice_imports_nothing_new(linked):
    linked.place_order()
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    second = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert second.status == RunStatus.SUCCESS
    assert second.counts == {"already_imported": 1}
    assert SalesOrder.objects.count() == 1
