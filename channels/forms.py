"""Forms of the channel pages. They parse input; the rules live in channels.services."""

from django import forms

from .connectors import connector_class
from .platforms import ChannelKind, Stability, platforms_of_kind


class ChannelForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    platform = forms.ChoiceField(label="Platform")
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    buffer_stock = forms.IntegerField(
        label="Buffer stock",
        min_value=0,
        initial=0,
        help_text="Units held back per SKU and location when available quantities are sent to the channel.",
    )
    pii_retention_days = forms.IntegerField(
        label="PII retention days",
        required=False,
        help_text="Blank uses the account's value; otherwise 1 to 3650 days.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, kind: str, editing: bool = False, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        platforms = platforms_of_kind(kind)
        self.fields["platform"].choices = [
            (p.key, f"{p.label} ({Stability(p.stability).label})") for p in platforms
        ]
        if kind != ChannelKind.SALES:
            del self.fields["pii_retention_days"]
        self.credential_names = []
        for platform in platforms:
            for field in connector_class(platform.key).credential_fields:
                if field.name in self.fields:
                    continue
                help_text = field.help_text
                if field.secret:
                    if editing:
                        help_text = (
                            "Stored and never shown. Leave blank to keep it; type a new value to replace it."
                        )
                    # render_value=False: a saved secret never travels back to the browser.
                    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
                else:
                    widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
                # Another platform's fields stay blank; the service keeps only this one's.
                self.fields[field.name] = forms.CharField(
                    label=field.label,
                    required=False,
                    max_length=500,
                    widget=widget,
                    help_text=help_text,
                )
                self.credential_names.append(field.name)
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def settings(self) -> dict:
        data = self.cleaned_data
        keys = ["name", "platform", "is_active", "buffer_stock", "pii_retention_days"]
        return {k: data[k] for k in keys if k in data}

    def credentials(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.credential_names}


class MappingForm(forms.Form):
    location = forms.CharField(label="Channel location", max_length=64)
    warehouse = forms.ChoiceField(label="Warehouse")

    def __init__(self, *args, account, locations: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [("", "—")] + [
            (w.pk, str(w)) for w in account.warehouses.filter(is_active=True)
        ]
        if locations:
            self.fields["location"].widget.attrs["list"] = "channel-locations"
