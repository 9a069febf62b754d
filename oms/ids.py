"""Ids from query strings and forms, parsed before any query sees them: "abc", "²"
(a digit to str.isdigit, not to int), "-1" or a number past the database's bigint are
no id at all, so the page answers 404 or ignores the filter instead of a 500."""

from django.http import Http404
from django.shortcuts import get_object_or_404

BIGINT_MAX = 2**63 - 1


def parse_id(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= BIGINT_MAX else None
    if not isinstance(value, str) or not (value.isascii() and value.isdecimal()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= BIGINT_MAX else None


def get_by_id_or_404(queryset, value):
    """The row of `queryset` with this id, or 404 for any value that is no id."""
    pk = parse_id(value)
    if pk is None:
        raise Http404("No such item.")
    return get_object_or_404(queryset, pk=pk)


class IdConverter:
    """The `<id:…>` of URL patterns: Django's `<int:…>` takes any length of digits, and
    a number past bigint reaches PostgreSQL as an error (a 500) instead of a 404."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError(value)  # no match: the URL answers 404
        return number

    def to_url(self, value) -> str:
        return str(value)
