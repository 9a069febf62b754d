"""The Job Runs page's filters: every value checked, dates read in the account's time."""

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import QuerySet

from channels.models import Channel
from channels.platforms import JobType

from . import selectors
from .models import RunJobType, RunStatus, Trigger

ANY = [("", "Any")]
WRONG_CHOICE = "Choose one of the listed values."


class DateInput(forms.DateInput):
    input_type = "date"


class RunFilterForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(),
        required=False,
        empty_label="Any",
        error_messages={"invalid_choice": "Choose a channel of this account."},
    )
    job_type = forms.ChoiceField(label="Job", required=False, error_messages={"invalid_choice": WRONG_CHOICE})
    trigger = forms.ChoiceField(
        choices=ANY + Trigger.choices + [(selectors.REALTIME, selectors.REALTIME_LABEL)],
        required=False,
        error_messages={"invalid_choice": WRONG_CHOICE},
    )
    status = forms.ChoiceField(
        choices=ANY + RunStatus.choices, required=False, error_messages={"invalid_choice": WRONG_CHOICE}
    )
    queued_from = forms.DateField(
        label="Queued from", required=False, widget=DateInput, error_messages={"invalid": "Enter a date."}
    )
    queued_to = forms.DateField(
        label="to", required=False, widget=DateInput, error_messages={"invalid": "Enter a date."}
    )

    def __init__(self, data, *, account, channel=None):
        super().__init__(data)
        self.account, self.fixed_channel = account, channel
        if channel is None:
            self.fields["channel"].queryset = Channel.objects.filter(account=account).order_by("name")
        else:
            del self.fields["channel"]
        # A channel's runs are channel jobs only; the account's include system jobs (PII Retention).
        self.fields["job_type"].choices = ANY + (JobType if channel else RunJobType).choices

    def clean(self):
        data = super().clean()
        start, end = data.get("queued_from"), data.get("queued_to")
        if start and end and end < start:
            self.add_error("queued_to", "The end date is before the start date.")
        return data

    def _midnight(self, day) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.account.tzinfo)

    def filter(self, runs: QuerySet) -> QuerySet:
        """The runs matching the valid filters (call after is_valid())."""
        data = self.cleaned_data
        if self.fixed_channel is not None:
            runs = runs.filter(channel=self.fixed_channel)
        elif data.get("channel"):
            runs = runs.filter(channel=data["channel"])
        for name in ("job_type", "status"):
            if data.get(name):
                runs = runs.filter(**{name: data[name]})
        if data.get("trigger"):
            runs = selectors.filter_trigger(runs, data["trigger"])
        if data.get("queued_from"):
            runs = runs.filter(queued_at__gte=self._midnight(data["queued_from"]))
        if data.get("queued_to"):
            # Through the whole last day, in the account's time.
            runs = runs.filter(queued_at__lt=self._midnight(data["queued_to"] + timedelta(days=1)))
        return runs

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
