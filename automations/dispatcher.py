"""The due-jobs dispatcher: claims due schedule rows in batches, advances them to their
next window and turns them into Job Runs, enqueued after the claim commits.

Beat calls it every half second (`tasks.dispatch_due_jobs`, migration 0006). On PostgreSQL rows are claimed
with FOR UPDATE SKIP LOCKED, so dispatchers can race; on SQLite the IMMEDIATE
transactions serialize them. Either way every JobRun carries an idempotency key per
(row, window): a window is never run twice, whoever dispatches it.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from channels.models import Channel, WebhookEvent

from .bulk import insert_new, update_by_pk
from .models import ChannelAutomation, JobRun, Mode, RunStatus, ScheduleEntry, ScheduleKind, Trigger
from .publish import Message, Publisher
from .reconciler import first_run
from .selectors import STABLE_PLATFORMS, stable_targets, topics_for

# Rows per claim: a batch of 500 holds ~1.5 MB while it is built and published, which
# keeps the scheduling process under 80 MB; larger batches saved little time.
BATCH_SIZE = 500
CRASHED = "The worker running this job stopped; its lock expired and the job was run again."


def lock_ttl() -> timedelta:
    """How long a webhook run holds its job: past the hard time limit, a worker is gone."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


ADVANCED = ["next_run_at", "window_start", "locked_until", "lock_run"]


@dataclass(slots=True)
class Claimed:
    """A claimed schedule row: what first_run reads and what the dispatcher advances."""

    pk: int
    key: str
    kind: str
    account_id: int
    channel_id: int | None
    job_type: str
    period_minutes: int | None
    delay_minutes: int | None
    timezone: str
    next_run_at: datetime | None
    window_start: datetime | None
    locked_until: datetime | None
    lock_run_id: int | None


# What the claim reads (the fields above), as plain values: model instances cost a third
# of a burst.
CLAIMED = tuple(f.name for f in fields(Claimed))


def dispatch_due(
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    publish: Callable[[list[Message]], None] | None = None,
) -> int:
    """Dispatch every row due at `now`; the number of runs enqueued. Returns once every
    message is in the broker."""
    now = now or timezone.now()
    total = 0
    with Publisher(publish) as publisher:
        while True:
            with transaction.atomic():
                rows = [
                    Claimed(*values)
                    for values in ScheduleEntry.objects.select_for_update(skip_locked=True)
                    .filter(enabled=True, next_run_at__lte=now)
                    .order_by("next_run_at")
                    .values_list(*CLAIMED)[:batch_size]
                ]
                messages = _dispatch(rows, now)
                update_by_pk(ScheduleEntry, rows, ADVANCED)
                if messages:
                    transaction.on_commit(lambda m=messages: publisher.send(m))
            total += len(messages)
            if len(rows) < batch_size:
                return total


@dataclass
class _Planned:
    run: dict  # the JobRun's column values, by attname
    ids: list[str] | None = None
    events: list[int] | None = None
    row: Claimed | None = None  # the webhook row whose lock the run holds


def _new_run(row: Claimed, now: datetime, trigger: str, key: str, channel_id: int | None, **values) -> dict:
    return {
        "account_id": row.account_id,
        "channel_id": channel_id,
        "job_type": row.job_type,
        "trigger": trigger,
        "status": RunStatus.QUEUED,
        "idempotency_key": key,
        "queued_at": now,
        "started_at": None,
        "finished_at": None,
        "counts": {},
        "messages": [],
        "requested_by_id": None,
        "target_ids": None,
        "lease_until": None,
        "task_id": "",
        "progress": None,
        **values,
    }


def _dispatch(rows: list[Claimed], now: datetime) -> list[Message]:
    stable_accounts = {r.account_id for r in rows if r.kind == ScheduleKind.STABLE}
    accounts = Account.objects.in_bulk(stable_accounts)
    channels_of = defaultdict(list)
    for c in Channel.objects.filter(
        account_id__in=stable_accounts, platform__in=STABLE_PLATFORMS, is_active=True
    ):
        channels_of[c.account_id].append(c)
    beta_channels = {r.channel_id for r in rows if r.kind == ScheduleKind.BETA}
    by_id = dict(
        ChannelAutomation.objects.filter(channel__in=beta_channels, mode=Mode.RECURRING_BY_ID).values_list(
            "channel_id", "mode"
        )
    )
    # Only webhook and By ID rows read their channel's platform (its event topics).
    platforms = dict(
        Channel.objects.filter(
            pk__in={r.channel_id for r in rows if r.kind == ScheduleKind.WEBHOOK or r.channel_id in by_id}
        ).values_list("pk", "platform")
    )

    planned: list[_Planned] = []
    skipped: list[dict] = []
    queued_at = timezone.now()
    for row in rows:
        if row.kind == ScheduleKind.WEBHOOK:
            plan = _webhook(row, platforms[row.channel_id], now, queued_at)
            if plan:
                planned.append(plan)
            continue

        window = row.window_start
        _advance(row, now)
        key = f"{row.pk}:{window.isoformat()}"
        if row.kind == ScheduleKind.STABLE:
            account = accounts[row.account_id]
            for channel in stable_targets(account, row.job_type, channels_of[row.account_id]):
                run = _new_run(row, queued_at, Trigger.SCHEDULE, f"{key}:{channel.pk}", channel.pk)
                planned.append(_Planned(run))
        elif row.kind == ScheduleKind.BETA and row.channel_id in by_id:
            events = _pending(row.channel_id, platforms[row.channel_id], row.job_type)
            if events:  # nothing queued: nothing to fetch, no run
                ids = sorted({i for e in events for i in e.entity_ids})
                run = _new_run(row, queued_at, Trigger.SCHEDULE, key, row.channel_id, target_ids=ids)
                planned.append(_Planned(run, ids, [e.pk for e in events]))
        elif row.kind in (ScheduleKind.BETA, ScheduleKind.SYSTEM):
            planned.append(_Planned(_new_run(row, queued_at, Trigger.SCHEDULE, key, row.channel_id)))
        elif row.kind == ScheduleKind.EMERGENCY:
            run = _emergency(row, now, queued_at, key)
            if run["status"] == RunStatus.SKIPPED:
                skipped.append(run)
            else:
                planned.append(_Planned(run))

    insert_new(JobRun, skipped, "idempotency_key")
    return _create_runs(planned)


