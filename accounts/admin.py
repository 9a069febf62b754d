"""Django admin for staff. Account settings go through the same service as the page."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from . import services
from .models import Account, ApiValidationRule, AuditEntry, Organization, RoleAssignment, User, Warehouse


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class AccountAdminForm(forms.ModelForm):
    """Applies the change through the settings service while validating, so the admin
    obeys the page's rules and shows the service's errors beside the fields."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    actor = None

    class Meta:
        model = Account
        fields = list(services.ACCOUNT_SETTINGS_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        changes = {name: cleaned.get(name) for name in services.ACCOUNT_SETTINGS_FIELDS}
        try:
            services.update_account_settings(self.actor, self.instance, changes, cleaned["expected_version"])
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, field_errors)
        except (PermissionDenied, services.StaleVersionError) as error:
            self.add_error(None, str(error))
        return cleaned


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ["code", "name", "organization", "timezone", "license_type", "is_active"]
    list_filter = ["organization", "license_type", "is_active"]
    search_fields = ["code", "name"]
    fields = [*services.ACCOUNT_SETTINGS_FIELDS, "expected_version", "api_key_prefix", "api_key_created_at"]
    readonly_fields = ["api_key_prefix", "api_key_created_at"]

    def has_add_permission(self, request):
        # New accounts are created from the Organizations page, which issues the first key.
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        """Already saved by the service during validation; saving obj would bypass it."""


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "account", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "account__code"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "organization", "account"]
    list_filter = ["role"]
    search_fields = ["user__email"]


@admin.register(ApiValidationRule)
class ApiValidationRuleAdmin(admin.ModelAdmin):
    list_display = ["account", "document", "check_type", "status"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "account", "action", "field", "old_value", "new_value"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
