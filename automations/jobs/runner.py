"""The job runner: one function runs one JobRun of one channel, whatever started it
(manual button, schedule, webhook, emergency fallback, an order workflow).

Each job reads what it needs from the platform (Import Orders, Receive Shipments and
Receive Receipts a page at a time, the next page read while the current one is written),
then writes the portal's data through the services of the app that owns each record, in
transactions of one record or of one batch (a batch that fails is written again record by
record): a platform that fails part-way leaves nothing half-written, and a re-run picks
up exactly what is missing. Every job is idempotent: channel records are
keyed by (channel, external id), pushes carry a stable reference the platform
de-duplicates on. The handlers live beside this module, one per job type
(`HANDLERS` in automations.jobs).
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from catalog.models import AdjustmentSource
from catalog.services import LedgerContext
from channels import crypto
from channels.connectors import connector_for
from channels.connectors.base import Connector, ConnectorError
from channels.models import Channel
from channels.platforms import JobType
from channels.selectors import product_job_warning, sync_cursor
from channels.services import advance_cursor
from orders.validation import CarrierRules

from .. import leases, progress
from ..models import JobRun, RunStatus

log = logging.getLogger(__name__)
MAX_MESSAGES = 50

# job type → handler taking a JobContext; filled by the handler modules through
# `handles` (automations.jobs imports each of them).
HANDLERS = {}


def handles(job_type: str):
    def register(handler):
        HANDLERS[job_type] = handler
        return handler

    return register


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    # Something was refused or unreadable: the run is partial, not a success.
    partial: bool = False
    # The platform failed: the run failed, whatever was done before counts.
    failure: str = ""
    # The failure is worth another attempt (ConnectorError.transient).
    transient: bool = False
    # Seconds the platform asked us to wait before that attempt (Retry-After).
    retry_after: float | None = None
    skipped: str = ""

    def note(self, message: str, *, problem: bool = True) -> None:
        if problem:
            self.partial = True
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
        elif len(self.messages) == MAX_MESSAGES:
            self.messages.append("More messages were left out.")

    def fail(self, exc: ConnectorError) -> None:
        self.failure, self.transient = str(exc), exc.transient
        self.retry_after = getattr(exc, "retry_after", None)

    def absorb(self, fetched_or_pushed) -> None:
        for message in fetched_or_pushed.messages:
            self.note(message)
        if getattr(fetched_or_pushed, "stopped_by", ""):
            self.failure = fetched_or_pushed.stopped_by
            self.transient = fetched_or_pushed.stopped_transient
            self.retry_after = fetched_or_pushed.stopped_retry_after


@dataclass
class JobContext:
    run: JobRun
    channel: Channel
    connector: Connector
    report: Report
    ids: list[str] | None = None

    @property
    def account(self):
        return self.channel.account

    @cached_property
    def carrier_rules(self) -> CarrierRules:
        """The account's API validation rules and carriers, read once per run."""
        return CarrierRules(self.account)

    def ledger(self, reason: str, note: str = "") -> LedgerContext:
        return LedgerContext(
            reason=reason,
            source=AdjustmentSource.CHANNEL,
            channel_id=self.channel.pk,
            job_run_id=self.run.pk,
            note=note,
        )

    @property
    def since(self) -> str | None:
        """Where this job's read resumes: the stored cursor, unless the run names its ids."""
        if self.ids is not None:
            return None
        return sync_cursor(self.channel, self.run.job_type)

    def keep_cursor(self, fetched) -> None:
        """Store the read's cursor once every record it returned was handled; a run that
        failed or was limited to ids leaves the position where it was."""
        if fetched.cursor and self.ids is None and not self.report.failure:
            advance_cursor(self.channel, self.run.job_type, fetched.cursor)

    def track(self, records):
        """The fetched records to write, the run's progress saved on the way."""
        return progress.track(self.run, records)

    def track_pages(self, pages):
        """A read's pages as they come, the run's progress saved after each."""
        return progress.track_pages(self.run, pages)

    def location_to_warehouse(self) -> dict:
        return {m.location: m.warehouse for m in self.channel.warehouse_mappings.select_related("warehouse")}

    def warehouse_to_location(self) -> dict[int, str]:
        return {m.warehouse_id: m.location for m in self.channel.warehouse_mappings.all()}


class RunRequeued(Exception):
    """run_job put the run back to queued after a transient failure: run it again after
    a backoff. `attempt` is the number of attempts made so far."""

    def __init__(self, run: JobRun, attempt: int, retry_after: float | None = None):
        super().__init__(f"job run {run.pk}: attempt {attempt} failed, retry wanted")
        self.run, self.attempt, self.retry_after = run, attempt, retry_after


