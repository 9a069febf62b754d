"""The due-jobs dispatcher: claims due schedule rows in batches, advances them to their
next window and turns them into Job Runs, enqueued after the claim commits.

Beat calls it every second (`tasks.dispatch_due_jobs`). On PostgreSQL rows are claimed
with FOR UPDATE SKIP LOCKED, so dispatchers can race; on SQLite the IMMEDIATE
transactions serialize them. Either way every JobRun carries an idempotency key per
(row, window): a window is never run twice, whoever dispatches it.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import JSONField, Min
from django.utils import timezone
from kombu.utils.uuid import uuid

from accounts.models import Account
from channels.models import Channel, WebhookEvent

from .models import ChannelAutomation, JobRun, Mode, RunStatus, ScheduleEntry, ScheduleKind, Trigger
from .reconciler import first_run, save_rows
from .selectors import STABLE_PLATFORMS, stable_targets, topics_for

BATCH_SIZE = 1000
# Runs per INSERT on SQLite (12 parameters each: under its limit of 32,766).
INSERT_BATCH = 1000
# Messages per Redis pipeline round trip when publishing runs.
PUBLISH_BATCH = 1000
CRASHED = "The worker running this job stopped; its lock expired and the job was run again."


def lock_ttl() -> timedelta:
    """How long a webhook run holds its job: past the hard time limit, a worker is gone."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


@dataclass(frozen=True)
class Message:
    run_id: int
    ids: list[str] | None = None


def dispatch_due(
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    publish: Callable[[list[Message]], None] | None = None,
) -> int:
    """Dispatch every row due at `now`; the number of runs enqueued."""
    now = now or timezone.now()
    publish = publish or publish_runs
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                ScheduleEntry.objects.select_for_update(skip_locked=True)
                .filter(enabled=True, next_run_at__lte=now)
                .order_by("next_run_at")[:batch_size]
            )
            messages = _dispatch(rows, now)
            save_rows(rows, ["next_run_at", "window_start", "locked_until", "lock_run"])
            if messages:
                transaction.on_commit(lambda m=messages: publish(m))
        total += len(messages)
        if len(rows) < batch_size:
            return total


def publish_runs(messages: list[Message]) -> None:
    """Send the run tasks over one broker connection, in batches.

    `apply_async` per message publishes ~700/s: each call routes the task and makes its
    own Redis round trip. Here the route is computed once, the task messages are built
    with Celery's own protocol (`create_task_message`, so workers see ordinary
    `execute_run` tasks) and kombu's `Producer.batch` pipelines the Redis LPUSHes,
    PUBLISH_BATCH messages per round trip (transports without batching publish each
    message at once, on the same channel). `Producer.publish` is called directly rather
    through Celery's `send_task_message`, whose per-message retry wrapper and publish
    signals cost a third of the time and do nothing for a buffered message (a failed
    flush raises out of the batch).
    """
    from .tasks import execute_run

    task = execute_run._get_current_object()  # not the lazy proxy: read once per message
    app = task._get_app()
    if app.conf.task_always_eager:
        # Eager mode (tests, debugging) runs the task in the caller: no broker involved.
        for m in messages:
            task.apply_async((m.run_id, m.ids))
        return
    amqp, name, conf = app.amqp, task.name, app.conf
    options = {
        "time_limit": task.time_limit,
        "soft_time_limit": task.soft_time_limit,
        "ignore_result": task.ignore_result,
        "kwargsrepr": "{}",
    }
    queue = amqp.router.route({}, name, args=None, kwargs=None)["queue"]
    # What send_task_message does for a direct exchange: the default exchange, keyed by queue.
    publish = {
        "exchange": "",
        "routing_key": queue.name,
        "serializer": conf.task_serializer,
        "compression": conf.task_compression,
        "delivery_mode": queue.exchange.delivery_mode or conf.task_default_delivery_mode,
        "declare": [],  # declared once below, not per message
        "retry": False,
    }
    with app.producer_or_acquire() as producer:
        producer.maybe_declare(queue)
        with producer.batch(max_size=PUBLISH_BATCH):
            for m in messages:
                # An explicit argsrepr spares Celery's saferepr, a third of its cost.
                argsrepr = f"({m.run_id}, {len(m.ids)} ids)" if m.ids else f"({m.run_id}, None)"
                headers, properties, body, _ = amqp.create_task_message(
                    uuid(), name, (m.run_id, m.ids), {}, argsrepr=argsrepr, **options
                )
                producer.publish(body, headers=headers, **publish, **properties)


