"""Webhook jobs: events arm the job, a burst becomes one run, one run at a time, a lock
that expires when a worker dies; Recurring Job By ID fetches exactly the queued ids."""

import json
import os
import time
from datetime import timedelta

import pytest
from django.urls import reverse

from automations import services
from automations.dispatcher import dispatch_due, lock_ttl
from automations.models import (
    JobRun,
    Mode,
    RunStatus,
    ScheduleEntry,
    ScheduleKind,
    Trigger,
)
from automations.tests.conftest import place_order, run_inline
from channels.models import WebhookEvent
from channels.webhooks import signature
from orders.models import SalesOrder

BURST = 50


def configure(world, channel, mode, **job):
    services.save_channel_automation(
        world.account_admin, channel, mode, {"import_orders": {"enabled": True, **job}}, None
    )
    from automations.reconciler import reconcile_account

    reconcile_account(world.acme_us.pk)


def deliver(client, channel, order_ids, prefix="evt"):
    """POST signed orders/create webhooks as the sandbox would."""
    for n, order_id in enumerate(order_ids):
        body = json.dumps(
            {"id": f"{prefix}-{n}", "topic": "orders/create", "entity_ids": [str(order_id)]}
        ).encode()
        sent_at = str(int(time.time()))
        response = client.post(
            reverse("channel_webhook", args=[channel.webhook_token]),
            data=body,
            content_type="application/json",
            HTTP_X_TECHOMS_SIGNATURE=signature(channel.webhook_secret, sent_at, body),
            HTTP_X_TECHOMS_TIMESTAMP=sent_at,
        )
        assert response.status_code == 202


def webhook_row(channel):
    return ScheduleEntry.objects.get(kind=ScheduleKind.WEBHOOK, channel=channel)


@pytest.mark.django_db
def test_burst_of_events_within_the_delay_is_one_run_taking_all(
    client, world, beta_shop, sandbox, django_capture_on_commit_callbacks
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=5)
    orders = [place_order(sandbox)["id"] for _ in range(BURST)]
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, orders)
    row = webhook_row(beta_shop)
    first = WebhookEvent.objects.order_by("received_at").first().received_at
    assert row.next_run_at == first + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(row.next_run_at - timedelta(seconds=1), publish=run_inline) == 0
        assert dispatch_due(row.next_run_at, publish=run_inline) == 1
    run = JobRun.objects.get()
    assert (run.trigger, run.status, run.counts) == (Trigger.WEBHOOK, RunStatus.SUCCESS, {"imported": BURST})
    assert WebhookEvent.objects.filter(job_run=run, processed_at__isnull=False).count() == BURST
    assert SalesOrder.objects.filter(channel=beta_shop).count() == BURST
    assert webhook_row(beta_shop).next_run_at is None  # quiet again


@pytest.mark.django_db
def test_an_event_during_a_run_arms_the_next_one(
    client, world, beta_shop, sandbox, django_capture_on_commit_callbacks
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"]], prefix="a")
    due = webhook_row(beta_shop).next_run_at
    held = []
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(due, publish=held.extend)
    # While the first run is queued the job is locked: a new event does not start another.
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"]], prefix="b")
        assert dispatch_due(due + timedelta(seconds=30), publish=held.extend) == 0
        run_inline(held)
    row = webhook_row(beta_shop)
    assert row.lock_run is None
    second_event = WebhookEvent.objects.get(event_id="b-0")
    assert second_event.processed_at is None
    assert row.next_run_at == max(second_event.received_at + timedelta(minutes=1), row.next_run_at)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(row.next_run_at, publish=run_inline) == 1
    assert SalesOrder.objects.filter(channel=beta_shop).count() == 2


@pytest.mark.django_db
def test_lock_of_a_crashed_worker_expires_and_nothing_is_imported_twice(
    client, world, beta_shop, sandbox, django_capture_on_commit_callbacks
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"] for _ in range(3)])
    due = webhook_row(beta_shop).next_run_at
    lost = []
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(due, publish=lost.extend)
    crashed = JobRun.objects.get()
    # The worker imported the orders, then died before recording the outcome.
    from automations.jobs.runner import run_job

    run_job(crashed)
    JobRun.objects.filter(pk=crashed.pk).update(status=RunStatus.RUNNING, finished_at=None)
    assert SalesOrder.objects.count() == 3
    locked_until = webhook_row(beta_shop).locked_until
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(locked_until - timedelta(seconds=1), publish=run_inline) == 0
        assert dispatch_due(locked_until, publish=run_inline) == 1
    crashed.refresh_from_db()
    assert crashed.status == RunStatus.FAILED and "lock expired" in crashed.messages[0]
    rerun = JobRun.objects.exclude(pk=crashed.pk).get()
    assert rerun.status == RunStatus.SUCCESS
    assert SalesOrder.objects.count() == 3
    assert set(WebhookEvent.objects.values_list("job_run", flat=True)) == {rerun.pk}
    assert locked_until - due >= lock_ttl() - timedelta(seconds=5)


@pytest.mark.django_db
def test_by_id_run_fetches_exactly_the_queued_ids(
    client, world, beta_shop, sandbox, django_capture_on_commit_callbacks
):
    configure(world, beta_shop, Mode.RECURRING_BY_ID, period_minutes=15)
    queued = [place_order(sandbox)["id"] for _ in range(2)]
    place_order(sandbox)  # never announced: By ID must not fetch it
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, queued)
    assert webhook_row(beta_shop).next_run_at is None  # By ID: events only queue ids
    due = ScheduleEntry.objects.get(kind=ScheduleKind.BETA, channel=beta_shop).next_run_at
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(due, publish=run_inline) == 1
    run = JobRun.objects.get()
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"imported": 2})
    assert sorted(SalesOrder.objects.values_list("external_id", flat=True)) == sorted(str(i) for i in queued)
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    # Nothing queued next period: no run at all.
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(due + timedelta(minutes=15), publish=run_inline) == 0


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the in-process variant above runs without Redis")
@pytest.mark.django_db(transaction=True)
def test_burst_through_redis_and_a_real_worker_is_one_run(client, world, beta_shop, sandbox):
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=1)
    orders = [place_order(sandbox)["id"] for _ in range(BURST)]
    deliver(client, beta_shop, orders)
    due = webhook_row(beta_shop).next_run_at
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, queues=["jobs"]):
        assert dispatch_due(due) == 1  # publishes to the real broker
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run = JobRun.objects.get()
            if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                break
            time.sleep(0.1)
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"imported": BURST})
    assert SalesOrder.objects.filter(channel=beta_shop).count() == BURST
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("switch_off", ["disable the job", "leave Webhook mode"])
def test_events_waiting_when_the_job_is_switched_back_on_arm_it(
    client, world, beta_shop, sandbox, django_capture_on_commit_callbacks, switch_off
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"]])
    if switch_off == "disable the job":
        configure(world, beta_shop, Mode.WEBHOOK, enabled=False, webhook_delay_minutes=5)
    else:
        configure(world, beta_shop, Mode.RECURRING, period_minutes=60)
    assert webhook_row(beta_shop).next_run_at is None  # switched off: disarmed, event kept

    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=5)

    row = webhook_row(beta_shop)
    event = WebhookEvent.objects.get()
    armed_at = event.received_at + timedelta(minutes=5)
    assert (row.window_start, row.next_run_at) == (event.received_at, armed_at)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(row.next_run_at, publish=run_inline) == 1
    assert SalesOrder.objects.filter(channel=beta_shop).count() == 1
