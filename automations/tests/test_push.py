"""Inventory Real-Time Updates against the sandbox marketplace: which channels and
locations hear about a change, coalescing, retries, the setting, buffer stock."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automations import tasks
from automations.jobs import push as push_job
from automations.models import JobRun, RunStatus, Trigger
from catalog import push
from catalog.models import AdjustmentReason, AdjustmentSource, ChannelPush, PendingPush, Product
from catalog.services import LedgerContext, adjust_inventory
from channels import services as channel_services
from channels.platforms import JobType

pytestmark = pytest.mark.django_db

CONTEXT = LedgerContext(AdjustmentReason.MANUAL, AdjustmentSource.MANUAL)


def inventory_puts(linked) -> int:
    return linked.sandbox.calls.get("mkt", []).count(("PUT", "/api/inventory"))


@pytest.fixture
def enqueued(monkeypatch):
    """Push tasks are recorded instead of sent, as a worker would receive them after
    their countdown; `run()` then plays the worker."""
    calls = []
    monkeypatch.setattr(
        tasks.push_inventory, "apply_async", lambda args, countdown: calls.append((tuple(args), countdown))
    )
    return calls


def run_enqueued(enqueued) -> list:
    due = list(enqueued)
    enqueued.clear()
    return [push_job.push_channel(*args) for args, _ in due]


def adjust(linked, sku, warehouse, quantity, reserved=0):
    return adjust_inventory(linked.products[sku], warehouse, quantity, CONTEXT, reserved=reserved)


def test_change_in_mapped_warehouse_pushes_available_quantity(
    linked, eager_celery, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 5, reserved=3)

    # 10 + 5 on hand, 3 reserved: 12 available at the location mapped to WH1.
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 12
    # SKU-2 did not change: it is not sent.
    assert linked.sandbox.calls["mkt"].count(("PUT", "/api/inventory")) == 1
    run = JobRun.objects.get(channel=linked.marketplace)
    assert (run.job_type, run.trigger, run.status) == (
        JobType.EXPORT_INVENTORY,
        Trigger.SCHEDULE,
        RunStatus.SUCCESS,
    )
    assert run.counts == {"updated": 1}
    assert ChannelPush.objects.get(channel=linked.marketplace).last_run == run
    # The fulfillment channel sells nothing: it is never pushed to.
    assert not JobRun.objects.filter(channel=linked.threepl).exists()
    assert not PendingPush.objects.exists()


def test_change_in_unmapped_warehouse_pushes_nothing(linked, enqueued, django_capture_on_commit_callbacks):
    wh2 = linked.world.warehouses["ACME-US-2"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh2, 7)

    assert enqueued == []
    assert not PendingPush.objects.exists()
    assert inventory_puts(linked) == 0


def test_channel_without_mappings_gets_total_of_active_warehouses(
    linked, eager_celery, django_capture_on_commit_callbacks
):
    wh2 = linked.world.warehouses["ACME-US-2"]
    linked.marketplace.warehouse_mappings.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-2", wh2, 4)

    # 5 in WH1 + 4 in WH2, location left out (the sandbox takes its first location).
    assert linked.stock("mkt", "US-EAST", "SKU-2") == 5 + 4


def test_buffer_stock_is_kept_back_and_never_goes_below_zero(
    linked, eager_celery, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    linked.marketplace.buffer_stock = 4
    linked.marketplace.save(update_fields=["buffer_stock"])
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 1)
        adjust(linked, "SKU-2", wh1, 0, reserved=3)

    assert linked.stock("mkt", "US-EAST", "SKU-1") == 10 + 1 - 4
    # 5 on hand − 3 reserved − 4 buffer is below zero: the channel is told 0.
    assert linked.stock("mkt", "US-EAST", "SKU-2") == 0


def test_many_changes_coalesce_into_a_few_batched_calls(linked, enqueued, django_capture_on_commit_callbacks):
    wh1 = linked.world.warehouses["ACME-US-1"]
    account = linked.world.acme_us
    shop = linked.shop("mkt")
    skus = [f"BULK-{n:04d}" for n in range(1000)]
    linked.store.upsert_products(shop, [{"sku": sku, "title": sku} for sku in skus])
    products = Product.objects.bulk_create(Product(account=account, sku=sku, name=sku) for sku in skus)
    with django_capture_on_commit_callbacks(execute=True):
        for n, product in enumerate(products):
            adjust_inventory(product, wh1, n + 1, CONTEXT)
        # A second change of the same SKU within the window joins the same push.
        adjust_inventory(products[0], wh1, 100, CONTEXT, reserved=1)

    # One task for the only sales channel, delayed so the burst gathers.
    assert enqueued == [((linked.marketplace.pk,), push.WINDOW_SECONDS)]
    assert PendingPush.objects.filter(channel=linked.marketplace).count() == 1000

    (run,) = run_enqueued(enqueued)

    # 1,000 SKUs in batches of 500: two calls instead of 1,001.
    assert inventory_puts(linked) == 2
    assert run.counts == {"updated": 1000}
    levels = shop["inventory"]["US-EAST"]
    assert levels["BULK-0000"] == 1 + 100 - 1
    assert all(levels[sku] == n + 1 for n, sku in enumerate(skus) if n)
    assert not PendingPush.objects.exists()

    # The schedule was released: the next change schedules a new push, no sooner than
    # the interval after the last one started.
    with django_capture_on_commit_callbacks(execute=True):
        adjust_inventory(products[5], wh1, -2, CONTEXT)
    ((_, countdown),) = enqueued
    assert push.WINDOW_SECONDS < countdown <= push.INTERVAL_SECONDS
    run_enqueued(enqueued)
    assert levels["BULK-0005"] == 6 - 2


def test_change_during_a_push_stays_pending_for_the_next(
    linked, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 1)
    real_available_stock = push_job.available_stock

    def concurrent_change(channel, product_ids):
        # Computed first, then another change commits before the call returns.
        levels = real_available_stock(channel, product_ids)
        with django_capture_on_commit_callbacks(execute=True):
            adjust(linked, "SKU-1", wh1, 6)
        return levels

    monkeypatch.setattr(push_job, "available_stock", concurrent_change)
    run_enqueued(enqueued)
    monkeypatch.setattr(push_job, "available_stock", real_available_stock)

    assert linked.stock("mkt", "US-EAST", "SKU-1") == 11
    assert PendingPush.objects.filter(product=linked.products["SKU-1"]).exists()
    run_enqueued(enqueued)
    # The later push supersedes the older one.
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 17


def test_failed_push_is_retried_with_backoff_then_succeeds(
    linked, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 3)
    linked.sandbox.faults["status"] = 503
    countdowns = []
    real_backoff = tasks.push_backoff

    def backoff_then_recover(retries):
        countdowns.append(real_backoff(retries))
        linked.sandbox.faults["status"] = None
        return countdowns[-1]

    monkeypatch.setattr(tasks, "push_backoff", backoff_then_recover)
    ((args, _),) = enqueued
    # apply() runs the task as a worker would, its retry included (at once, not after
    # the countdown).
    result = tasks.push_inventory.apply(args=args)

    assert countdowns == [tasks.PUSH_BACKOFF_SECONDS]
    failed, succeeded = JobRun.objects.filter(channel=linked.marketplace).order_by("pk")
    assert failed.status == RunStatus.FAILED
    assert failed.messages[0]
    assert succeeded.status == RunStatus.SUCCESS
    assert result.get() == succeeded.pk
    assert inventory_puts(linked) == 2
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 13
    state = ChannelPush.objects.get(channel=linked.marketplace)
    assert (state.last_run, state.scheduled_at) == (succeeded, None)
    assert not PendingPush.objects.exists()


def test_failed_push_keeps_products_pending_and_the_schedule_held(
    linked, enqueued, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 3)
    linked.sandbox.faults["status"] = 500
    with pytest.raises(push_job.PushFailed):
        push_job.push_channel(linked.marketplace.pk)
    push.hold_schedule(linked.marketplace.pk)

    assert PendingPush.objects.filter(channel=linked.marketplace).count() == 1
    # While the retry waits, new changes join it rather than start another push.
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-2", wh1, 1)
    assert len(enqueued) == 1
    assert tasks.push_backoff(0) < tasks.push_backoff(3) == 40
    assert tasks.push_backoff(20) == tasks.PUSH_BACKOFF_MAX_SECONDS


def test_setting_off_pushes_nothing(linked, enqueued, django_capture_on_commit_callbacks):
    account = linked.world.acme_us
    account.inventory_realtime_updates = False
    account.save(update_fields=["inventory_realtime_updates"])
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 3)

    assert enqueued == []
    assert not PendingPush.objects.exists()
    assert inventory_puts(linked) == 0
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 10


def test_setting_turned_off_before_the_push_runs_drops_it(
    linked, enqueued, django_capture_on_commit_callbacks
):
    wh1 = linked.world.warehouses["ACME-US-1"]
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", wh1, 3)
    account = linked.world.acme_us
    account.inventory_realtime_updates = False
    account.save(update_fields=["inventory_realtime_updates"])

    assert run_enqueued(enqueued) == [None]
    assert inventory_puts(linked) == 0
    assert not PendingPush.objects.exists()


def test_inactive_channel_is_not_pushed(linked, enqueued, django_capture_on_commit_callbacks):
    channel_services.set_channel_active(None, linked.marketplace, False)
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", linked.world.warehouses["ACME-US-1"], 3)
    assert enqueued == []


def test_channel_page_shows_last_push(linked, eager_celery, client_for, django_capture_on_commit_callbacks):
    url = reverse("channel_detail", kwargs={"channel_id": linked.marketplace.pk})
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert "No real-time push yet." in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", linked.world.warehouses["ACME-US-1"], 3)
    page = client.get(url).content.decode()

    assert 'data-push-status="success"' in page
    assert "Real-time push of 1 changed product(s)." in page


def test_push_delay_is_the_short_window_after_quiet_else_the_rest_of_the_interval():
    now = timezone.now()
    assert push.push_delay(now, None, 2, 10) == 2
    assert push.push_delay(now, now - timedelta(seconds=60), 2, 10) == 2
    assert push.push_delay(now, now - timedelta(seconds=3), 2, 10) == 7
    assert push.push_delay(now, now - timedelta(seconds=9), 2, 10) == 2


def test_a_push_waits_while_another_push_of_the_channel_runs(
    linked, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        adjust(linked, "SKU-1", linked.world.warehouses["ACME-US-1"], 3)
    enqueued.clear()
    running = timezone.now()
    ChannelPush.objects.filter(channel=linked.marketplace).update(
        running_since=running, last_started_at=running
    )

    # The task re-schedules itself instead of racing the running push.
    assert tasks.push_inventory.apply(args=(linked.marketplace.pk,)).get() is None
    assert inventory_puts(linked) == 0
    assert enqueued == [((linked.marketplace.pk,), pytest.approx(push.INTERVAL_SECONDS, abs=1))]
    assert PendingPush.objects.filter(channel=linked.marketplace).count() == 1

    # A push marked running past the task time limit died with its worker.
    stale = running - push.STALE_RUN - timedelta(seconds=1)
    ChannelPush.objects.filter(channel=linked.marketplace).update(running_since=stale)
    run_enqueued(enqueued)
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 13
    assert ChannelPush.objects.get(channel=linked.marketplace).running_since is None
