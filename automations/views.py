"""Automation pages: the Recurring Jobs tab (rendered by the account page), a beta
channel's Automations section (saved here, shown on the channel page), the live preview of
a job row's next runs, the account's schedule, Job Runs and a run's own page."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.middleware import current_account_access
from accounts.services import StaleVersionError
from channels.platforms import JobType
from channels.selectors import channel_for, product_job_allowed, product_job_warning

from . import schedule, selectors, services, timeline
from .forms import RunFilterForm
from .models import ChannelJobSetting, JobRun, Mode

FORM_KEY = "automation_form:{}"
RUNS_PER_PAGE = 50
JOB_FIELDS = ("period_minutes", "delay_minutes", "webhook_delay_minutes", "emergency_period_minutes")


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    return {field: list(msgs) for field, msgs in error.message_dict.items()}


DISABLED = "Disabled: it does not run."
WRONG_VALUE = "Choose one of the listed values."
PERIODS = dict(schedule.PERIOD_CHOICES)
DELAYS = dict(schedule.DELAY_CHOICES)
WEBHOOK_DELAYS = dict(schedule.WEBHOOK_DELAY_CHOICES)
EMERGENCY_PERIODS = dict(schedule.EMERGENCY_PERIOD_CHOICES)


def _minutes(value, choices: dict, *, optional: bool = True) -> int | None:
    """A stored or posted choice as minutes; ValueError when it is not offered."""
    minutes = None if value in (None, "") else int(value)
    if (minutes is None and not optional) or (minutes is not None and minutes not in choices):
        raise ValueError(value)
    return minutes


def _stable_cell(account, job_type: str, values: dict, targets) -> dict:
    """What a stable row's Next runs cell says for these (saved or unsaved) values."""
    if not values.get("enabled"):
        return {"note": DISABLED}
    try:
        period = _minutes(values.get("period_minutes"), PERIODS, optional=False)
        delay = _minutes(values.get("delay_minutes"), DELAYS)
    except ValueError:
        return {"error": WRONG_VALUE}
    if not targets:
        return {"note": "No active stable channel: it does not run."}
    return {"preview": selectors.stable_draft_preview(account, job_type, period, delay)}


def _channel_cell(channel, job_type: str, values: dict, webhook_topic: bool) -> dict:
    """What a beta job row's Next runs cell says in each mode for these values (the
    reconciler's rules: a recurring job needs a Main Job Period, a Webhook mode job runs on
    its webhooks when a topic announces it, and on its Emergency Job Period)."""
    if not values.get("enabled"):
        return {"recurring": {"note": DISABLED}, "webhook": {"lead": DISABLED}}
    idle = ""
    if not channel.is_active:
        idle = "The channel is inactive: its jobs do not run."
    elif not product_job_allowed(channel.account, channel.pk, job_type):
        idle = "The Master Product Source keeps this job from running here."
    if idle:
        return {"recurring": {"note": idle}, "webhook": {"lead": idle}}
    try:
        period = _minutes(values.get("period_minutes"), PERIODS)
        delay = _minutes(values.get("delay_minutes"), DELAYS)
        webhook_delay = _minutes(values.get("webhook_delay_minutes"), WEBHOOK_DELAYS)
        emergency = _minutes(values.get("emergency_period_minutes"), EMERGENCY_PERIODS)
    except ValueError:
        return {"error": WRONG_VALUE}
    setting = ChannelJobSetting(
        channel=channel,
        job_type=job_type,
        enabled=True,
        period_minutes=period,
        delay_minutes=delay,
        emergency_period_minutes=emergency,
    )
    minutes = timedelta(minutes=1)
    problem = period and schedule.validate_beta_delay(period * minutes, (delay or 0) * minutes)
    if period is None:
        recurring = {"note": "Enabled, but with no Main Job Period it does not run in this mode."}
    elif problem:
        recurring = {"error": problem}
    else:
        recurring = {"preview": selectors.recurring_preview(channel, setting)}
    checks = selectors.emergency_preview(channel, setting)
    if webhook_topic:
        after = f"{WEBHOOK_DELAYS[webhook_delay]} after the first event" if webhook_delay else "at once"
        lead = f"Runs on webhooks, {after}."
    elif checks:
        lead = "No webhook announces this job: only its emergency checks run it."
    else:
        lead = "No webhook announces this job and it has no Emergency Job Period: it does not run."
    return {"recurring": recurring, "webhook": {"lead": lead, "checks": checks}}


