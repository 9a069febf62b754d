"""Django admin for staff. Every write goes through the same service as the pages and
the API: a form's clean() runs the service's dry run (its errors go beside the fields),
and save_model() makes the same call for real. The admin's view is one transaction, so
the row the dry run locked stays locked until the save."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from . import services
from .forms import AdminSignInForm
from .models import (
    Account,
    ApiValidationRule,
    AuditEntry,
    EnforcementStatus,
    Organization,
    RoleAssignment,
    User,
    Warehouse,
)
from .selectors import validation_rules

CONFIRM_LABEL = "Confirm Master Product Source change"

# The admin's login asks the same failed sign-in throttle as the portal's.
admin.site.login_form = AdminSignInForm


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


def confirmation_message(preflight) -> str:
    """The Master Product Source question in a sentence, with what the page's preflight shows."""
    facts = []
    if preflight is not None:
        facts.append(f"{preflight.products} products exist in this account")
        if preflight.fetch_error:
            facts.append(preflight.fetch_error)
        elif preflight.master_skus is not None:
            facts.append(
                f"{preflight.collisions} of the master channel's {preflight.master_skus} SKUs already "
                "exist here from another source and would be reported as collisions"
            )
        facts += [f"{label} becomes hidden" for label in preflight.becoming_hidden]
        facts += [f"{label} becomes offered" for label in preflight.becoming_offered]
    details = f" ({'; '.join(facts)})" if facts else ""
    return (
        "Changing the Master Product Source of an account with products can duplicate "
        f"products{details}. Nothing was saved: tick “{CONFIRM_LABEL}” and save again to apply it."
    )


class ServiceForm(forms.ModelForm):
    """A model form whose change is one service call, `apply(dry_run=...)`."""

    actor: User | None = None

    def apply(self, *, dry_run: bool):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.apply(dry_run=True)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, field_errors)
        except services.ConfirmationRequired as question:
            self.add_error("master_product_source", confirmation_message(question.preflight))
        except (PermissionDenied, Http404, services.StaleVersionError) as error:
            self.add_error(None, str(error) or "You may not change this.")
        return cleaned


class ServiceAdmin(admin.ModelAdmin):
    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        """The service saves; the admin goes on with the row it wrote."""
        saved = form.apply(dry_run=False)
        obj.pk = saved.pk
        obj.refresh_from_db()


class OrganizationAdminForm(ServiceForm):
    class Meta:
        model = Organization
        fields = ["name"]

    def apply(self, *, dry_run: bool) -> Organization:
        name = self.cleaned_data["name"]
        if self.instance.pk is None:
            return services.create_organization(self.actor, name, dry_run=dry_run)
        current = Organization.objects.get(pk=self.instance.pk)
        return services.rename_organization(self.actor, current, name, dry_run=dry_run)


