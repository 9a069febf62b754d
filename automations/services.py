"""Writes of automation configuration: the Recurring Jobs tab, a beta channel's
automation settings, the arming of webhook jobs by stored events, and a person's or a
REST client's manual sync.

Each save validates against the catalogues and the connector's capabilities, writes the
audit log like the account settings do, and reconciles the schedule on commit.
"""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from accounts.models import Account, User
from accounts.services import Change, StaleVersionError, record_audit, require_settings_edit
from channels.models import Channel, WebhookEvent
from channels.platforms import JobType, Stability

from . import schedule
from .models import (
    ChannelAutomation,
    ChannelJobSetting,
    JobRun,
    Mode,
    RunStatus,
    ScheduleEntry,
    ScheduleKind,
    StableJobSetting,
    Trigger,
    row_key,
)
from .publish import Message, send_runs
from .reconciler import reconcile_on_commit
from .selectors import allowed_modes, stable_job_rows, topics_for

PERIODS = {m: label for m, label in schedule.PERIOD_CHOICES}
STABLE_DELAYS = dict(schedule.STABLE_DELAY_CHOICES)
BETA_DELAYS = dict(schedule.BETA_DELAY_CHOICES)
WEBHOOK_DELAYS = dict(schedule.WEBHOOK_DELAY_CHOICES)
EMERGENCY_PERIODS = dict(schedule.EMERGENCY_PERIOD_CHOICES)
MODE_LABELS = dict(Mode.choices)
UNKNOWN_CHOICE = "Select one of the offered values."
CHANNEL_JOB_FIELDS = (
    "enabled",
    "period_minutes",
    "delay_minutes",
    "webhook_delay_minutes",
    "emergency_period_minutes",
)


def _require_edit(actor, account: Account) -> None:
    require_settings_edit(actor, account, "You do not have permission to change automations of this account.")


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


# How each field of a beta job reads in the audit log.
CHANNEL_JOB_LABELS = {
    "enabled": ("Enabled", _yes_no),
    "period_minutes": ("Main Job Period", lambda v: PERIODS.get(v, "None")),
    "delay_minutes": ("Delay", lambda v: BETA_DELAYS[v]),
    "webhook_delay_minutes": ("Webhook Delay", lambda v: WEBHOOK_DELAYS[v]),
    "emergency_period_minutes": ("Emergency Job Period", lambda v: EMERGENCY_PERIODS[v]),
}


def recurring_jobs_version(account: Account) -> int:
    """The tab's version: every save bumps the rows it changes, so the sum only grows."""
    return StableJobSetting.objects.filter(account=account).aggregate(v=Sum("version"))["v"] or 0


def _choice(errors: dict, field: str, value, catalogue: dict, *, required: bool = False):
    if value in ("", None) and not required:
        value = None
    try:
        value = None if value is None else int(value)
    except (TypeError, ValueError):
        value = "invalid"
    if value not in catalogue or (required and value is None):
        errors[field] = [ValidationError(UNKNOWN_CHOICE, code="invalid_choice")]
    return value