def _stable_rows(account, posted=None):
    rows = []
    job_rows = selectors.stable_job_rows(account)
    strips = selectors.stable_job_strips(account, [r.job_type for r in job_rows])
    for row in job_rows:
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
                "cell": _stable_cell(account, row.job_type, values, row.targets),
                "recent": strips[row.job_type],
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
        "delay_choices": schedule.DELAY_CHOICES,
        "read_only": not access.can_edit_settings,
    }


def channel_section(request, channel, access) -> dict:
    """Context of a channel's Automations section on the channel page."""
    form = request.session.pop(FORM_KEY.format(channel.pk), None) or {}
    posted = form.get("jobs") or {}
    mode = form.get("mode") or selectors.channel_mode(channel)
    webhook_jobs = selectors.webhook_job_types(channel)
    strips = selectors.channel_job_strips(channel)
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
                "cell": _channel_cell(channel, job_type, values, job_type in webhook_jobs),
                "recent": strips[job_type],
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
        "delay_choices": schedule.DELAY_CHOICES,
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


def _draft_values(query, job_type: str, fields, stored: dict) -> dict:
    """A row's values as its form would post them now; fields the form does not send
    (disabled) keep their stored value, as a save would."""
    return {**stored, **_posted_jobs(query, [job_type], fields).get(job_type, {"enabled": False})}


@login_required
@require_GET
def recurring_jobs_preview(request):
    """The Next runs cell of one Recurring Jobs row for the values in the form, unsaved."""
    account = current_account_access(request).account
    job_type = request.GET.get("job_type")
    row = next((r for r in selectors.stable_job_rows(account) if r.job_type == job_type), None)
    if row is None:
        raise Http404("No such job on this account.")
    s = row.setting
    stored = {"enabled": s.enabled, "period_minutes": s.period_minutes, "delay_minutes": s.delay_minutes}
    values = _draft_values(request.GET, job_type, ("period_minutes", "delay_minutes"), stored)
    cell = _stable_cell(account, job_type, values, row.targets)
    return render(
        request,
        "automations/_stable_cell.html",
        {"cell": cell, "draft": request.GET.get("draft") == "1"},
        status=400 if "error" in cell else 200,
    )


@login_required
@require_GET
def channel_automation_preview(request, channel_id):
    """The Next runs cell of one beta job row for the values in the form, unsaved."""
    channel = channel_for(current_account_access(request).account, channel_id)
    job_type = request.GET.get("job_type")
    stable = channel.platform in selectors.STABLE_PLATFORMS
    settings = {} if stable else selectors.channel_job_settings(channel)
    if job_type not in settings:
        raise Http404("No such job on this channel.")
    s = settings[job_type]
    stored = {"enabled": s.enabled, **{f: getattr(s, f) for f in JOB_FIELDS}}
    values = _draft_values(request.GET, job_type, JOB_FIELDS, stored)
    topic = job_type in selectors.webhook_job_types(channel)
    cell = _channel_cell(channel, job_type, values, topic)
    return render(
        request,
        "automations/_channel_cell.html",
        {"cell": cell, "draft": request.GET.get("draft") == "1"},
        status=400 if "error" in cell else 200,
    )


@login_required
def schedule_page(request):
    """The account's next 24 hours: every job of every channel, where runs pile up."""
    access = request.account_access
    if access is None:
        return render(request, "accounts/select_account.html")
    return render(
        request,
        "automations/schedule.html",
        {"timeline": timeline.account_timeline(access.account, selectors.clock())},
    )


@login_required
def job_runs(request, channel_id=None):
    """Job Runs of the current account, or of one of its channels, with filters."""
    access = request.account_access
    if access is None:
        return render(request, "accounts/select_account.html")
    channel = channel_for(access.account, channel_id) if channel_id is not None else None
    form = RunFilterForm(request.GET, account=access.account, channel=channel)
    runs = JobRun.objects.filter(account=access.account).select_related("channel", "requested_by")
    page = None
    if form.is_valid():
        page = Paginator(form.filter(runs), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "automations/job_runs.html",
        {"channel": channel, "form": form, "page": page, "query": query.urlencode()},
        status=200 if page is not None else 400,
    )


@login_required
def job_run(request, run_id):
    """One run: what started it, its attempts, messages, counts and the events it took."""
    access = request.account_access
    if access is None:
        return render(request, "accounts/select_account.html")
    run = selectors.account_run(access.account, run_id)
    if run is None:
        raise Http404("No such job run on this account.")
    return render(request, "automations/job_run.html", {"run": run, **selectors.run_details(run)})
