"""Template helpers: dates in account time with the zone named."""

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def zoned(value):
    """'2026-11-22 17:49 EST (America/New_York)' in the active (account) timezone."""
    if not value:
        return "—"
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({timezone.get_current_timezone_name()})"