@dataclass
class _Planned:
    run: JobRun
    ids: list[str] | None = None
    events: list[int] | None = None
    row: ScheduleEntry | None = None  # the webhook row whose lock the run holds


def _dispatch(rows: list[ScheduleEntry], now: datetime) -> list[Message]:
    accounts = Account.objects.in_bulk({r.account_id for r in rows})
    stable_accounts = {r.account_id for r in rows if r.kind == ScheduleKind.STABLE}
    channels_of = defaultdict(list)
    for c in Channel.objects.filter(
        account_id__in=stable_accounts, platform__in=STABLE_PLATFORMS, is_active=True
    ):
        channels_of[c.account_id].append(c)
    beta_channels = {r.channel_id for r in rows if r.channel_id}
    # Only what webhook and By ID rows read (the model also holds credentials).
    channels = Channel.objects.only("pk", "account_id", "platform").in_bulk(beta_channels)
    modes = dict(
        ChannelAutomation.objects.filter(channel__in=beta_channels).values_list("channel_id", "mode")
    )

    planned: list[_Planned] = []
    skipped: list[JobRun] = []
    for row in rows:
        account = accounts[row.account_id]

        def new_run(trigger, key, channel_id=row.channel_id, row=row, account=account, **extra):
            return JobRun(
                account=account,
                channel_id=channel_id,
                job_type=row.job_type,
                trigger=trigger,
                idempotency_key=key,
                **extra,
            )

        if row.kind == ScheduleKind.WEBHOOK:
            plan = _webhook(row, channels[row.channel_id], now, new_run)
            if plan:
                planned.append(plan)
            continue

        window = row.window_start
        _advance(row, now)
        key = f"{row.pk}:{window.isoformat()}"
        if row.kind == ScheduleKind.STABLE:
            for channel in stable_targets(account, row.job_type, channels_of[row.account_id]):
                planned.append(_Planned(new_run(Trigger.SCHEDULE, f"{key}:{channel.pk}", channel.pk)))
        elif row.kind == ScheduleKind.BETA:
            if modes.get(row.channel_id) == Mode.RECURRING_BY_ID:
                events = _pending(channels[row.channel_id], row.job_type)
                if events:  # nothing queued: nothing to fetch, no run
                    ids = sorted({i for e in events for i in e.entity_ids})
                    planned.append(_Planned(new_run(Trigger.SCHEDULE, key), ids, [e.pk for e in events]))
            else:
                planned.append(_Planned(new_run(Trigger.SCHEDULE, key)))
        elif row.kind == ScheduleKind.SYSTEM:
            planned.append(_Planned(new_run(Trigger.SCHEDULE, key)))
        elif row.kind == ScheduleKind.EMERGENCY:
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
                skipped.append(
                    new_run(
                        Trigger.EMERGENCY,
                        key,
                        status=RunStatus.SKIPPED,
                        started_at=now,
                        finished_at=now,
                        messages=[reason],
                    )
                )
            else:
                reason = (
                    f"Full synchronization: the webhook job had no successful run "
                    f"in the last {_minutes(row.period_minutes)}."
                )
                planned.append(_Planned(new_run(Trigger.EMERGENCY, key, messages=[reason])))

    JobRun.objects.bulk_create(skipped, ignore_conflicts=True)
    return _create_runs(planned)