def _emergency(row: Claimed, now: datetime, queued_at: datetime, key: str) -> dict:
    """The fallback runs the full sync only if its webhook job has not succeeded within
    the period; otherwise a skipped run says why."""
    period = timedelta(minutes=row.period_minutes)
    success = (
        JobRun.objects.filter(
            channel_id=row.channel_id,
            job_type=row.job_type,
            trigger=Trigger.WEBHOOK,
            status=RunStatus.SUCCESS,
            finished_at__gte=now - period,
        )
        .order_by("-finished_at")
        .first()
    )
    if success:
        reason = (
            f"Skipped: the webhook job succeeded at {success.finished_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"within the last {_minutes(row.period_minutes)}."
        )
        return _new_run(
            row,
            queued_at,
            Trigger.EMERGENCY,
            key,
            row.channel_id,
            status=RunStatus.SKIPPED,
            started_at=now,
            finished_at=now,
            messages=[reason],
        )
    reason = (
        f"Full synchronization: the webhook job had no successful run "
        f"in the last {_minutes(row.period_minutes)}."
    )
    return _new_run(row, queued_at, Trigger.EMERGENCY, key, row.channel_id, messages=[reason])


def _minutes(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _advance(row: Claimed, now: datetime) -> None:
    # From now, not from the missed run: after downtime a job runs once, not once per
    # missed window.
    nxt = first_run(row, max(now, row.next_run_at))
    row.next_run_at, row.window_start = nxt.run_at, nxt.window_start


def _pending(channel_id: int, platform: str, job_type: str) -> list[WebhookEvent]:
    return list(
        WebhookEvent.objects.filter(
            channel_id=channel_id,
            topic__in=topics_for(platform, job_type),
            processed_at__isnull=True,
            job_run__isnull=True,
        ).only("pk", "entity_ids")
    )


def _webhook(row: Claimed, platform: str, now: datetime, queued_at: datetime) -> _Planned | None:
    """One run per channel and job type: a row is due when armed by an event, or when
    the lock of a run that never finished expires (its worker died)."""
    if row.lock_run_id:
        if row.locked_until and row.locked_until > now:
            row.next_run_at = row.locked_until
            return None
        JobRun.objects.filter(pk=row.lock_run_id, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).update(
            status=RunStatus.FAILED, finished_at=now, messages=[CRASHED]
        )
        # Its events go back to the queue: the next run takes them (imports are keyed by
        # external id, so what the dead run stored is not stored twice).
        WebhookEvent.objects.filter(job_run_id=row.lock_run_id, processed_at__isnull=True).update(
            job_run=None
        )
        row.lock_run_id, row.locked_until = None, None
    events = _pending(row.channel_id, platform, row.job_type)
    if not events:
        row.next_run_at = row.window_start = None
        return None
    run = _new_run(row, queued_at, Trigger.WEBHOOK, f"{row.pk}:{row.next_run_at.isoformat()}", row.channel_id)
    row.locked_until = now + lock_ttl()
    # Not disarmed while the run holds the lock: if its worker dies, this wakes the job.
    row.next_run_at = row.locked_until
    return _Planned(run, None, [e.pk for e in events], row)


def _create_runs(planned: list[_Planned]) -> list[Message]:
    ids = insert_new(JobRun, [p.run for p in planned], "idempotency_key")
    messages = []
    for p in planned:
        pk = ids.get(p.run["idempotency_key"])
        if pk is None:  # that window already has its run: another dispatcher, or a retry
            continue
        if p.events:
            WebhookEvent.objects.filter(pk__in=p.events).update(job_run=pk)
        if p.row is not None:
            p.row.lock_run_id = pk
        messages.append(Message(pk, p.ids))
    return messages
