"""Inventory Real-Time Updates end to end: changes committed here, pushed by a real Celery
worker (queue `push`, Redis broker) to the sandbox marketplaces over HTTP. CI sets
REDIS_URL; the coalescing window, interval and retry backoff are shortened through
settings so each test takes a few seconds."""

import os
import time

import pytest

from automations.models import JobRun, RunStatus
from catalog.models import AdjustmentReason, AdjustmentSource, PendingPush
from catalog.services import LedgerContext, adjust_inventory
from channels import services as channel_services
from demo.sandbox.store import MARKETPLACE
from tests.helpers import CATALOG

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]

CONTEXT = LedgerContext(AdjustmentReason.MANUAL, AdjustmentSource.MANUAL)
WINDOW, INTERVAL, BACKOFF = 0.3, 1.5, 0.5
# The burst lasts about twice the interval: without the interval a push would go every
# window, about ten in all.
BURST_PACE = 0.075
SETTLE = 20.0


@pytest.fixture
def push_worker(settings):
    """A worker thread consuming the push queue, emptied of earlier tests' messages."""
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    settings.INVENTORY_PUSH_WINDOW_SECONDS = WINDOW
    settings.INVENTORY_PUSH_INTERVAL_SECONDS = INTERVAL
    settings.INVENTORY_PUSH_BACKOFF_SECONDS = BACKOFF
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("push")
    # Threads, not solo: the solo pool closes the test's own database connection (Celery's
    # Django fixup on worker_process_init).
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["push"]):
        yield


@pytest.fixture
def settled(push_worker, linked):
    """The linked account once the worker pushed its opening stock, calls forgotten."""
    wait_for(lambda: not PendingPush.objects.exists(), "the opening stock's push")
    linked.sandbox.calls.clear()
    return linked


@pytest.fixture
def two_shops(settled):
    """A second marketplace without mappings (total of both warehouses, buffer 1)."""
    linked = settled
    shop = linked.store.create_shop("mkt2", "Second Marketplace", MARKETPLACE, ["MAIN"])
    linked.store.upsert_products(linked.shop("mkt2"), CATALOG)
    second = channel_services.create_channel(
        None,
        linked.world.acme_us,
        kind="sales",
        name="Second Marketplace",
        platform="sandbox_marketplace",
        credentials={"api_key": shop["api_key"]},
        buffer_stock=1,
    )
    return linked, second


def inventory_puts(linked, code: str) -> int:
    return linked.sandbox.calls.get(code, []).count(("PUT", "/api/inventory"))


def wait_for(condition, what: str):
    deadline = time.monotonic() + SETTLE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def stock(linked, code: str, location: str, sku: str) -> int | None:
    with linked.store.lock:
        return linked.shop(code)["inventory"].get(location, {}).get(sku)


def test_setting_on_pushes_right_quantities_to_every_sales_channel_coalesced(two_shops):
    linked, second = two_shops
    wh1, wh2 = linked.world.warehouses["ACME-US-1"], linked.world.warehouses["ACME-US-2"]
    # (sku, warehouse, quantity, reserved); the fixture starts SKU-1 at 10 and SKU-2 at 5 in WH1.
    burst = [("SKU-1", wh1, 1, 0), ("SKU-2", wh2, 4, 0), ("SKU-1", wh2, 2, 0), ("SKU-2", wh1, 0, 2)] * 10
    started = time.monotonic()
    for sku, warehouse, quantity, reserved in burst:
        adjust_inventory(linked.products[sku], warehouse, quantity, CONTEXT, reserved=reserved)
        time.sleep(BURST_PACE)
    burst_seconds = time.monotonic() - started
    # WH1 on hand − reserved: SKU-1 10 + 10, SKU-2 5 − 20 reserved. WH2: SKU-1 20, SKU-2 40.
    expected = {
        ("mkt", "US-EAST", "SKU-1"): 20,
        ("mkt", "US-EAST", "SKU-2"): 0,
        ("mkt2", "MAIN", "SKU-1"): 20 + 20 - 1,
        ("mkt2", "MAIN", "SKU-2"): -15 + 40 - 1,
    }

    wait_for(
        lambda: (
            all(stock(linked, *key) == value for key, value in expected.items())
            and not PendingPush.objects.exists()
        ),
        "the final quantities on both shops",
    )

    # Forty changes, each its own commit: one push per channel per interval at most,
    # plus the one that carries the end of the burst.
    pushes_allowed = 1 + int(burst_seconds / INTERVAL) + 1
    assert pushes_allowed <= 5
    for code in ("mkt", "mkt2"):
        assert 1 <= inventory_puts(linked, code) <= pushes_allowed
    runs = JobRun.objects.filter(channel__in=[linked.marketplace, second])
    assert set(runs.values_list("status", flat=True)) == {RunStatus.SUCCESS}
    # The 3PL sells nothing and is never pushed to.
    assert inventory_puts(linked, "tpl") == 0


def test_setting_off_pushes_nothing(settled):
    linked = settled
    account = linked.world.acme_us
    account.inventory_realtime_updates = False
    account.save(update_fields=["inventory_realtime_updates"])
    wh1 = linked.world.warehouses["ACME-US-1"]
    adjust_inventory(linked.products["SKU-1"], wh1, 7, CONTEXT)
    assert not PendingPush.objects.exists()

    # Turned on again, the next change is pushed, and only that one: the change made
    # while off never reaches the channel (the Export Inventory job's to send).
    account.inventory_realtime_updates = True
    account.save(update_fields=["inventory_realtime_updates"])
    adjust_inventory(linked.products["SKU-2"], wh1, 1, CONTEXT)
    wait_for(lambda: stock(linked, "mkt", "US-EAST", "SKU-2") == 6, "the push of SKU-2")

    # The platform has the quantity a moment before the worker records the run.
    latest = JobRun.objects.filter(channel=linked.marketplace).order_by("-pk")
    wait_for(lambda: latest.first().finished_at is not None, "the push's run to be recorded")
    assert inventory_puts(linked, "mkt") == 1
    assert stock(linked, "mkt", "US-EAST", "SKU-1") == 10
    assert latest.first().counts == {"updated": 1}


def test_a_failing_channel_is_retried_with_backoff_and_later_succeeds(settled):
    linked = settled
    # Runs after the opening stock's push.
    runs = JobRun.objects.filter(channel=linked.marketplace, pk__gt=JobRun.objects.latest("pk").pk).order_by(
        "pk"
    )
    linked.sandbox.faults["status"] = 503
    adjust_inventory(linked.products["SKU-1"], linked.world.warehouses["ACME-US-1"], 3, CONTEXT)

    wait_for(lambda: runs.filter(status=RunStatus.FAILED).exists(), "the failed push")
    linked.sandbox.faults["status"] = None
    wait_for(lambda: runs.filter(status=RunStatus.SUCCESS).exists(), "the retried push")

    *failed, succeeded = runs
    assert failed and all(run.status == RunStatus.FAILED for run in failed)
    assert "503" in failed[-1].messages[0]
    # The retry waited for its backoff after the last failure.
    assert (succeeded.started_at - failed[-1].finished_at).total_seconds() >= BACKOFF * 0.9
    assert stock(linked, "mkt", "US-EAST", "SKU-1") == 13
    assert inventory_puts(linked, "mkt") == len(failed) + 1
    assert not PendingPush.objects.exists()
