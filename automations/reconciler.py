"""Derives the schedule table from the automation configuration, idempotently.

`reconcile_account` compares the rows an account's configuration implies with the
stored rows and touches only those that differ (a second call changes nothing). It runs
on commit after every settings change and from `manage.py sync_schedules`.
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import Account
from channels.models import Channel, WebhookEvent
from channels.platforms import PLATFORMS, Stability
from channels.selectors import product_job_allowed

from . import schedule
from .bulk import update_by_pk
from .models import (
    ChannelAutomation,
    ChannelJobSetting,
    Mode,
    ScheduleEntry,
    ScheduleKind,
    StableJobSetting,
    row_key,
)
from .selectors import STABLE_PLATFORMS, stable_targets, topics_for
from .system_jobs import SYSTEM_JOBS

BETA_PLATFORMS = tuple(k for k, p in PLATFORMS.items() if p.stability == Stability.BETA)
# What the reconciler reads of a channel (the model also holds credentials and secrets).
CHANNEL_FIELDS = ("pk", "account_id", "platform", "is_active")
CHANNEL_SETTING_FIELDS = (
    "channel_id",
    "job_type",
    "enabled",
    "period_minutes",
    "delay_minutes",
    "webhook_delay_minutes",
    "emergency_period_minutes",
)
# sync_schedules works through the accounts this many at a time: few enough to bound the
# rows one pass holds in memory and locks, many enough that the queries stay few.
ACCOUNTS_PER_PASS = 50
# Rows per INSERT/UPDATE/DELETE statement (also under SQLite's bound-parameter limit).
WRITE_BATCH = 1000


class Desired(NamedTuple):
    """A row as configuration implies it (a tuple: hundreds of thousands are built in a
    full sync, and a frozen dataclass costs several times more to create)."""

    key: str
    kind: str
    account_id: int
    channel_id: int | None
    job_type: str
    enabled: bool
    period_minutes: int | None
    delay_minutes: int | None
    timezone: str


COMPARED = [f for f in Desired._fields if f != "key"]
# What the reconciler reads of a stored row: plain tuples, not model instances (creating
# those was a third of a sync of unchanged rows).
CURRENT = ("pk", "key", *COMPARED, "next_run_at", "window_start")
# Columns a created row is written with; the others keep their defaults (NULL).
INSERTED = ("key", *COMPARED, "next_run_at", "window_start", "updated_at")


def _desired(accounts: list[Account]) -> Iterator[Desired]:
    """The rows of several accounts at once, from a fixed number of queries however many
    accounts, channels and settings. The queries run now; the rows are built as they are
    iterated (so a full sync computes them while PostgreSQL stores the previous ones)."""
    by_id = {a.pk: a for a in accounts}
    stable_channels = defaultdict(list)
    for c in Channel.objects.filter(account__in=by_id, platform__in=STABLE_PLATFORMS, is_active=True).only(
        *CHANNEL_FIELDS
    ):
        stable_channels[c.account_id].append(c)
    stable_settings = list(StableJobSetting.objects.filter(account__in=by_id))
    beta = Channel.objects.filter(account__in=by_id, platform__in=BETA_PLATFORMS)
    channels = {c.pk: c for c in beta.only(*CHANNEL_FIELDS)}
    modes = dict(ChannelAutomation.objects.filter(channel__in=beta).values_list("channel_id", "mode"))
    # Tuples rather than model instances: there are as many settings as beta jobs.
    channel_settings = list(
        ChannelJobSetting.objects.filter(channel__in=beta).values_list(*CHANNEL_SETTING_FIELDS, named=True)
    )
    # The PII job runs where a retention is set, on the account or on one of its channels.
    retaining = set(
        Channel.objects.filter(account__in=by_id, pii_retention_days__isnull=False).values_list(
            "account_id", flat=True
        )
    ) | {a.pk for a in accounts if a.pii_retention_days is not None}
    return _derive(by_id, stable_channels, stable_settings, channels, modes, channel_settings, retaining)


def _derive(
    by_id, stable_channels, stable_settings, channels, modes, channel_settings, retaining
) -> Iterator[Desired]:
    for account in by_id.values():
        for job_type, (period, _runner) in SYSTEM_JOBS.items():
            yield Desired(
                row_key(ScheduleKind.SYSTEM, account.pk, job_type),
                ScheduleKind.SYSTEM,
                account.pk,
                None,
                job_type,
                account.is_active and account.pk in retaining,
                period,
                None,
                account.timezone,
            )

    for s in stable_settings:
        account = by_id[s.account_id]
        targets = stable_targets(account, s.job_type, stable_channels[account.pk])
        yield Desired(
            row_key(ScheduleKind.STABLE, account.pk, s.job_type),
            ScheduleKind.STABLE,
            account.pk,
            None,
            s.job_type,
            account.is_active and s.enabled and bool(targets),
            s.period_minutes,
            s.delay_minutes,
            account.timezone,
        )

    for s in channel_settings:
        channel = channels[s.channel_id]
        account = by_id[channel.account_id]
        platform = channel.platform_info
        mode = modes.get(channel.pk, Mode.RECURRING)
        runnable = (
            account.is_active
            and channel.is_active
            and s.enabled
            and s.job_type in platform.job_types
            and product_job_allowed(account, channel.pk, s.job_type)
        )
        recurring = mode in (Mode.RECURRING, Mode.RECURRING_BY_ID)
        common = (account.pk, channel.pk, s.job_type)
        yield Desired(
            row_key(ScheduleKind.BETA, channel.pk, s.job_type),
            ScheduleKind.BETA,
            *common,
            runnable and recurring and bool(s.period_minutes),
            s.period_minutes,
            s.delay_minutes,
            account.timezone,
        )
        if platform.supports_webhooks:
            webhook = runnable and mode == Mode.WEBHOOK
            yield Desired(
                row_key(ScheduleKind.WEBHOOK, channel.pk, s.job_type),
                ScheduleKind.WEBHOOK,
                *common,
                webhook,
                None,
                s.webhook_delay_minutes,
                account.timezone,
            )
            # Off with the main job and in By ID mode: the spec's automatic disabling.
            yield Desired(
                row_key(ScheduleKind.EMERGENCY, channel.pk, s.job_type),
                ScheduleKind.EMERGENCY,
                *common,
                webhook and bool(s.emergency_period_minutes),
                s.emergency_period_minutes,
                None,
                account.timezone,
            )


def first_run(row, now: datetime) -> schedule.Run | None:
    """The next run of a row after `now` (None for webhook rows, armed by events)."""
    if row.kind == ScheduleKind.WEBHOOK or not row.period_minutes:
        return None
    delay = timedelta(minutes=row.delay_minutes or 0)
    return schedule.next_run(
        now,
        ZoneInfo(row.timezone),
        timedelta(minutes=row.period_minutes),
        job_key=row.key,
        shift_earlier=delay if row.kind == ScheduleKind.BETA else schedule.ZERO,
        postpone=delay if row.kind == ScheduleKind.STABLE else schedule.ZERO,
    )


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


def _drifted(current, want: Desired) -> list[str]:
    changed = [f for f in COMPARED if getattr(current, f) != getattr(want, f)]
    if want.enabled and want.kind != ScheduleKind.WEBHOOK and current.next_run_at is None:
        changed.append("next_run_at")
    return changed


def reconcile_account(account_id: int, *, now: datetime | None = None, apply: bool = True) -> list[str]:
    """Bring the account's schedule rows in line with its configuration.

    Returns one line per row that differed (created, changed, deleted); with
    apply=False nothing is written (drift report).
    """
    return _reconcile([account_id], now or timezone.now(), apply)


def _reconcile(account_ids: list[int], now: datetime, apply: bool) -> list[str]:
    with transaction.atomic():
        current = {
            r.key: r
            for r in ScheduleEntry.objects.select_for_update()
            .filter(account_id__in=account_ids)
            .values_list(*CURRENT, named=True)
        }
        desired = _desired(list(Account.objects.filter(pk__in=account_ids)))
        report, update, wanted, disarmed = [], [], set(), []
        with _creating(apply) as create:
            for want in desired:
                key = want.key
                wanted.add(key)
                row = current.get(key)
                if row is None:
                    report.append(f"{key}: missing")
                    # New webhook rows start disarmed, as first_run says.
                    run = first_run(want, now) if want.enabled else None
                    create((*want, run and run.run_at, run and run.window_start, now))
                    if want.enabled and want.kind == ScheduleKind.WEBHOOK:
                        disarmed.append(want)
                    continue
                changed = _drifted(row, want)
                if not changed:
                    continue
                report.append(f"{key}: {', '.join(changed)} differ")
                entry = ScheduleEntry(
                    pk=row.pk, next_run_at=row.next_run_at, window_start=row.window_start, **want._asdict()
                )
                _retime(entry, now)
                update.append(entry)
                if entry.enabled and entry.kind == ScheduleKind.WEBHOOK and entry.next_run_at is None:
                    disarmed.append(want)
        stale = [r for k, r in current.items() if k not in wanted]
        report.extend(f"{r.key}: no longer configured" for r in stale)
        if apply:
            update_by_pk(ScheduleEntry, update, [*COMPARED, "next_run_at", "window_start", "updated_at"])
            stale_pks = [r.pk for r in stale]
            for start in range(0, len(stale_pks), WRITE_BATCH):
                ScheduleEntry.objects.filter(pk__in=stale_pks[start : start + WRITE_BATCH]).delete()
            _arm_pending(disarmed, now)
    return report


def _arm_pending(rows: list[Desired], now: datetime) -> None:
    """Webhook jobs switched on while events wait (the job enabled again, the channel
    back in Webhook mode) are armed from the first waiting event, as if it had just
    arrived: otherwise those events would wait for the next one."""
    waiting = set(
        WebhookEvent.objects.filter(
            channel_id__in={r.channel_id for r in rows}, processed_at__isnull=True, job_run__isnull=True
        ).values_list("channel_id", flat=True)
    )
    if not waiting:
        return
    keys = [r.key for r in rows if r.channel_id in waiting]
    for entry in ScheduleEntry.objects.select_related("channel").filter(key__in=keys, lock_run__isnull=True):
        rearm(entry, now)
        entry.save(update_fields=["next_run_at", "window_start", "updated_at"])


@contextmanager
def _creating(apply: bool):
    """Yields a function creating a row from its INSERTED tuple. On PostgreSQL the rows
    stream into one COPY as they are computed, so the server stores them while Python
    computes the next (Django's bulk_create spent ~100 µs per row preparing values, most
    of a full sync). The connection runs no other query until the block ends."""
    if not apply:
        yield lambda row: None
    elif connection.vendor != "postgresql":
        rows = []
        yield rows.append
        ScheduleEntry.objects.bulk_create(
            (ScheduleEntry(**dict(zip(INSERTED, r, strict=True))) for r in rows), batch_size=WRITE_BATCH
        )
    else:
        meta = ScheduleEntry._meta
        qn = connection.ops.quote_name
        columns = ", ".join(qn(meta.get_field(f).column) for f in INSERTED)
        sql = f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            yield copy.write_row


def _retime(row: ScheduleEntry, now: datetime) -> None:
    row.updated_at = now
    if row.kind == ScheduleKind.WEBHOOK:
        # Disarmed when switched off; an armed webhook row keeps its pending run.
        if not row.enabled:
            row.next_run_at = row.window_start = None
        return
    run = first_run(row, now) if row.enabled else None
    row.next_run_at = run.run_at if run else None
    row.window_start = run.window_start if run else None


def reconcile_all(*, now: datetime | None = None, apply: bool = True) -> list[str]:
    """Every account's rows (sync_schedules), ACCOUNTS_PER_PASS accounts per transaction;
    rows of deleted accounts cascade away."""
    now = now or timezone.now()
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    report = []
    for start in range(0, len(ids), ACCOUNTS_PER_PASS):
        report.extend(_reconcile(ids[start : start + ACCOUNTS_PER_PASS], now, apply))
    return report


def reconcile_on_commit(account_id: int) -> None:
    transaction.on_commit(lambda: reconcile_account(account_id))
