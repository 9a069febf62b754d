"""Reads of automation configuration used by the pages, the API, the reconciler and the
dispatcher: which jobs are offered, where a job runs, and its next runs preview."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, MasterProductSource
from channels.connectors import connector_class
from channels.models import Channel
from channels.platforms import PLATFORMS, PRODUCT_JOBS, JobType, Stability
from channels.selectors import product_job_allowed

from . import schedule
from .models import (
    ChannelAutomation,
    ChannelJobSetting,
    JobRun,
    Mode,
    ScheduleKind,
    StableJobSetting,
    Trigger,
    row_key,
)

STABLE_PLATFORMS = tuple(k for k, p in PLATFORMS.items() if p.stability == Stability.STABLE)
PREVIEW_COUNT = 5


def clock() -> datetime:
    """The previews' "now": one place for tests to inject a clock (the page and the API read it)."""
    return timezone.now()


def stable_targets(account: Account, job_type: str, channels=None) -> list[Channel]:
    """Active stable channels of the account that an account-wide job runs for."""
    if channels is None:
        channels = Channel.objects.filter(account=account, platform__in=STABLE_PLATFORMS, is_active=True)
    return [
        c
        for c in channels
        if c.is_active
        and c.platform in STABLE_PLATFORMS
        and job_type in c.platform_info.job_types
        and product_job_allowed(account, c.pk, job_type)
    ]


@dataclass
class StableJobRow:
    job_type: str
    label: str
    setting: StableJobSetting
    offered: bool
    warning: str
    targets: list


def stable_job_rows(account: Account) -> list[StableJobRow]:
    """The Recurring Jobs tab: a row per job type the account's stable channels support
    and the Master Product Source offers, plus any configured job that contradicts it."""
    channels = list(Channel.objects.filter(account=account, platform__in=STABLE_PLATFORMS))
    supported = {jt for c in channels for jt in c.platform_info.job_types}
    settings = {s.job_type: s for s in StableJobSetting.objects.filter(account=account)}
    rows = []
    for job_type in JobType.values:
        if job_type not in supported and job_type not in settings:
            continue
        offered = job_type in supported and (
            job_type not in PRODUCT_JOBS
            or any(
                product_job_allowed(account, c.pk, job_type)
                for c in channels
                if job_type in c.platform_info.job_types
            )
        )
        setting = settings.get(job_type) or StableJobSetting(account=account, job_type=job_type)
        warning = ""
        if not offered and setting.enabled and job_type in PRODUCT_JOBS:
            warning = product_warning(account, job_type)
        if not offered and not warning:
            continue
        rows.append(
            StableJobRow(
                job_type,
                JobType(job_type).label,
                setting,
                offered,
                warning,
                stable_targets(account, job_type),
            )
        )
    return rows


def product_warning(account: Account, job_type: str) -> str:
    if account.master_product_source == MasterProductSource.TECHOMS:
        if job_type == JobType.IMPORT_PRODUCTS:
            return "The Master Product Source is techOMS: Import Products does not run."
        return ""
    if job_type == JobType.IMPORT_PRODUCTS:
        return "Import Products runs only against the Master Product Channel, which is not a stable channel."
    return "Export Products has no channel to run for: the only one is the Master Product Channel."


def channel_mode(channel: Channel) -> str:
    automation = ChannelAutomation.objects.filter(channel=channel).first()
    return automation.mode if automation else Mode.RECURRING


def allowed_modes(channel: Channel) -> list[str]:
    """Modes the connector's capabilities allow."""
    info = channel.platform_info
    modes = [Mode.RECURRING]
    if info.supports_webhooks:
        modes.insert(0, Mode.WEBHOOK)
        if info.supports_fetch_by_id:
            modes.append(Mode.RECURRING_BY_ID)
    return modes


def channel_job_settings(channel: Channel) -> dict[str, ChannelJobSetting]:
    """Every job type of the channel's connector with its setting (unsaved default if none)."""
    saved = {s.job_type: s for s in ChannelJobSetting.objects.filter(channel=channel)}
    return {
        jt: saved.get(jt) or ChannelJobSetting(channel=channel, job_type=jt)
        for jt in channel.platform_info.job_types
    }


def webhook_job_types(channel: Channel) -> set[str]:
    """Job types some inbound webhook topic of the channel's platform concerns."""
    return {jt for jts in connector_class(channel.platform).topic_job_types.values() for jt in jts}


def topics_for(platform: str, job_type: str) -> list[str]:
    return [t for t, jts in connector_class(platform).topic_job_types.items() if job_type in jts]


def stable_preview(account: Account, setting: StableJobSetting) -> list[dict]:
    """The next runs of an account-wide job as saved (none until it is enabled and saved)."""
    return preview(
        account,
        row_key(ScheduleKind.STABLE, account.pk, setting.job_type),
        setting.period_minutes if setting.enabled and setting.pk else None,
        postpone_minutes=setting.delay_minutes,
    )


def recurring_preview(channel: Channel, setting: ChannelJobSetting) -> list[dict]:
    """The next runs of a beta channel job in the recurring modes."""
    return preview(
        channel.account,
        row_key(ScheduleKind.BETA, channel.pk, setting.job_type),
        setting.period_minutes if setting.enabled else None,
        shift_minutes=setting.delay_minutes,
    )


