"""Pages: sign-in, the account switcher, Organizations, and the Account settings tabs."""

import uuid
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from automations import progress
from automations.models import ProgressKind, ProgressStatus

from . import services, shown_once, tabs
from .api_keys import masked
from .forms import (
    AccountMainForm,
    AccountRoleForm,
    NewAccountForm,
    OrganizationForm,
    OrganizationRoleForm,
    ValidationRulesForm,
    WarehouseForm,
)
from .middleware import SESSION_KEY
from .models import ORGANIZATION_ROLES, AuditEntry, RoleAssignment
from .selectors import (
    account_access,
    accounts_for,
    organization_access,
    organizations_for,
    validation_rules,
)

# shown_once slots: the new API key of an account, a new person's one-time password at an
# account or an organization.
API_KEY_SLOT = "api_key:{}"
PASSWORD_SLOT = "password:{}:{}"  # noqa: S105 - a slot name, not a password


def _add_errors(form, error: ValidationError) -> None:
    """Put a service's errors beside the form's fields (unknown names go on top)."""
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _work_at_the_only_account(request) -> bool:
    """A person with one account and no organization role has nothing to choose: they
    work at that account from the start, with its menu."""
    if organizations_for(request.user).exists():
        return False
    accounts = list(accounts_for(request.user).values_list("pk", flat=True)[:2])
    if len(accounts) != 1:
        return False
    request.session[SESSION_KEY] = accounts[0]
    return True


@login_required
def home(request):
    if request.account is not None or _work_at_the_only_account(request):
        return redirect("current_account")
    if organizations_for(request.user).exists():
        return redirect("organizations")
    return render(request, "accounts/select_account.html")


@login_required
@require_POST
def switch_account(request):
    account_id = request.POST.get("account") or None
    if account_id is None:
        request.session.pop(SESSION_KEY, None)
        # Back to the organization page that asked for no account (never off this site).
        wanted = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
            return redirect(wanted)
        return redirect("home")
    access = account_access(request.user, account_id)
    request.session[SESSION_KEY] = access.account.pk
    return redirect("current_account")


def _no_account_selected_or_page(request):
    """Organization pages work only with no account selected, as the documents say."""
    if request.account is not None:
        return render(request, "accounts/deselect_account.html", status=409)
    return None


@login_required
def organization_list(request):
    if (page := _no_account_selected_or_page(request)) is not None:
        return page
    organizations = organizations_for(request.user)
    if not organizations.exists():
        raise PermissionDenied("Only organization-level roles can open Organizations.")
    return render(request, "accounts/organization_list.html", {"organizations": organizations})


