"""A second message for a run another worker is running (the sweeper sent a run again
whose first message was still in a backlog, or a publish raised after the broker took
it): the duplicate leaves the run, its webhook events and its job's lock to the worker
that has it; one delivered again each time its worker dies stops at the third loss
(found while writing the fault tests of issue 13)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automations import leases
from automations.models import JobRun, RunStatus, ScheduleEntry, ScheduleKind, Trigger
from automations.tasks import execute_run
from channels.models import WebhookEvent
from channels.platforms import JobType

pytestmark = pytest.mark.django_db


def test_a_duplicate_message_of_a_running_webhook_run_settles_nothing(linked):
    channel = linked.marketplace
    run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=JobType.IMPORT_ORDERS, trigger=Trigger.WEBHOOK
    )
    locked_until = timezone.now() + timedelta(minutes=11)
    row = ScheduleEntry.objects.create(
        key=f"webhook:{channel.pk}:import_orders",
        kind=ScheduleKind.WEBHOOK,
        account=channel.account,
        channel=channel,
        job_type=JobType.IMPORT_ORDERS,
        timezone="UTC",
        enabled=True,
        lock_run=run,
        locked_until=locked_until,
        next_run_at=locked_until,
    )
    event = WebhookEvent.objects.create(channel=channel, event_id="e1", topic="orders/create", job_run=run)
    assert leases.claim(run.pk, "the-first-message") == "claimed"  # a live worker has it

    assert execute_run(run.pk) == RunStatus.RUNNING  # the duplicate, on another worker

    row.refresh_from_db()
    event.refresh_from_db()
    # Still the running run's: the dispatcher starts no second webhook run beside it, and
    # its events are settled by the attempt that ends it.
    assert (row.lock_run_id, row.locked_until) == (run.pk, locked_until)
    assert (event.job_run_id, event.processed_at) == (run.pk, None)
    assert JobRun.objects.get(pk=run.pk).task_id == "the-first-message"


def test_a_message_delivered_again_each_time_its_worker_dies_fails_the_run_at_the_third_loss(linked):
    """Celery puts a lost worker's message back without counting (reject on worker lost):
    the run counts its lost workers itself, so a run that kills its worker every time
    stops instead of going round for ever (tests/faults has the real-process version)."""
    channel = linked.marketplace
    run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=JobType.IMPORT_ORDERS, trigger=Trigger.MANUAL
    )
    assert leases.claim(run.pk, "t") == "claimed"
    for lost in range(1, leases.MAX_LOST_WORKERS):
        assert leases.claim(run.pk, "t") == "resumed"
        assert JobRun.objects.get(pk=run.pk).counts == {"lost_workers": lost}
    assert leases.claim(run.pk, "t") is None
    run.refresh_from_db()
    assert (run.status, run.counts, run.lease_until) == (RunStatus.FAILED, {"lost_workers": 3}, None)
    assert run.finished_at is not None
    assert run.messages == [leases.lost_too_often(3)]