def _minutes(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _advance(row: ScheduleEntry, now: datetime) -> None:
    # From now, not from the missed run: after downtime a job runs once, not once per
    # missed window.
    nxt = first_run(row, max(now, row.next_run_at))
    row.next_run_at, row.window_start = nxt.run_at, nxt.window_start


def _pending(channel: Channel, job_type: str) -> list[WebhookEvent]:
    return list(
        WebhookEvent.objects.filter(
            channel=channel,
            topic__in=topics_for(channel.platform, job_type),
            processed_at__isnull=True,
            job_run__isnull=True,
        ).only("pk", "entity_ids")
    )


def _webhook(row: ScheduleEntry, channel: Channel, now: datetime, new_run) -> _Planned | None:
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
        row.lock_run, row.locked_until = None, None
    events = _pending(channel, row.job_type)
    if not events:
        row.next_run_at = row.window_start = None
        return None
    run = new_run(Trigger.WEBHOOK, f"{row.pk}:{row.next_run_at.isoformat()}")
    row.locked_until = now + lock_ttl()
    # Not disarmed while the run holds the lock: if its worker dies, this wakes the job.
    row.next_run_at = row.locked_until
    return _Planned(run, None, [e.pk for e in events], row)


def _create_runs(planned: list[_Planned]) -> list[Message]:
    ids = _insert_runs([p.run for p in planned])
    messages = []
    for p in planned:
        pk = ids.get(p.run.idempotency_key)
        if pk is None:  # that window already has its run: another dispatcher, or a retry
            continue
        p.run.pk = pk
        if p.events:
            WebhookEvent.objects.filter(pk__in=p.events).update(job_run=p.run.pk)
        if p.row is not None:
            p.row.lock_run = p.run
        messages.append(Message(p.run.pk, p.ids))
    return messages


def _insert_runs(runs: list[JobRun]) -> dict[str, int]:
    """Insert the runs whose idempotency key is new; {key: id} of those inserted.

    INSERT … ON CONFLICT DO NOTHING RETURNING: the conflict decides which runs are new,
    even with dispatchers racing, where bulk_create(ignore_conflicts) needed a query
    before and one after and spent ~100 µs per row preparing values. PostgreSQL takes
    the rows as one array per column (unnest); SQLite (3.35+) as VALUES rows, in batches.
    """
    if not runs:
        return {}
    meta = JobRun._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    table, columns = qn(meta.db_table), ", ".join(qn(f.column) for f in fields)
    key = qn(meta.get_field("idempotency_key").column)
    returning = f"ON CONFLICT ({key}) DO NOTHING RETURNING {qn(meta.pk.column)}, {key}"
    postgres = connection.vendor == "postgresql"
    # psycopg adapts plain Python values itself: Django's per-value preparation (a third
    # of a burst) is kept for JSON, and on SQLite, which stores datetimes as text.
    prepare = [not postgres or isinstance(f, JSONField) for f in fields]
    values = [
        [
            f.get_db_prep_save(v, connection) if p else v
            for f, p, v in zip(fields, prepare, (f.pre_save(run, add=True) for f in fields), strict=True)
        ]
        for run in runs
    ]
    ids = {}
    # Only names and types from the model's metadata are formatted in; values are parameters.
    with connection.cursor() as cursor:
        if postgres:
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {returning}",  # noqa: S608
                [list(column) for column in zip(*values, strict=True)],
            )
            ids.update((k, pk) for pk, k in cursor.fetchall())
            return ids
        placeholders = f"({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(values), INSERT_BATCH):
            batch = values[start : start + INSERT_BATCH]
            rows = ", ".join([placeholders] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {rows} {returning}",  # noqa: S608
                [v for row in batch for v in row],
            )
            ids.update((k, pk) for pk, k in cursor.fetchall())
    return ids


def rearm(row: ScheduleEntry, now: datetime) -> None:
    """After a webhook run: events that arrived meanwhile arm the next one, counted from
    the first of them; none pending disarms the job."""
    first = WebhookEvent.objects.filter(
        channel_id=row.channel_id,
        topic__in=topics_for(row.channel.platform, row.job_type),
        processed_at__isnull=True,
        job_run__isnull=True,
    ).aggregate(first=Min("received_at"))["first"]
    row.lock_run, row.locked_until = None, None
    if first is None:
        row.next_run_at = row.window_start = None
    else:
        row.window_start = first
        row.next_run_at = max(now, first + timedelta(minutes=row.delay_minutes or 0))
