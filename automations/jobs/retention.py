"""The daily PII Retention system job of an account: the redaction is the orders app's
(orders.retention); the engine runs it as a JobRun with counts for the job log."""

import logging
from datetime import datetime

from django.utils import timezone

from accounts.models import Account
from orders.retention import redact_past_retention

from .. import leases
from ..models import JobRun, RunStatus, SystemJobType, Trigger

log = logging.getLogger(__name__)


def run_retention(
    account: Account,
    trigger: str = Trigger.SCHEDULE,
    now: datetime | None = None,
    run: JobRun | None = None,
    task_id: str = "",
) -> JobRun:
    """The daily job: redact, and record it as a job run with counts for the job log.

    `run` is a queued run the dispatcher created for this account's schedule row; it is
    claimed first, so a task delivered twice redacts (and records) once.
    """
    now = now or timezone.now()
    if run is None:
        run = JobRun.objects.create(
            account=account,
            job_type=SystemJobType.PII_RETENTION,
            trigger=trigger,
            status=RunStatus.RUNNING,
            started_at=now,
            lease_until=leases.running_lease(now),
        )
    elif not leases.claim(run.pk, task_id):
        return JobRun.objects.get(pk=run.pk)
    try:
        outcome = redact_past_retention(account, now)
    except Exception as exc:
        log.exception("PII retention run %s failed", run.pk)
        run.status = RunStatus.FAILED
        run.messages = [f"The redaction stopped on an internal error ({type(exc).__name__}); it was logged."]
    else:
        run.status = RunStatus.SUCCESS
        run.counts = {"redacted": sum(n for _, _, n in outcome)}
        run.messages = [
            f"{description}: {n} redacted (placed before "
            f"{limit.astimezone(account.tzinfo):%Y-%m-%d %H:%M} {account.timezone})."
            for description, limit, n in outcome
        ] or ["No retention is set: customer data is kept."]
    run.finished_at = timezone.now()
    run.lease_until, run.task_id = None, ""
    leases.durably(
        lambda: run.save(
            update_fields=["status", "counts", "messages", "finished_at", "lease_until", "task_id"]
        )
    )
    return run


def run_scheduled_retention(run: JobRun) -> JobRun:
    """Entry point for the automations engine's daily system row of an account."""
    return run_retention(run.account, run=run)
