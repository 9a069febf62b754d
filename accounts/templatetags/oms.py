"""Template helpers: dates in account time with the zone named."""

from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.filter
def zoned(value):
    """'2026-11-22 17:49 EST (America/New_York)' in the active (account) timezone."""
    if not value:
        return "—"
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({timezone.get_current_timezone_name()})"


@register.filter
def local_time(value):
    """A table cell's time: '2026-11-22 17:49 EST' in the active (account) timezone.

    The page names the zone once (the header's account, or the account page's own line);
    repeating '(America/Los_Angeles)' in every cell wrapped each one onto two lines. The
    abbreviation stays: it tells the two sides of a DST change apart. The full zone is
    the tooltip, the instant in UTC the machine-readable value."""
    if not value:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(UTC).isoformat(timespec="seconds"),
        zoned(value),
        f"{local:%Y-%m-%d %H:%M} {local.tzname()}",
    )
