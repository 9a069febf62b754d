"""The Automations section of the channel page, rendered by automations."""

from django import template

from ..views import channel_section

register = template.Library()


@register.inclusion_tag("automations/_channel_automation.html", takes_context=True)
def channel_automation(context, channel, access):
    return {**channel_section(context["request"], channel, access), "csrf_token": context.get("csrf_token")}


@register.simple_tag
def job_field(errors, job_type, field):
    """Errors of one field of one job row (services name them "<job type>-<field>")."""
    return errors.get(f"{job_type}-{field}", [])
