"""Template helpers of the channel pages."""

from django import template

register = template.Library()


@register.filter
def count_label(name: str) -> str:
    """'already_imported' → 'already imported' (JobRun counts are keyed by identifiers)."""
    return str(name).replace("_", " ")