def emergency_preview(channel: Channel, setting: ChannelJobSetting, active: bool = True) -> list[dict]:
    """The next emergency checks of a beta channel job in Webhook mode."""
    return preview(
        channel.account,
        row_key(ScheduleKind.EMERGENCY, channel.pk, setting.job_type),
        setting.emergency_period_minutes if setting.enabled and active else None,
    )


def preview(
    account: Account,
    key: str,
    period_minutes: int | None,
    *,
    shift_minutes: int | None = None,
    postpone_minutes: int | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """The next runs of a job, each in account time and UTC (empty when it never runs)."""
    if not period_minutes:
        return []
    tz = account.tzinfo
    runs = schedule.next_runs(
        now or clock(),
        tz,
        timedelta(minutes=period_minutes),
        job_key=key,
        shift_earlier=timedelta(minutes=shift_minutes or 0),
        postpone=timedelta(minutes=postpone_minutes or 0),
        count=PREVIEW_COUNT,
    )
    return [{"local": r.run_at.astimezone(tz), "utc": r.run_at} for r in runs]


def stable_draft_preview(account: Account, job_type: str, period_minutes: int, delay_minutes: int | None):
    """The next runs an account-wide job would have once saved with these values."""
    key = row_key(ScheduleKind.STABLE, account.pk, job_type)
    return preview(account, key, period_minutes, postpone_minutes=delay_minutes)


# --- the run log as pages show it ---------------------------------------------------------

STRIP_LENGTH = 12
# Job Runs' filter value for the real-time inventory pushes. A push is stored as an Export
# Inventory run with the Schedule trigger (its timer started it) and, unlike the
# dispatcher's scheduled runs, no window key: that is how the log tells them apart.
REALTIME = "realtime"
REALTIME_LABEL = "Real-time push"


def realtime_pushes() -> Q:
    return Q(job_type=JobType.EXPORT_INVENTORY, trigger=Trigger.SCHEDULE, idempotency_key__isnull=True)


def is_realtime_push(run: JobRun) -> bool:
    push = run.job_type == JobType.EXPORT_INVENTORY and run.trigger == Trigger.SCHEDULE
    return push and not run.idempotency_key


def filter_trigger(runs, trigger: str):
    """Runs started by `trigger`, the real-time pushes counted apart from the schedule."""
    if trigger == REALTIME:
        return runs.filter(realtime_pushes())
    runs = runs.filter(trigger=trigger)
    return runs.exclude(realtime_pushes()) if trigger == Trigger.SCHEDULE else runs


STRIP_FIELDS = ("pk", "job_type", "trigger", "status", "queued_at", "finished_at", "idempotency_key")


def recent_runs(runs, limit: int = STRIP_LENGTH) -> list[JobRun]:
    """The last runs of a query, oldest first (a strip reads left to right)."""
    return list(reversed(runs.only(*STRIP_FIELDS)[:limit]))


def channel_job_strips(channel: Channel) -> dict[str, list[JobRun]]:
    """Each job type of a channel: its last runs."""
    runs = JobRun.objects.filter(channel=channel)
    return {jt: recent_runs(runs.filter(job_type=jt)) for jt in channel.platform_info.job_types}


def stable_job_strips(account: Account, job_types) -> dict[str, list[JobRun]]:
    """Each account-wide job type: its last runs on the account's stable channels."""
    runs = JobRun.objects.filter(account=account, channel__platform__in=STABLE_PLATFORMS)
    return {jt: recent_runs(runs.filter(job_type=jt)) for jt in job_types}


def account_run(account: Account, run_id: int) -> JobRun | None:
    """One run of the account (None for another tenant's id)."""
    return JobRun.objects.filter(account=account, pk=run_id).select_related("channel", "requested_by").first()


RETRIED = re.compile(r"^Attempt (\d+) of \d+ after: (.*)$", re.S)
LAST_FAILED = re.compile(r"^Attempt (\d+) of \d+: (.*)$", re.S)
# Counts the engine keeps about the run itself rather than the work it did.
RUN_COUNTS = ("attempts", "lost_workers")


def run_details(run: JobRun) -> dict:
    """A run's page: its attempts (the runner tells each retry in the messages: "Attempt
    n of 4 after: <error>" as attempt n starts, "Attempt n of 4: <error>" when the last
    one fails), its other messages, the counts of its work and the events it took."""
    attempts, messages = [], []
    last_error = ""
    for message in run.messages:
        if retried := RETRIED.match(message):
            number, detail = int(retried[1]) - 1, retried[2]
            attempts.append({"number": number, "outcome": "Failed, retried", "detail": detail})
        elif failed := LAST_FAILED.match(message):
            last_error = failed[2]
        else:
            messages.append(message)
    final = run.counts.get("attempts") or len(attempts) + 1
    attempts.append({"number": final, "outcome": run.get_status_display(), "detail": last_error})
    return {
        "attempts": attempts,
        "run_messages": messages,
        "work_counts": {k: v for k, v in run.counts.items() if k not in RUN_COUNTS},
        "lost_workers": run.counts.get("lost_workers", 0),
        "events": list(run.webhook_events.order_by("received_at")[:200]),
        "realtime_push": is_realtime_push(run),
        "took": run.finished_at - run.started_at if run.started_at and run.finished_at else None,
        # The same job's runs around it, for context (its own mark among them).
        "siblings": recent_runs(
            JobRun.objects.filter(account=run.account_id, channel=run.channel_id, job_type=run.job_type)
        ),
    }


def channel_recent_runs(channel: Channel) -> list[JobRun]:
    return recent_runs(JobRun.objects.filter(channel=channel))
