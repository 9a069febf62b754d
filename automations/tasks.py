"""Celery tasks of the automations engine: the dispatcher tick (queue `dispatch`) and
the execution of one scheduled, webhook or emergency run (queue `jobs`)."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from channels.models import WebhookEvent
from channels.sync import run_job

from .dispatcher import dispatch_due, rearm
from .models import JobRun, RunStatus, ScheduleEntry, Trigger
from .system_jobs import SYSTEM_JOBS, run_system_job


# Expires quickly: a backlog of ticks is worth one tick, not a queue of them.
@shared_task(queue="dispatch", expires=5, ignore_result=True)
def dispatch_due_jobs() -> int:
    return dispatch_due()


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def execute_run(run_id: int, ids: list[str] | None = None) -> str | None:
    """Run one dispatched JobRun, then settle its webhook events and lock. Safe to run
    twice: a run that is no longer queued is left alone by run_job."""
    run = JobRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    if run.channel_id is None and run.job_type in SYSTEM_JOBS:
        return run_system_job(run).status
    reason = list(run.messages)
    run = run_job(run, ids=ids)
    if reason and run.messages[: len(reason)] != reason:
        # The dispatcher's reason (why an emergency sync ran) heads the run's own messages.
        run.messages = reason + run.messages
        run.save(update_fields=["messages"])
    settle(run)
    return run.status


def settle(run: JobRun) -> None:
    """Mark the events the run took processed (By ID: only if it did not fail, so its ids
    are fetched again next time) and release the webhook job's lock."""
    now = timezone.now()
    with transaction.atomic():
        taken = WebhookEvent.objects.filter(job_run=run, processed_at__isnull=True)
        if run.trigger == Trigger.WEBHOOK or run.status != RunStatus.FAILED:
            taken.update(processed_at=now)
        else:
            taken.update(job_run=None)
        for row in ScheduleEntry.objects.select_for_update().filter(lock_run=run):
            rearm(row, now)
            row.save(update_fields=["next_run_at", "window_start", "lock_run", "locked_until", "updated_at"])
