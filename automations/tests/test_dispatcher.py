"""The dispatcher: due rows become runs once per window, rows advance, stable jobs fan out."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from automations import services
from automations.dispatcher import dispatch_due
from automations.models import (
    ChannelJobSetting,
    JobRun,
    Mode,
    RunStatus,
    ScheduleEntry,
    ScheduleKind,
    Trigger,
)
from automations.reconciler import reconcile_account

pytestmark = pytest.mark.django_db


def collect():
    sent = []
    return sent, sent.extend


def test_stable_job_fans_out_to_every_active_stable_channel(
    world, stable_channels, t0, django_capture_on_commit_callbacks
):
    services.save_recurring_jobs(
        world.account_admin,
        world.acme_us,
        {"import_orders": {"enabled": True, "period_minutes": 15, "delay_minutes": None}},
        None,
    )
    reconcile_account(world.acme_us.pk, now=t0)
    row = ScheduleEntry.objects.get(kind=ScheduleKind.STABLE)
    first_window, first_run = row.window_start, row.next_run_at
    sent, publish = collect()
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(first_run - timedelta(seconds=1), publish=publish) == 0
        assert dispatch_due(first_run, publish=publish) == 2
    runs = JobRun.objects.all()
    assert {r.channel_id for r in runs} == {c.pk for c in stable_channels}
    assert {r.idempotency_key for r in runs} == {
        f"{row.pk}:{first_window.isoformat()}:{c.pk}" for c in stable_channels
    }
    assert sorted(m.run_id for m in sent) == sorted(r.pk for r in runs)
    row.refresh_from_db()
    assert row.window_start == first_window + timedelta(minutes=15)
    assert row.next_run_at == first_run + timedelta(minutes=15)


def test_a_window_dispatched_again_is_not_run_twice(
    world, beta_channel, t0, django_capture_on_commit_callbacks
):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=60)
    reconcile_account(world.acme_us.pk, now=t0)
    row = ScheduleEntry.objects.get(kind=ScheduleKind.BETA)
    due = row.next_run_at
    sent, publish = collect()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(due, publish=publish)
        # The row is set back to the same window (e.g. a retry after a lost commit).
        ScheduleEntry.objects.filter(pk=row.pk).update(next_run_at=due, window_start=row.window_start)
        dispatch_due(due, publish=publish)
    assert JobRun.objects.count() == 1 and len(sent) == 1


def test_after_downtime_a_job_runs_once_then_resumes_its_windows(
    world, beta_channel, t0, django_capture_on_commit_callbacks
):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=15)
    reconcile_account(world.acme_us.pk, now=t0)
    sent, publish = collect()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(t0 + timedelta(hours=5), publish=publish)
    assert len(sent) == 1
    assert ScheduleEntry.objects.get(kind=ScheduleKind.BETA).next_run_at > t0 + timedelta(hours=5)


def test_disabled_rows_are_never_dispatched(world, beta_channel, t0, django_capture_on_commit_callbacks):
    ChannelJobSetting.objects.create(
        channel=beta_channel, job_type="import_orders", period_minutes=15, enabled=False
    )
    reconcile_account(world.acme_us.pk, now=t0)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(t0 + timedelta(days=1), publish=collect()[1]) == 0


def test_emergency_skips_when_the_webhook_job_succeeded_within_its_period(
    world, beta_channel, t0, django_capture_on_commit_callbacks
):
    services.save_channel_automation(
        world.account_admin,
        beta_channel,
        Mode.WEBHOOK,
        {"import_orders": {"enabled": True, "webhook_delay_minutes": 1, "emergency_period_minutes": 60}},
        None,
    )
    reconcile_account(world.acme_us.pk, now=t0)
    due = ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY).next_run_at
    JobRun.objects.create(
        account=world.acme_us,
        channel=beta_channel,
        job_type="import_orders",
        trigger=Trigger.WEBHOOK,
        status=RunStatus.SUCCESS,
        finished_at=due - timedelta(minutes=30),
    )
    sent, publish = collect()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(due, publish=publish)
    skip = JobRun.objects.get(trigger=Trigger.EMERGENCY)
    assert skip.status == RunStatus.SKIPPED and sent == []
    assert "succeeded" in skip.messages[0] and "within the last 1 h" in skip.messages[0]


def test_emergency_runs_the_full_sync_and_says_why(
    world, beta_shop, sandbox, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from automations.tests.conftest import place_order, run_inline

    services.save_channel_automation(
        world.account_admin,
        beta_shop,
        Mode.WEBHOOK,
        {"import_orders": {"enabled": True, "webhook_delay_minutes": 1, "emergency_period_minutes": 15}},
        None,
    )
    now = timezone.now()
    reconcile_account(world.acme_us.pk, now=now)
    place_order(sandbox)
    due = ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY).next_run_at
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due(due, publish=run_inline)
    run = JobRun.objects.get(trigger=Trigger.EMERGENCY)
    assert run.status == RunStatus.SUCCESS, run.messages
    assert run.counts == {"imported": 1}
    assert (
        run.messages[0] == "Full synchronization: the webhook job had no successful run in the last 15 min."
    )


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_racing_enqueue_each_window_once(world, t0):
    """FOR UPDATE SKIP LOCKED: concurrent claimers split the due rows between them."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: the project runs a single dispatcher there")
    from channels.models import Channel

    channels = Channel.objects.bulk_create(
        Channel(
            account=world.acme_us,
            name=f"B{n}",
            kind="sales",
            platform="sandbox_marketplace_beta",
            webhook_token=f"t{n}",
        )
        for n in range(200)
    )
    ChannelJobSetting.objects.bulk_create(
        ChannelJobSetting(channel=c, job_type="import_orders", period_minutes=5) for c in channels
    )
    reconcile_account(world.acme_us.pk, now=t0)
    due = t0 + timedelta(minutes=5)
    sent: list = []
    barrier = threading.Barrier(2)

    def dispatcher():
        try:
            barrier.wait()
            dispatch_due(due, batch_size=20, publish=sent.extend)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 200
    assert len({m.run_id for m in sent}) == 200
    assert JobRun.objects.count() == 200


@pytest.mark.django_db
def test_beat_fires_the_dispatcher_every_half_second_with_messages_that_expire():
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.get(task="automations.tasks.dispatch_due_jobs")
    # Polling twice a second keeps an edit's run within 1 s of its commit.
    assert entry.interval.schedule.run_every == timedelta(milliseconds=500)
    assert (entry.enabled, entry.queue, entry.expire_seconds) == (True, "dispatch", 2)
