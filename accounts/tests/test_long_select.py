"""The timezone select is built in one pass, and reads exactly as Django's Select."""

import re

from django import forms

from accounts.forms import LongSelect
from accounts.models import TIMEZONE_CHOICES


def _html(widget, value) -> str:
    class Form(forms.Form):
        timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, widget=widget)

    return re.sub(r">\s+<", "><", str(Form(initial={"timezone": value})["timezone"]).strip())


def test_the_long_select_renders_what_django_select_renders():
    for value in ("America/Los_Angeles", "UTC", "Not/AZone"):
        assert _html(LongSelect, value) == _html(forms.Select, value)
    assert '<option value="America/Los_Angeles" selected>' in _html(LongSelect, "America/Los_Angeles")


def test_labels_and_values_are_escaped():
    widget = LongSelect(choices=[("<x>", "a & b")])
    assert (
        widget.render("f", "<x>")
        == '<select name="f"><option value="&lt;x&gt;" selected>a &amp; b</option></select>'
    )