@admin.register(Organization)
class OrganizationAdmin(ServiceAdmin):
    form = OrganizationAdminForm
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class AccountAdminForm(ServiceForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    confirm_master_product_source = forms.BooleanField(
        label=CONFIRM_LABEL,
        required=False,
        help_text="Needed to change the Master Product Source of an account that has products.",
    )

    class Meta:
        model = Account
        fields = list(services.ACCOUNT_SETTINGS_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def apply(self, *, dry_run: bool) -> Account:
        data = self.cleaned_data
        return services.update_account_settings(
            self.actor,
            self.instance,
            {name: data.get(name) for name in services.ACCOUNT_SETTINGS_FIELDS},
            data["expected_version"],
            dry_run=dry_run,
            confirm=data.get("confirm_master_product_source", False),
        )


@admin.register(Account)
class AccountAdmin(ServiceAdmin):
    form = AccountAdminForm
    list_display = ["code", "name", "organization", "timezone", "license_type", "is_active"]
    list_filter = ["organization", "license_type", "is_active"]
    search_fields = ["code", "name"]
    fields = [
        *services.ACCOUNT_SETTINGS_FIELDS,
        "confirm_master_product_source",
        "expected_version",
        "api_key_prefix",
        "api_key_created_at",
    ]
    readonly_fields = ["api_key_prefix", "api_key_created_at"]

    def has_add_permission(self, request):
        # New accounts are created from the Organizations page, which issues the first key.
        return False


class WarehouseAdminForm(ServiceForm):
    class Meta:
        model = Warehouse
        fields = ["account", "name", "code", "address", "is_active"]

    def apply(self, *, dry_run: bool) -> Warehouse:
        data = self.cleaned_data
        fields = {name: data.get(name, "") for name in services.WAREHOUSE_FIELDS}
        active = data.get("is_active", True)
        with transaction.atomic():
            if self.instance.pk is None:
                warehouse = services.create_warehouse(self.actor, data["account"], dry_run=dry_run, **fields)
                # Like the API: a warehouse added inactive is added, then deactivated.
                if not active and not dry_run:
                    services.set_warehouse_active(self.actor, warehouse, False)
                return warehouse
            current = Warehouse.objects.select_related("account").get(pk=self.instance.pk)
            warehouse = services.update_warehouse(self.actor, current, dry_run=dry_run, **fields)
            return services.set_warehouse_active(self.actor, warehouse, active, dry_run=dry_run)


@admin.register(Warehouse)
class WarehouseAdmin(ServiceAdmin):
    form = WarehouseAdminForm
    list_display = ["code", "name", "account", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name", "account__code"]

    def get_readonly_fields(self, request, obj=None):
        return ["account"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Orders, receipts and stock refer to warehouses: they are deactivated instead.
        return False


class RoleAssignmentAdminForm(ServiceForm):
    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "organization", "account"]

    def apply(self, *, dry_run: bool) -> RoleAssignment | None:
        data = self.cleaned_data
        if self.instance.pk is None:
            user, organization, account = data["user"], data.get("organization"), data.get("account")
        else:
            user, organization, account = (
                self.instance.user,
                self.instance.organization,
                self.instance.account,
            )
        if organization is not None and account is not None:
            raise ValidationError({"account": ["Choose an organization or an account, not both."]})
        held = RoleAssignment.objects.filter(user=user, organization=organization, account=account)
        if self.instance.pk is None and held.exists():
            # The services' grant would change it; adding a row here means a new one.
            raise ValidationError({"user": [f"{user.email} already has a role there: change that one."]})
        if account is not None:
            grant = services.grant_account_role(
                self.actor, account, user.email, data["role"], dry_run=dry_run
            )
        elif organization is not None:
            grant = services.grant_organization_role(
                self.actor, organization, user.email, data["role"], dry_run=dry_run
            )
        else:
            raise ValidationError({"organization": ["Choose the organization or the account of this role."]})
        return grant[0]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceAdmin):
    form = RoleAssignmentAdminForm
    list_display = ["user", "role", "organization", "account"]
    list_filter = ["role"]
    search_fields = ["user__email"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organization", "account"] if obj is not None else []

    def get_actions(self, request):
        # One revocation at a time, each through the service (its refusals and audit).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        if obj.account_id is not None:
            services.revoke_account_role(request.user, obj)
        else:
            services.revoke_organization_role(request.user, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            # Raised inside the admin's transaction, which has rolled back by now.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return redirect(reverse("admin:accounts_roleassignment_change", args=[object_id]))


class ApiValidationRuleAdminForm(ServiceForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ApiValidationRule
        fields = ["account", "document", "check_type", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.account.validation_rules_version

    def _rule(self) -> tuple[Account, str, str]:
        if self.instance.pk is not None:
            return self.instance.account, self.instance.document, self.instance.check_type
        data = self.cleaned_data
        return data["account"], data["document"], data["check_type"]

    def apply(self, *, dry_run: bool) -> ApiValidationRule | None:
        account, document, check = self._rule()
        status = self.cleaned_data["status"]
        if dry_run and self.instance.pk is None and validation_rules(account)[(document, check)] == status:
            # The service stores no row for a status that does not change.
            raise ValidationError(
                {"status": [f"This check is already at {EnforcementStatus(status).label}: nothing to add."]}
            )
        services.update_validation_rules(
            self.actor,
            account,
            {(document, check): status},
            self.cleaned_data.get("expected_version"),
            dry_run=dry_run,
        )
        return ApiValidationRule.objects.filter(account=account, document=document, check_type=check).first()


@admin.register(ApiValidationRule)
class ApiValidationRuleAdmin(ServiceAdmin):
    form = ApiValidationRuleAdminForm
    list_display = ["account", "document", "check_type", "status"]
    fields = ["account", "document", "check_type", "status", "expected_version"]

    def get_readonly_fields(self, request, obj=None):
        return ["account", "document", "check_type"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # A check without a rule warns: set it to Warning, which the service audits.
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "account", "action", "field", "old_value", "new_value"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
