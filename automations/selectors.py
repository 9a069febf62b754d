"""Reads of automation configuration used by the pages, the API, the reconciler and the
dispatcher: which jobs are offered, where a job runs, and its next runs preview."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Account, MasterProductSource
from channels.connectors import connector_class
from channels.models import Channel
from channels.platforms import PLATFORMS, PRODUCT_JOBS, JobType, Stability
from channels.selectors import product_job_allowed

from . import schedule
from .models import ChannelAutomation, ChannelJobSetting, Mode, ScheduleKind, StableJobSetting, row_key

STABLE_PLATFORMS = tuple(k for k, p in PLATFORMS.items() if p.stability == Stability.STABLE)
PREVIEW_COUNT = 5


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
        now or timezone.now(),
        tz,
        timedelta(minutes=period_minutes),
        job_key=key,
        shift_earlier=timedelta(minutes=shift_minutes or 0),
        postpone=timedelta(minutes=postpone_minutes or 0),
        count=PREVIEW_COUNT,
    )
    return [{"local": r.run_at.astimezone(tz), "utc": r.run_at} for r in runs]
