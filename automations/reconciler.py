"""Derives the schedule table from the automation configuration, idempotently.

`reconcile_account` compares the rows an account's configuration implies with the
stored rows and touches only those that differ (a second call changes nothing). It runs
on commit after every settings change and from `manage.py sync_schedules`.
"""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from channels.models import Channel
from channels.platforms import PLATFORMS, Stability

from . import schedule
from .models import ChannelAutomation, ChannelJobSetting, Mode, ScheduleEntry, ScheduleKind, StableJobSetting
from .selectors import product_job_allowed, stable_targets

BETA_PLATFORMS = tuple(k for k, p in PLATFORMS.items() if p.stability == Stability.BETA)


def row_key(kind: str, owner_id: int, job_type: str) -> str:
    return f"{kind}:{owner_id}:{job_type}"


@dataclass(frozen=True)
class Desired:
    key: str
    kind: str
    account_id: int
    channel_id: int | None
    job_type: str
    enabled: bool
    period_minutes: int | None
    delay_minutes: int | None
    timezone: str


COMPARED = [f.name for f in fields(Desired) if f.name != "key"]


def desired_rows(account: Account) -> dict[str, Desired]:
    """Every schedule row the account's configuration implies, by key."""
    rows: dict[str, Desired] = {}
    tz = account.timezone
    live = account.is_active
    stable_channels = list(Channel.objects.filter(account=account, is_active=True))
    for s in StableJobSetting.objects.filter(account=account):
        key = row_key(ScheduleKind.STABLE, account.pk, s.job_type)
        enabled = live and s.enabled and bool(stable_targets(account, s.job_type, stable_channels))
        rows[key] = Desired(
            key,
            ScheduleKind.STABLE,
            account.pk,
            None,
            s.job_type,
            enabled,
            s.period_minutes,
            s.delay_minutes,
            tz,
        )

    channels = {c.pk: c for c in Channel.objects.filter(account=account, platform__in=BETA_PLATFORMS)}
    modes = dict(ChannelAutomation.objects.filter(channel__in=channels).values_list("channel_id", "mode"))
    for s in ChannelJobSetting.objects.filter(channel__in=channels):
        channel = channels[s.channel_id]
        mode = modes.get(channel.pk, Mode.RECURRING)
        runnable = (
            live
            and channel.is_active
            and s.enabled
            and s.job_type in channel.platform_info.job_types
            and product_job_allowed(account, channel.pk, s.job_type)
        )

        def add(kind, enabled, period, delay, s=s, channel=channel):
            key = row_key(kind, channel.pk, s.job_type)
            rows[key] = Desired(key, kind, account.pk, channel.pk, s.job_type, enabled, period, delay, tz)

        recurring = mode in (Mode.RECURRING, Mode.RECURRING_BY_ID)
        add(
            ScheduleKind.BETA,
            runnable and recurring and bool(s.period_minutes),
            s.period_minutes,
            s.delay_minutes,
        )
        if channel.platform_info.supports_webhooks:
            webhook = runnable and mode == Mode.WEBHOOK
            add(ScheduleKind.WEBHOOK, webhook, None, s.webhook_delay_minutes)
            # Off with the main job and in By ID mode: the spec's automatic disabling.
            add(
                ScheduleKind.EMERGENCY,
                webhook and bool(s.emergency_period_minutes),
                s.emergency_period_minutes,
                None,
            )
    return rows


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


def _drifted(current: ScheduleEntry, want: Desired) -> list[str]:
    changed = [f for f in COMPARED if getattr(current, f) != getattr(want, f)]
    if want.enabled and want.kind != ScheduleKind.WEBHOOK and current.next_run_at is None:
        changed.append("next_run_at")
    return changed


def reconcile_account(account_id: int, *, now: datetime | None = None, apply: bool = True) -> list[str]:
    """Bring the account's schedule rows in line with its configuration.

    Returns one line per row that differed (created, changed, deleted); with
    apply=False nothing is written (drift report).
    """
    now = now or timezone.now()
    account = Account.objects.filter(pk=account_id).first()
    with transaction.atomic():
        current = {r.key: r for r in ScheduleEntry.objects.select_for_update().filter(account_id=account_id)}
        # Systems rows (PII retention and the like) are not derived from job settings.
        current = {k: r for k, r in current.items() if r.kind != ScheduleKind.SYSTEM}
        wanted = desired_rows(account) if account else {}
        report, create, update = [], [], []
        for key, want in wanted.items():
            row = current.get(key)
            if row is None:
                report.append(f"{key}: missing")
                row = ScheduleEntry(**{f: getattr(want, f) for f in ("key", *COMPARED)})
                _retime(row, now)
                create.append(row)
                continue
            changed = _drifted(row, want)
            if not changed:
                continue
            report.append(f"{key}: {', '.join(changed)} differ")
            for f in COMPARED:
                setattr(row, f, getattr(want, f))
            _retime(row, now)
            update.append(row)
        stale = [r for k, r in current.items() if k not in wanted]
        report.extend(f"{r.key}: no longer configured" for r in stale)
        if apply:
            ScheduleEntry.objects.bulk_create(create)
            ScheduleEntry.objects.bulk_update(
                update, [*COMPARED, "next_run_at", "window_start", "updated_at"], batch_size=500
            )
            ScheduleEntry.objects.filter(pk__in=[r.pk for r in stale]).delete()
    return report


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
    """Every account's rows (sync_schedules); rows of deleted accounts cascade away."""
    report = []
    for account_id in Account.objects.order_by("pk").values_list("pk", flat=True).iterator():
        report.extend(reconcile_account(account_id, now=now, apply=apply))
    return report


def reconcile_on_commit(account_id: int) -> None:
    transaction.on_commit(lambda: reconcile_account(account_id))