def run_job(
    run: JobRun, ids: list[str] | None = None, http=None, *, attempts: int = 1, task_id: str = ""
) -> JobRun:
    """Execute a queued job run and record its outcome on it; the run, refreshed.

    A run that is not queued (another worker took it, or it finished) is left alone, so
    a task delivered twice runs the job once; a Running run whose worker was lost is
    taken over (automations.leases). `ids` limits the job to these platform entity ids
    (Recurring Job By ID), by default the run's own `target_ids`; `http` replaces the
    connector's HTTP client. Platform failures end as a failed run with a readable
    message, never an exception, except a transient one (ConnectorError.transient, or a
    lost database connection) while fewer than `attempts` attempts were made: the run
    goes back to queued with the attempt in its messages and counts, and RunRequeued
    tells the caller to run it again after a backoff (automations.tasks.execute_run).
    """
    taken = leases.claim(run.pk, task_id)
    run = JobRun.objects.select_related("channel__account").get(pk=run.pk)
    if taken is None:
        return run
    report = Report()
    if taken == "resumed":  # claim counted the lost worker in the run's counts
        report.note("The worker running this job was lost before it finished; it ran again.", problem=False)
    _execute(run, report, run.target_ids if ids is None else ids, http)
    attempt = run.counts.get("attempts", 0) + 1
    if report.failure and report.transient and attempt < attempts:
        leases.durably(lambda: _requeue(run, report, attempt, attempts))
        raise RunRequeued(run, attempt, report.retry_after)
    return leases.durably(lambda: _finish(run, report, attempt, attempts))


def _execute(run: JobRun, report: Report, ids: list[str] | None, http) -> None:
    channel = run.channel
    try:
        refusal = _refusal(run, channel)
        if refusal:
            report.skipped = refusal
        else:
            connector = connector_for(channel, http=http)
            HANDLERS[run.job_type](JobContext(run, channel, connector, report, ids))
    except ConnectorError as exc:
        report.fail(exc)
    except crypto.SecretUnreadable as exc:
        report.failure = str(exc)
    except (OperationalError, InterfaceError) as exc:
        # Worth another attempt: the database restarts or fails over, the job is idempotent.
        log.warning("job run %s lost the database: %s", run.pk, exc)
        report.failure, report.transient = "The database could not be reached; the job stopped.", True
    except Exception as exc:
        log.exception("job run %s failed", run.pk)
        report.failure = (
            f"The job stopped on an internal error ({type(exc).__name__}); it was logged for the team."
        )


def _refusal(run: JobRun, channel: Channel | None) -> str:
    if channel is None:
        return "This job run names no channel."
    if not channel.is_active:
        return f"The channel {channel.name} is inactive."
    if run.job_type not in channel.platform_info.job_types:
        return f"{channel.platform_info.label} does not support {JobType(run.job_type).label}."
    if not channel.has_credentials:
        return "The channel has no credentials: enter them on the channel page."
    if run.job_type == JobType.IMPORT_PRODUCTS:
        # Export Products to the master is refused by the connector path's own rule only
        # when configured; Import Products must never run elsewhere, whoever asks.
        return product_job_warning(channel, run.job_type)
    return ""


def _finish(run: JobRun, report: Report, attempt: int, attempts: int) -> JobRun:
    # What the run holds already comes first: the dispatcher's reason (why an emergency
    # sync ran) and the failures of earlier attempts.
    messages = list(run.messages)
    if report.failure:
        status = RunStatus.FAILED
        messages.append(
            f"Attempt {attempt} of {attempts}: {report.failure}" if attempt > 1 else report.failure
        )
    elif report.skipped:
        status = RunStatus.SKIPPED
        messages.append(report.skipped)
    elif report.partial:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.SUCCESS
    messages.extend(report.messages)
    run.status = status
    run.counts = {k: v for k, v in report.counts.items() if v} | _carried(run)
    if attempt > 1:
        run.counts["attempts"] = attempt
    run.messages = messages
    run.finished_at = timezone.now()
    run.lease_until, run.task_id = None, ""
    run.save(update_fields=["status", "counts", "messages", "finished_at", "lease_until", "task_id"])
    return run


def _carried(run: JobRun) -> dict:
    """What a run's counts keep across its attempts: how often its worker was lost."""
    return {"lost_workers": run.counts["lost_workers"]} if run.counts.get("lost_workers") else {}


def _requeue(run: JobRun, report: Report, attempt: int, attempts: int) -> None:
    """Back to queued for another attempt. Its status and counts will be the last
    attempt's; this one is told in the messages, with what it did before it failed."""
    done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.counts.items()) if v)
    run.messages = [
        *run.messages,
        f"Attempt {attempt + 1} of {attempts} after: {report.failure}"
        + (f" (done before: {done})" if done else ""),
        *report.messages,
    ]
    run.counts = {"attempts": attempt} | _carried(run)
    run.status = RunStatus.QUEUED
    # The retry is sent by the task itself (automations.tasks.execute_run sets the lease).
    run.lease_until, run.task_id = None, ""
    run.save(update_fields=["status", "counts", "messages", "lease_until", "task_id"])
