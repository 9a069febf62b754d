"""The Automations section of the channel page, rendered by automations, and how the
pages word a run (its trigger, an empty outcome, its place in a strip)."""

from django import template

from .. import selectors
from ..models import FINISHED_STATUSES, RunStatus
from ..views import channel_section

register = template.Library()


@register.inclusion_tag("automations/_channel_automation.html", takes_context=True)
def channel_automation(context, channel, access):
    return {**channel_section(context["request"], channel, access), "csrf_token": context.get("csrf_token")}


@register.simple_tag
def job_field(errors, job_type, field):
    """Errors of one field of one job row (services name them "<job type>-<field>")."""
    return errors.get(f"{job_type}-{field}", [])


@register.filter
def trigger_label(run) -> str:
    """What started a run, the real-time inventory pushes named as such."""
    return selectors.REALTIME_LABEL if selectors.is_realtime_push(run) else run.get_trigger_display()


@register.filter
def empty_outcome(run) -> str:
    """What a finished run with no counts and no messages did: nothing, said in words."""
    if run.status not in FINISHED_STATUSES or run.counts or run.messages:
        return ""
    if run.status != RunStatus.SUCCESS:
        return "No details were recorded."
    verb = run.job_type.split("_")[0]
    return {
        "import": "Nothing new to import.",
        "receive": "Nothing new to receive.",
        "export": "Nothing to send.",
        "send": "Nothing to send.",
    }.get(verb, "Nothing to do.")


@register.filter
def run_duration(took) -> str:
    """'0.4 s', '12 s', '3 min 5 s', '1 h 2 min'."""
    seconds = took.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@register.inclusion_tag("automations/_run_strip.html")
def run_strip(runs, label):
    """The last runs as a row of coloured marks, oldest first, each linking to its run."""
    return {"runs": runs, "label": label}


@register.inclusion_tag("automations/_run_strip.html")
def channel_strip(channel):
    """A channel's last runs as a strip (one query per channel: lists hold a few dozen)."""
    return {"runs": selectors.channel_recent_runs(channel), "label": channel.name}