# Pages that may show a secret once (a new account's API key, a new person's one-time
# password) are kept by no browser or proxy cache.
@never_cache
@login_required
def organization_edit(request, org_id):
    if (page := _no_account_selected_or_page(request)) is not None:
        return page
    access = organization_access(request.user, org_id)
    organization = access.organization
    org_form = OrganizationForm(initial={"name": organization.name})
    account_form = NewAccountForm()
    role_form = OrganizationRoleForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "rename":
                org_form = OrganizationForm(request.POST)
                if org_form.is_valid():
                    services.rename_organization(request.user, organization, org_form.cleaned_data["name"])
                    messages.success(request, "Organization saved.")
                    return redirect("organization_edit", org_id=organization.pk)
            elif action == "add_account":
                account_form = NewAccountForm(request.POST)
                if account_form.is_valid():
                    data = account_form.cleaned_data
                    account, key = services.create_account(
                        request.user,
                        organization,
                        name=data["name"],
                        code=data["code"],
                        timezone_name=data["timezone"],
                    )
                    shown_once.keep(request, API_KEY_SLOT.format(account.pk), key)
                    messages.success(request, f"Account {account.code} created.")
                    return redirect("organization_account", org_id=organization.pk, account_id=account.pk)
            elif action == "grant_role":
                role_form = OrganizationRoleForm(request.POST)
                if role_form.is_valid():
                    assignment, password = services.grant_organization_role(
                        request.user,
                        organization,
                        role_form.cleaned_data["email"],
                        role_form.cleaned_data["role"],
                    )
                    _announce_grant(request, assignment, password, ("organization", organization.pk))
                    return redirect("organization_edit", org_id=organization.pk)
            elif action == "revoke_role":
                assignment = get_object_or_404(
                    RoleAssignment, pk=request.POST.get("assignment"), organization=organization
                )
                services.revoke_organization_role(request.user, assignment)
                messages.success(request, f"{assignment.user.email} no longer has a role here.")
                return redirect("organization_edit", org_id=organization.pk)
            else:
                return HttpResponseNotAllowed(["GET"])
        except ValidationError as error:
            if action == "revoke_role":
                # No form was posted: the refusal (e.g. of removing one's own role) is a message.
                messages.error(request, " ".join(error.messages))
                return redirect("organization_edit", org_id=organization.pk)
            form = {"rename": org_form, "add_account": account_form}.get(action, role_form)
            _add_errors(form, error)
    return render(
        request,
        "accounts/organization_edit.html",
        {
            "organization": organization,
            "access": access,
            "accounts": organization.accounts.order_by("name"),
            "org_roles": organization.roles.select_related("user").order_by("user__email"),
            "org_form": org_form,
            "account_form": account_form,
            "role_form": role_form,
            "new_password": shown_once.take(request, PASSWORD_SLOT.format("organization", organization.pk)),
        },
    )


def _announce_grant(request, assignment, password, where: tuple[str, int]):
    """The grant's message; a new person's one-time password waits encrypted for the next
    page (the messages cookie is only signed: anyone holding it could read it)."""
    if password:
        shown_once.keep(
            request, PASSWORD_SLOT.format(*where), {"email": assignment.user.email, "password": password}
        )
        messages.success(
            request,
            f"{assignment.user.email} was created as {assignment.get_role_display()}; "
            "their one-time password is shown below, once.",
        )
    else:
        messages.success(request, f"{assignment.user.email} is now {assignment.get_role_display()}.")


@never_cache
@login_required
def current_account(request, tab="main"):
    if request.account is None:
        if _work_at_the_only_account(request):
            return redirect(request.path)
        return render(request, "accounts/select_account.html")
    return _account_page(request, request.account_access, tab, base=("current_account_tab", {}))


@never_cache
@login_required
def organization_account(request, org_id, account_id, tab="main"):
    if (page := _no_account_selected_or_page(request)) is not None:
        return page
    # The organization path is for organization-level roles; to others it does not exist.
    organization_access(request.user, org_id)
    access = account_access(request.user, account_id, organization_id=org_id)
    # Dates on this page are in the edited account's time.
    timezone.activate(zoneinfo.ZoneInfo(access.account.timezone))
    return _account_page(
        request,
        access,
        tab,
        base=("organization_account_tab", {"org_id": org_id, "account_id": account_id}),
    )


def _account_page(request, access, tab, base):
    shown = tabs.get(tab)
    if shown is None:
        raise Http404("No such tab.")
    if not shown.visible(access):
        raise PermissionDenied("This tab is for Organization Administrators and Supervisors.")
    url_name, url_kwargs = base
    here = reverse(url_name, kwargs={**url_kwargs, "tab": tab})
    if request.method == "POST" and not access.can_edit_settings:
        raise PermissionDenied("Account Users have read-only access.")
    response_or_context = shown.view()(request, access, here)
    if not isinstance(response_or_context, dict):
        return response_or_context
    template = response_or_context.pop("template", shown.template_name())
    return render(
        request,
        template,
        {
            "account": access.account,
            "access": access,
            "tabs": [
                (other.slug, other.label, reverse(url_name, kwargs={**url_kwargs, "tab": other.slug}))
                for other in tabs.all_tabs()
                if other.visible(access)
            ],
            "tab": tab,
            "via_organization": url_name.startswith("organization"),
            **response_or_context,
        },
    )


