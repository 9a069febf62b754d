"""Automation pages: the Recurring Jobs tab (rendered by the account page), a beta
channel's Automations section (saved here, shown on the channel page), and Job Runs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.middleware import current_account_access
from accounts.services import StaleVersionError
from channels.platforms import JobType
from channels.selectors import channel_for, product_job_warning

from . import schedule, selectors, services
from .models import JobRun, Mode, RunJobType, RunStatus, Trigger

FORM_KEY = "automation_form:{}"
RUNS_PER_PAGE = 100
JOB_FIELDS = ("period_minutes", "delay_minutes", "webhook_delay_minutes", "emergency_period_minutes")


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    return {field: list(msgs) for field, msgs in error.message_dict.items()}


def _stable_rows(account, posted=None):
    rows = []
    for row in selectors.stable_job_rows(account):
        s = row.setting
        values = {"enabled": s.enabled, "period_minutes": s.period_minutes, "delay_minutes": s.delay_minutes}
        if posted and row.job_type in posted:
            values = posted[row.job_type]
        rows.append(
            {
                "job_type": row.job_type,
                "label": row.label,
                "offered": row.offered,
                "warning": row.warning,
                "targets": row.targets,
                "values": values,
                "preview": selectors.stable_preview(account, s),
            }
        )
    return rows


def _posted_jobs(post, job_types, fields) -> dict:
    jobs = {}
    for job_type in job_types:
        if not any(k.startswith(f"{job_type}-") for k in post):
            continue  # a row the form did not send keeps its settings
        jobs[job_type] = {"enabled": post.get(f"{job_type}-enabled") == "on"}
        for field in fields:
            name = f"{job_type}-{field.removesuffix('_minutes')}"
            # A disabled field is not posted: the service keeps its stored value.
            if name in post:
                jobs[job_type][field] = post.get(name) or None
    return jobs


def recurring_jobs_tab(request, access, here):
    """Context of the account's Recurring Jobs tab, or a redirect after a save."""
    account = access.account
    errors, posted = {}, None
    if request.method == "POST":
        if not access.can_edit_settings:
            raise PermissionDenied("Account Users have read-only access.")
        offered = [r.job_type for r in selectors.stable_job_rows(account) if r.offered]
        posted = _posted_jobs(request.POST, offered, ("period_minutes", "delay_minutes"))
        try:
            services.save_recurring_jobs(request.user, account, posted, request.POST.get("version"))
        except ValidationError as error:
            errors = _field_errors(error)
        except StaleVersionError as error:
            errors = {"__all__": [str(error)]}
        else:
            messages.success(request, "Recurring jobs saved.")
            return redirect(here)
    return {
        "rows": _stable_rows(account, posted),
        "errors": errors,
        "form_errors": errors.get("__all__", []),
        "version": services.recurring_jobs_version(account),
        "period_choices": schedule.PERIOD_CHOICES,
        "delay_choices": schedule.STABLE_DELAY_CHOICES,
        "read_only": not access.can_edit_settings,
    }


def channel_section(request, channel, access) -> dict:
    """Context of a channel's Automations section on the channel page."""
    form = request.session.pop(FORM_KEY.format(channel.pk), None) or {}
    posted = form.get("jobs") or {}
    mode = form.get("mode") or selectors.channel_mode(channel)
    webhook_jobs = selectors.webhook_job_types(channel)
    jobs = []
    for job_type, s in selectors.channel_job_settings(channel).items():
        values = posted.get(job_type) or {
            "enabled": s.enabled,
            **{f: getattr(s, f) for f in JOB_FIELDS},
        }
        emergency_off = ""
        if mode == Mode.RECURRING_BY_ID:
            emergency_off = "Emergency fallback jobs are off in Recurring Job By ID mode."
        elif not s.enabled:
            emergency_off = "Emergency fallback is off while the main job is disabled."
        jobs.append(
            {
                "job_type": job_type,
                "label": JobType(job_type).label,
                "values": values,
                "warning": product_job_warning(channel, job_type),
                "webhook_topic": job_type in webhook_jobs,
                "emergency_off": emergency_off,
                "recurring_preview": selectors.recurring_preview(channel, s),
                "emergency_preview": selectors.emergency_preview(channel, s, active=not emergency_off),
            }
        )
    automation = channel.automation if hasattr(channel, "automation") else None
    return {
        "channel": channel,
        "read_only": not access.can_edit_settings,
        "mode": mode,
        "saved_mode": selectors.channel_mode(channel),
        "modes": [(m, Mode(m).label) for m in selectors.allowed_modes(channel)],
        "jobs": jobs,
        "errors": form.get("errors") or {},
        "version": automation.version if automation else 1,
        "period_choices": ((None, "None"), *schedule.PERIOD_CHOICES),
        "delay_choices": schedule.BETA_DELAY_CHOICES,
        "webhook_delay_choices": schedule.WEBHOOK_DELAY_CHOICES,
        "emergency_choices": schedule.EMERGENCY_PERIOD_CHOICES,
    }


@login_required
@require_POST
def save_channel_automation(request, channel_id):
    access = current_account_access(request)
    channel = channel_for(access.account, channel_id)
    if not access.can_edit_settings:
        raise PermissionDenied("Account Users have read-only access.")
    mode = request.POST.get("mode", "")
    jobs = _posted_jobs(request.POST, channel.platform_info.job_types, JOB_FIELDS)
    try:
        services.save_channel_automation(request.user, channel, mode, jobs, request.POST.get("version"))
    except ValidationError as error:
        request.session[FORM_KEY.format(channel.pk)] = {
            "mode": mode,
            "jobs": jobs,
            "errors": _field_errors(error),
        }
        messages.error(request, "Automations were not saved: see the errors below.")
    except StaleVersionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Automations saved.")
    return redirect(reverse("channel_detail", args=[channel.pk]) + "#automations")


@login_required
def job_runs(request, channel_id=None):
    """Job Runs of the current account, or of one of its channels, with filters."""
    access = request.account_access
    if access is None:
        return render(request, "accounts/select_account.html")
    runs = JobRun.objects.filter(account=access.account).select_related("channel", "requested_by")
    channel = None
    if channel_id is not None:
        channel = channel_for(access.account, channel_id)
        runs = runs.filter(channel=channel)
    filters = {}
    # A channel's runs are channel jobs only; the account's include system jobs (PII Retention).
    job_types = JobType if channel else RunJobType
    for name, choices in (("status", RunStatus), ("trigger", Trigger), ("job_type", job_types)):
        value = request.GET.get(name)
        if value in choices.values:
            runs = runs.filter(**{name: value})
            filters[name] = value
    return render(
        request,
        "automations/job_runs.html",
        {
            "channel": channel,
            "runs": runs[:RUNS_PER_PAGE],
            "filters": filters,
            "statuses": RunStatus.choices,
            "triggers": Trigger.choices,
            "job_types": job_types.choices,
        },
    )