def save_recurring_jobs(
    actor, account: Account, jobs: dict[str, dict[str, Any]], expected_version: int | None
) -> list[StableJobSetting]:
    """Set Enabled, Period and Delay of the account's stable recurring jobs; all or nothing.

    `jobs` maps job types to {"enabled", "period_minutes", "delay_minutes"}; job types not
    given keep their values. Raises ValidationError (fields named "<job type>-<field>"),
    StaleVersionError or PermissionDenied.
    """
    _require_edit(actor, account)
    offered = {r.job_type for r in stable_job_rows(account) if r.offered}
    errors: dict[str, list] = {}
    cleaned = {}
    for job_type, values in jobs.items():
        if job_type not in offered:
            errors[job_type] = [
                ValidationError("This account's stable channels do not offer this job.", code="not_offered")
            ]
            continue
        cleaned[job_type] = (
            bool(values.get("enabled")),
            _choice(errors, f"{job_type}-period", values.get("period_minutes"), PERIODS, required=True),
            _choice(errors, f"{job_type}-delay", values.get("delay_minutes"), STABLE_DELAYS),
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if expected_version is not None and int(expected_version) != recurring_jobs_version(account):
            raise StaleVersionError(recurring_jobs_version(account))
        current = {s.job_type: s for s in StableJobSetting.objects.filter(account=account)}
        audit, saved = [], []
        for job_type, (enabled, period, delay) in cleaned.items():
            setting = current.get(job_type) or StableJobSetting(account=account, job_type=job_type, version=0)
            label = f"Recurring Jobs: {JobType(job_type).label}"
            new = {"enabled": enabled, "period_minutes": period, "delay_minutes": delay}
            changes = [
                Change(f"{label}: Enabled", _yes_no(setting.enabled), _yes_no(enabled)),
                Change(f"{label}: Period", PERIODS[setting.period_minutes], PERIODS[period]),
                Change(f"{label}: Delay", STABLE_DELAYS[setting.delay_minutes], STABLE_DELAYS[delay]),
            ]
            if setting.pk and all(getattr(setting, f) == v for f, v in new.items()):
                continue
            # A job without a row showed its defaults on the tab: only a value that differs
            # from what the person saw is a change worth an audit entry.
            audit.extend(c for c in changes if c.old != c.new)
            for f, v in new.items():
                setattr(setting, f, v)
            setting.version += 1
            setting.save()
            saved.append(setting)
        if audit:
            record_audit(actor, account, account.organization, "recurring_jobs_changed", audit)
        if saved:
            reconcile_on_commit(account.pk)
    return saved


def _cleaned_channel_jobs(channel: Channel, mode: str, jobs: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """The per-job settings as they will be saved, or ValidationError with every problem."""
    errors: dict[str, list] = {}
    if channel.platform_info.stability != Stability.BETA:
        raise ValidationError(
            {
                "mode": [
                    ValidationError(
                        "Stable channels follow the account's Recurring Jobs tab.", code="stable_channel"
                    )
                ]
            }
        )
    if mode not in allowed_modes(channel):
        errors["mode"] = [
            ValidationError(
                f"{channel.platform_info.label} does not support {MODE_LABELS.get(mode, repr(mode))} mode.",
                code="mode_not_supported",
            )
        ]
    cleaned = {}
    stored = {s.job_type: s for s in ChannelJobSetting.objects.filter(channel=channel)}
    for job_type, given in jobs.items():
        # Fields not given keep their stored value (a partial update).
        setting = stored.get(job_type) or ChannelJobSetting(job_type=job_type)
        values = {f: getattr(setting, f) for f in CHANNEL_JOB_FIELDS} | given
        if job_type not in channel.platform_info.job_types:
            errors[job_type] = [
                ValidationError("The channel's connector does not run this job.", code="not_offered")
            ]
            continue
        period = _choice(
            errors, f"{job_type}-period", values.get("period_minutes"), {None: "None", **PERIODS}
        )
        delay = _choice(errors, f"{job_type}-delay", values.get("delay_minutes"), BETA_DELAYS)
        if isinstance(period, int) and isinstance(delay, int):
            problem = schedule.validate_beta_delay(timedelta(minutes=period), timedelta(minutes=delay))
            if problem:
                errors[f"{job_type}-delay"] = [ValidationError(problem, code="delay_too_long")]
        cleaned[job_type] = {
            "enabled": bool(values["enabled"]),
            "period_minutes": period,
            "delay_minutes": delay,
            "webhook_delay_minutes": _choice(
                errors, f"{job_type}-webhook_delay", values.get("webhook_delay_minutes"), WEBHOOK_DELAYS
            ),
            "emergency_period_minutes": _choice(
                errors,
                f"{job_type}-emergency_period",
                values.get("emergency_period_minutes"),
                EMERGENCY_PERIODS,
            ),
        }
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_channel_automation(
    actor, channel: Channel, mode: str, jobs: dict[str, dict[str, Any]], expected_version: int | None
) -> ChannelAutomation:
    """Set a beta channel's Mode and per-job settings; all or nothing.

    `jobs` maps job types to {"enabled", "period_minutes", "delay_minutes",
    "webhook_delay_minutes", "emergency_period_minutes"}.
    """
    _require_edit(actor, channel.account)
    cleaned = _cleaned_channel_jobs(channel, mode, jobs)
    with transaction.atomic():
        automation, _ = ChannelAutomation.objects.select_for_update().get_or_create(channel=channel)
        if expected_version is not None and int(expected_version) != automation.version:
            raise StaleVersionError(automation.version)
        audit = []
        prefix = f"Channel {channel.name}"
        if automation.mode != mode:
            audit.append(Change(f"{prefix}: Mode", Mode(automation.mode).label, Mode(mode).label))
            automation.mode = mode
        current = {s.job_type: s for s in ChannelJobSetting.objects.filter(channel=channel)}
        created = False
        for job_type, new in cleaned.items():
            # A job without a row showed its defaults on the page: they are its old values,
            # so only a field the person changed is audited. The row is still stored (in
            # Webhook mode a stored row is what arms the job).
            setting = current.get(job_type) or ChannelJobSetting(channel=channel, job_type=job_type)
            changed = [f for f, v in new.items() if getattr(setting, f) != v]
            if not changed and setting.pk:
                continue
            created = created or not setting.pk
            for f in changed:
                label, show = CHANNEL_JOB_LABELS[f]
                audit.append(
                    Change(
                        f"{prefix}: {JobType(job_type).label}: {label}",
                        show(getattr(setting, f)),
                        show(new[f]),
                    )
                )
                setattr(setting, f, new[f])
            setting.save()
        if audit or created:
            automation.version += 1
            automation.save()
            reconcile_on_commit(channel.account_id)
        if audit:
            record_audit(
                actor, channel.account, channel.account.organization, "channel_automation_changed", audit
            )
    return automation


def arm_webhook_job(event_id: int) -> int:
    """A stored webhook event arms the webhook jobs its topic concerns: the first pending
    event sets the run Delay later; later events join that run. The number armed."""
    event = WebhookEvent.objects.select_related("channel").filter(pk=event_id).first()
    if event is None:
        return 0
    channel = event.channel
    job_types = [
        jt for jt in channel.platform_info.job_types if event.topic in topics_for(channel.platform, jt)
    ]
    armed = 0
    for row in ScheduleEntry.objects.filter(
        key__in=[row_key(ScheduleKind.WEBHOOK, channel.pk, jt) for jt in job_types],
        enabled=True,
        next_run_at__isnull=True,
    ):
        # Conditional on still being disarmed: two events racing arm it once.
        armed += ScheduleEntry.objects.filter(pk=row.pk, next_run_at__isnull=True).update(
            next_run_at=event.received_at + timedelta(minutes=row.delay_minutes or 0),
            window_start=event.received_at,
        )
    return armed


def request_sync(actor: User | None, channel: Channel, job_type: str) -> JobRun:
    """A manual run of one job type: recorded as queued, executed by a worker on commit
    through the task of scheduled runs (so it is retried the same way)."""
    _require_edit(actor, channel.account)
    if job_type not in JobType.values or job_type not in channel.platform_info.job_types:
        raise ValidationError({"job_type": [f"{channel.platform_info.label} does not run this job."]})
    if not channel.is_active:
        raise ValidationError({"job_type": ["The channel is inactive: activate it first."]})
    with transaction.atomic():
        run = JobRun.objects.create(
            account=channel.account,
            channel=channel,
            job_type=job_type,
            trigger=Trigger.MANUAL,
            status=RunStatus.QUEUED,
            # An API key is no person; the audit log names the key instead.
            requested_by=actor if isinstance(actor, User) else None,
        )
        # Not sent (the broker is away): the run waits Queued and the sweeper sends it.
        transaction.on_commit(lambda: send_runs([Message(run.pk)]))
    return run