def _main_tab(request, access, here):
    account = access.account
    form_kwargs = {"account": account, "organizations": organizations_for(request.user), "access": access}
    shown_key = shown_once.take(request, API_KEY_SLOT.format(account.pk))
    if request.method == "POST" and request.POST.get("action") == "regenerate_key":
        key = services.regenerate_api_key(request.user, account)
        shown_once.keep(request, API_KEY_SLOT.format(account.pk), key)
        messages.success(request, "A new API key was generated; the previous key no longer works.")
        return redirect(here)
    # Disabled fields (Organization and License Type for account-level roles, all of
    # them for Account Users) take their value from `initial`, on POST as on GET.
    initial = AccountMainForm.initial_for(account)
    if request.method == "POST":
        form = AccountMainForm(request.POST, initial=initial, **form_kwargs)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version")
            confirm = bool(request.POST.get("confirm_master_source"))
            watched = _watch_source_change(request, account, data, confirm)
            try:
                services.update_account_settings(request.user, account, data, version, confirm=confirm)
            except ValidationError as error:
                _add_errors(form, error)
            except services.StaleVersionError as error:
                form.add_error(None, str(error))
            except services.ConfirmationRequired as question:
                progress.advance(watched, 1, "Reading the master channel's catalogue")
                page = _master_source_preflight_page(request, form, data, question)
                progress.finish(
                    watched, ProgressStatus.SUCCESS, "Read what the change would do, then confirm it."
                )
                return page
            else:
                progress.finish(watched, ProgressStatus.SUCCESS, "Saved; product jobs realigned.")
                messages.success(request, "Account saved.")
                return redirect(here)
            progress.finish(watched, ProgressStatus.FAILED, "Nothing was saved: see the errors on the page.")
    else:
        form = AccountMainForm(initial=initial, **form_kwargs)
    return {
        "form": form,
        "shown_key": shown_key,
        "key_prefix": masked(account.api_key_prefix),
        "channel_kinds": form.channel_kinds(),
        **_progress_token(),
    }


def _progress_token() -> dict:
    """A token for the Progress of the next Master Product Source change: the page knows
    it before it posts, so it can watch the change while it runs."""
    token = uuid.uuid4()
    return {"progress_token": token, "progress_url": reverse("work_progress", args=[token])}


def _watch_source_change(request, account, data: dict, confirm: bool) -> int | None:
    """A Progress row for a posted Master Product Source change (its steps: checking the
    settings and reading the master channel's catalogue, or saving and realigning product
    jobs), under the page's token; None for any other save."""
    try:
        token = uuid.UUID(request.POST.get("progress", ""))
    except ValueError:
        return None
    if data.get("master_product_source") == account.master_product_source and (
        data.get("master_product_channel") == account.master_product_channel
    ):
        return None
    step = "Saving and realigning product jobs" if confirm else "Checking the settings"
    return progress.start(account, ProgressKind.MASTER_SOURCE, 1 if confirm else 2, step, token).pk


def _master_source_preflight_page(request, form, data, question) -> dict:
    """The question before a new Master Product Source is saved; confirming posts the
    same form again with confirm_master_source (and a new progress token)."""
    return {
        "template": "accounts/account_master_source_preflight.html",
        "preflight": question.preflight,
        "new_source": dict(form.fields["master_product_source"].choices)[data["master_product_source"]],
        "posted": [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", "progress")
            for value in values
        ],
        **_progress_token(),
    }


