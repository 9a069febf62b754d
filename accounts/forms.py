"""Forms of the account pages. They parse input for display; the rules live in services."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from channels.models import Channel
from channels.platforms import ChannelKind, platforms_supporting_product_import

from .models import (
    TIMEZONE_CHOICES,
    Account,
    EnforcementStatus,
    LicenseType,
    MasterProductSource,
    Organization,
    Role,
    SizeUnit,
    ValidationCheck,
    ValidationDocument,
    VolumeUnit,
    Warehouse,
    WeightUnit,
)
from .services import ACCOUNT_SETTINGS_FIELDS
from .sign_in import client_address, refusal

YES_NO = [("True", "Yes"), ("False", "No")]


def yes_no_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=YES_NO, coerce=lambda v: v == "True", empty_value=None)


class LongSelect(forms.Select):
    """A select of hundreds of plain options (the timezones) built in one pass: Django's
    Select renders a template per option, 30 ms for the 433 timezones on every Account
    page (about 45 % of the page's server time under load, bench/load.py)."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = set(map(str, self.format_value(value)))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, mark_safe(" selected") if str(v) in selected else "", label) for v, label in self.choices),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(attrs), options)


class ChannelChoiceField(forms.ModelChoiceField):
    """Options carry the channel's kind so the page can filter them per source."""

    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.platform_info.label})"


class AccountMainForm(forms.Form):
    organization = forms.ModelChoiceField(label="Organization", queryset=None, empty_label=None)
    name = forms.CharField(label="Name", max_length=120)
    code = forms.CharField(label="Code", max_length=32)
    timezone = forms.ChoiceField(label="Timezone", choices=TIMEZONE_CHOICES, widget=LongSelect)
    license_type = forms.ChoiceField(label="License Type", choices=LicenseType.choices)
    size_unit = forms.ChoiceField(label="Size", choices=SizeUnit.choices)
    volume_unit = forms.ChoiceField(label="Volume", choices=VolumeUnit.choices)
    weight_unit = forms.ChoiceField(label="Weight", choices=WeightUnit.choices)
    master_product_source = forms.ChoiceField(
        label="Master Product Source", choices=MasterProductSource.choices
    )
    master_product_channel = ChannelChoiceField(
        label="Master Product Channel",
        queryset=Channel.objects.none(),
        required=False,
        help_text="This account's active channels of the chosen kind whose platform can import products.",
    )
    default_warehouse = forms.ModelChoiceField(
        label="Default Warehouse", queryset=Warehouse.objects.none(), required=False
    )
    auto_sales_order_workflow = yes_no_field("Enable Automatic Sales Order Workflow")
    auto_purchase_order_workflow = yes_no_field("Enable Automatic Purchase Order Workflow")
    inventory_realtime_updates = yes_no_field("Enable Inventory Real-Time Updates")
    pii_retention_days = forms.IntegerField(
        label="PII retention days for non-sales channels (API, manual, and imported orders)",
        required=False,
        help_text="Blank keeps the data; otherwise 1 to 3650 days.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, account: Account, organizations, access, **kwargs):
        super().__init__(*args, **kwargs)
        # The account's own organization is always listed, so that a disabled field
        # still shows it to people who may not move the account.
        self.fields["organization"].queryset = Organization.objects.filter(
            Q(pk__in=organizations.values("pk")) | Q(pk=account.organization_id)
        )
        self.fields["default_warehouse"].queryset = account.warehouses.filter(is_active=True)
        # Only active channels whose platform imports products can be the Master Product
        # Channel; the current one stays listed so the page shows what is stored even if it
        # no longer qualifies.
        self.fields["master_product_channel"].queryset = account.channels.filter(
            Q(
                is_active=True,
                platform__in=[
                    *platforms_supporting_product_import(ChannelKind.SALES),
                    *platforms_supporting_product_import(ChannelKind.FULFILLMENT),
                ],
            )
            | Q(pk=account.master_product_channel_id)
        )
        if not access.can_edit_organization_fields:
            self.fields["organization"].disabled = True
            self.fields["license_type"].disabled = True
        if not access.can_edit_settings:
            for field in self.fields.values():
                field.disabled = True

    @staticmethod
    def initial_for(account: Account) -> dict:
        initial = {name: getattr(account, name) for name in ACCOUNT_SETTINGS_FIELDS}
        for name in (
            "auto_sales_order_workflow",
            "auto_purchase_order_workflow",
            "inventory_realtime_updates",
        ):
            initial[name] = str(initial[name])
        initial["version"] = account.version
        return initial

    def channel_kinds(self) -> dict[int, str]:
        return {c.pk: c.kind for c in self.fields["master_product_channel"].queryset}


class ValidationRulesForm(forms.Form):
    """One Warning/Error choice per (document, check)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for document in ValidationDocument:
            for check in ValidationCheck:
                self.fields[self.field_name(document, check)] = forms.ChoiceField(
                    label=f"{document.label}: {check.label}",
                    choices=EnforcementStatus.choices,
                    disabled=disabled,
                )
        self.fields["version"].disabled = disabled

    @staticmethod
    def field_name(document: str, check: str) -> str:
        return f"{document}__{check}"

    def rows(self):
        """The table: one row per document, one bound field per check."""
        return [
            (document.label, [self[self.field_name(document, check)] for check in ValidationCheck])
            for document in ValidationDocument
        ]

    def rules(self) -> dict[tuple[str, str], str]:
        return {
            (document.value, check.value): self.cleaned_data[self.field_name(document, check)]
            for document in ValidationDocument
            for check in ValidationCheck
        }


class WarehouseForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    code = forms.CharField(label="Code", max_length=32)
    address = forms.CharField(label="Address", max_length=255, required=False)


class AccountRoleForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(
        label="Role",
        choices=[(r.value, r.label) for r in (Role.ACCOUNT_ADMINISTRATOR, Role.ACCOUNT_USER)],
    )


class OrganizationRoleForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(
        label="Role",
        choices=[(r.value, r.label) for r in (Role.ORGANIZATION_ADMINISTRATOR, Role.SUPERVISOR)],
    )


class NewAccountForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    code = forms.CharField(label="Code", max_length=32)
    timezone = forms.ChoiceField(label="Timezone", choices=TIMEZONE_CHOICES, initial="UTC", widget=LongSelect)


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)


class SignInThrottleMixin:
    """Asks the failed sign-in throttle before authenticating: once refused, even the right
    password is refused, with the reason beside the form. Failures are counted by
    accounts.sign_in's user_login_failed receiver."""

    def clean(self):
        refused = refusal(self.cleaned_data.get("username"), client_address(self.request))
        if refused is not None:
            raise ValidationError(refused.message, code="throttled")
        return super().clean()


class SignInForm(SignInThrottleMixin, AuthenticationForm):
    """The portal's login page."""


class AdminSignInForm(SignInThrottleMixin, AdminAuthenticationForm):
    """The admin's login page (admin.site.login_form)."""
