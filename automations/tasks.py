"""Celery tasks of the automations engine: the dispatcher tick (queue `dispatch`) and
the execution of one scheduled, webhook, emergency or manual run (queue `jobs`)."""

import random
from collections.abc import Callable
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from channels.models import WebhookEvent
from channels.sync import RunRequeued, run_job

from .dispatcher import dispatch_due, lock_ttl, rearm
from .models import JobRun, RunStatus, ScheduleEntry, Trigger
from .system_jobs import SYSTEM_JOBS, run_system_job


# Expires quickly: a backlog of ticks is worth one tick, not a queue of them.
@shared_task(queue="dispatch", expires=5, ignore_result=True)
def dispatch_due_jobs() -> int:
    return dispatch_due()


# Transient platform failures (channels.connectors.base.ConnectorError.transient) are
# retried: 4 attempts in all, waiting 2.5–5, 5–10 and 10–20 s between them (at most 35 s
# in all), well inside the shortest period (5 minutes) and the webhook lock's TTL.
RETRY_ATTEMPTS = 4
RETRY_BACKOFF_SECONDS = 5.0


def retry_delay(failed_attempt: int, base: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the n-th failed attempt: base · 2^(n−1), of which the upper
    half is random ("equal jitter") so runs that failed together do not retry together."""
    full = base * 2 ** (failed_attempt - 1)
    return full / 2 + rand() * full / 2


# Celery's own retry limit is off: the run counts its attempts (JobRun.counts), so a task
# delivered twice cannot buy it more.
@shared_task(bind=True, queue="jobs", acks_late=True, ignore_result=True, max_retries=None)
def execute_run(self, run_id: int, ids: list[str] | None = None) -> str | None:
    """Run one JobRun (dispatched, or a person's manual sync), then settle its webhook
    events and lock. Safe to run twice: a run that is no longer queued is left alone by
    run_job. A transient failure retries the same run after a backoff; meanwhile it keeps
    its events and its lock, and settles only when it ends."""
    run = JobRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    if run.channel_id is None and run.job_type in SYSTEM_JOBS:
        return run_system_job(run).status
    # Called as a plain function there is no worker to retry on: one attempt.
    attempts = 1 if self.request.called_directly else RETRY_ATTEMPTS
    try:
        run = run_job(run, ids=ids, attempts=attempts)
    except RunRequeued as requeued:
        countdown = retry_delay(requeued.attempt, RETRY_BACKOFF_SECONDS)
        keep_lock(requeued.run, countdown)
        raise self.retry(countdown=countdown) from None
    settle(run)
    return run.status


def keep_lock(run: JobRun, countdown: float) -> None:
    """A webhook run waiting to retry holds its job for the wait plus a whole attempt: if
    the lock expired meanwhile, the dispatcher would take the run for crashed and start
    another with its events."""
    until = timezone.now() + timedelta(seconds=countdown) + lock_ttl()
    ScheduleEntry.objects.filter(lock_run=run).update(locked_until=until, next_run_at=until)


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