def _rules_tab(request, access, here):
    account = access.account
    disabled = not access.can_edit_settings
    if request.method == "POST":
        form = ValidationRulesForm(request.POST, disabled=disabled)
        if form.is_valid():
            try:
                services.update_validation_rules(
                    request.user, account, form.rules(), form.cleaned_data["version"]
                )
            except ValidationError as error:
                _add_errors(form, error)
            except services.StaleVersionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "API Validation Rules saved.")
                return redirect(here)
    else:
        initial = {
            ValidationRulesForm.field_name(document, check): status
            for (document, check), status in validation_rules(account).items()
        }
        initial["version"] = account.validation_rules_version
        form = ValidationRulesForm(initial=initial, disabled=disabled)
    return {"form": form}


def _warehouses_tab(request, access, here):
    account = access.account
    form = WarehouseForm()
    editing = None
    if request.method == "POST":
        action = request.POST.get("action")
        warehouse = None
        if action in ("edit", "deactivate", "activate"):
            warehouse = get_object_or_404(account.warehouses, pk=request.POST.get("warehouse"))
        try:
            if action in ("add", "edit"):
                form = WarehouseForm(request.POST)
                editing = warehouse
                if form.is_valid():
                    if warehouse is None:
                        services.create_warehouse(request.user, account, **form.cleaned_data)
                    else:
                        services.update_warehouse(request.user, warehouse, **form.cleaned_data)
                    messages.success(request, "Warehouse saved.")
                    return redirect(here)
            elif action in ("deactivate", "activate"):
                services.set_warehouse_active(request.user, warehouse, action == "activate")
                messages.success(request, f"Warehouse {warehouse.code} {action}d.")
                return redirect(here)
            else:
                return HttpResponseNotAllowed(["GET"])
        except ValidationError as error:
            if action in ("add", "edit"):
                _add_errors(form, error)
            else:
                messages.error(request, " ".join(error.messages))
    elif request.GET.get("edit"):
        editing = get_object_or_404(account.warehouses, pk=request.GET["edit"])
        form = WarehouseForm(initial={"name": editing.name, "code": editing.code, "address": editing.address})
    return {"warehouses": account.warehouses.all(), "form": form, "editing": editing}


def _users_tab(request, access, here):
    account = access.account
    form = AccountRoleForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "grant_role":
                form = AccountRoleForm(request.POST)
                if form.is_valid():
                    assignment, password = services.grant_account_role(
                        request.user, account, form.cleaned_data["email"], form.cleaned_data["role"]
                    )
                    _announce_grant(request, assignment, password, ("account", account.pk))
                    return redirect(here)
            elif action == "revoke_role":
                assignment = get_object_or_404(account.roles, pk=request.POST.get("assignment"))
                services.revoke_account_role(request.user, assignment)
                messages.success(request, f"{assignment.user.email} no longer has access to this account.")
                return redirect(here)
            else:
                return HttpResponseNotAllowed(["GET"])
        except ValidationError as error:
            if action == "grant_role":
                _add_errors(form, error)
            else:
                messages.error(request, " ".join(error.messages))
    return {
        "form": form,
        "new_password": shown_once.take(request, PASSWORD_SLOT.format("account", account.pk)),
        "account_roles": account.roles.select_related("user").order_by("user__email"),
        "organization_roles": RoleAssignment.objects.filter(
            organization=account.organization, role__in=ORGANIZATION_ROLES
        )
        .select_related("user")
        .order_by("user__email"),
    }


def _audit_log_tab(request, access, here):
    if request.method == "POST":
        return HttpResponseNotAllowed(["GET"])
    entries = AuditEntry.objects.filter(account=access.account).select_related("actor")[:200]
    return {"entries": entries}


tabs.register("main", "Main", _main_tab, order=10)
tabs.register("api-validation-rules", "API Validation Rules", _rules_tab, order=20)
tabs.register(
    "warehouses", "Warehouses", _warehouses_tab, order=40, visible=lambda a: a.can_manage_warehouses
)
tabs.register("users", "Users", _users_tab, order=50)
tabs.register("audit-log", "Audit Log", _audit_log_tab, order=60, visible=lambda a: a.can_read_audit_log)
