"""The admin writes through the services: every edit made on the real admin pages by a
superuser writes its audit entries, bumps the versions the pages lock on, shows the
services' own messages beside the fields, and asks before a Master Product Source change."""

import pytest

from accounts.admin import AccountAdminForm
from accounts.models import (
    Account,
    ApiValidationRule,
    AuditEntry,
    Organization,
    Role,
    RoleAssignment,
    User,
    Warehouse,
)

pytestmark = pytest.mark.django_db

ADMIN = "/admin/accounts"


@pytest.fixture
def staff(world, client):
    user = User.objects.create_superuser(email="staff@techoms.test", password="x-admin-pass")
    client.force_login(user)
    return client


def account_form(account: Account, **overrides) -> dict:
    account.refresh_from_db()
    data = {
        "organization": account.organization_id,
        "name": account.name,
        "code": account.code,
        "timezone": account.timezone,
        "license_type": account.license_type,
        "size_unit": account.size_unit,
        "volume_unit": account.volume_unit,
        "weight_unit": account.weight_unit,
        "master_product_source": account.master_product_source,
        "master_product_channel": account.master_product_channel_id or "",
        "default_warehouse": account.default_warehouse_id or "",
        "pii_retention_days": account.pii_retention_days or "",
        "expected_version": account.version,
        "_save": "Save",
    }
    for flag in ("auto_sales_order_workflow", "auto_purchase_order_workflow", "inventory_realtime_updates"):
        if getattr(account, flag):
            data[flag] = "on"
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def entries(action: str) -> list[tuple[str, str, str, str]]:
    return list(
        AuditEntry.objects.filter(action=action)
        .order_by("id")
        .values_list("actor_label", "field", "old_value", "new_value")
    )


# Accounts -----------------------------------------------------------------------------


def test_account_edit_is_saved_by_the_service_with_audit_and_version(world, staff):
    account = world.acme_us
    version = Account.objects.get(pk=account.pk).version
    response = staff.post(f"{ADMIN}/account/{account.pk}/change/", account_form(account, name="Acme USA"))
    assert response.status_code == 302
    stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.version) == ("Acme USA", version + 1)
    assert entries("account_settings_changed") == [("staff@techoms.test", "Name", "Acme US", "Acme USA")]


def test_account_edit_shows_the_services_message_beside_the_field_and_saves_nothing(world, staff):
    account = world.acme_us
    response = staff.post(
        f"{ADMIN}/account/{account.pk}/change/", account_form(account, name="Renamed", volume_unit="in3")
    )
    assert response.status_code == 200
    message = (
        "Size and Volume must be of the same system: Centimeter with Cubic Centimeter, "
        "or Inch with Cubic Inch."
    )
    assert form_errors(response)["volume_unit"] == [message]
    assert form_errors(response)["size_unit"] == [message]
    assert Account.objects.get(pk=account.pk).name == "Acme US"
    assert not AuditEntry.objects.exists()


def test_account_edit_on_a_stale_version_is_refused(world, staff):
    account = world.acme_us
    stale = account_form(account, name="Mine")
    Account.objects.filter(pk=account.pk).update(version=account.version + 1)
    response = staff.post(f"{ADMIN}/account/{account.pk}/change/", stale)
    assert "These settings were changed since you opened them." in form_errors(response)["__all__"][0]
    assert Account.objects.get(pk=account.pk).name == "Acme US"


def test_validating_the_admin_form_saves_nothing(world):
    staff_user = User.objects.create_superuser(email="staff@techoms.test", password="x-admin-pass")
    account = Account.objects.get(pk=world.acme_us.pk)
    data = account_form(account, name="Only validated")
    form = type("Form", (AccountAdminForm,), {"actor": staff_user})(data, instance=account)
    assert form.is_valid(), form.errors
    stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.version) == ("Acme US", account.version)
    assert not AuditEntry.objects.exists()


@pytest.fixture
def to_marketplace(linked):
    """The admin's change to the sales channel source on ACME-US, which has products."""
    return account_form(
        linked.world.acme_us,
        master_product_source="sales",
        master_product_channel=linked.marketplace.pk,
    )


def test_master_product_source_change_is_refused_until_confirmed_in_the_admin(linked, staff, to_marketplace):
    account = linked.world.acme_us
    response = staff.post(f"{ADMIN}/account/{account.pk}/change/", to_marketplace)
    assert response.status_code == 200
    [error] = form_errors(response)["master_product_source"]
    assert error.startswith("Changing the Master Product Source of an account with products can duplicate")
    assert "2 products exist in this account" in error
    assert "Import Products on Marketplace becomes offered" in error
    assert "tick “Confirm Master Product Source change” and save again" in error
    assert "Confirm Master Product Source change" in response.content.decode()
    stored = Account.objects.get(pk=account.pk)
    assert (stored.master_product_source, stored.version) == ("techoms", account.version)
    assert not AuditEntry.objects.filter(field="Master Product Source").exists()


def test_confirmed_master_product_source_change_is_saved_in_the_admin(linked, staff, to_marketplace):
    account = linked.world.acme_us
    response = staff.post(
        f"{ADMIN}/account/{account.pk}/change/", {**to_marketplace, "confirm_master_product_source": "on"}
    )
    assert response.status_code == 302
    stored = Account.objects.get(pk=account.pk)
    assert (stored.master_product_source, stored.master_product_channel_id) == (
        "sales",
        linked.marketplace.pk,
    )
    assert stored.version == to_marketplace["expected_version"] + 1
    assert ("staff@techoms.test", "Master Product Source", "techOMS", "Sales Channel") in entries(
        "account_settings_changed"
    )


# Warehouses ---------------------------------------------------------------------------


def test_adding_a_warehouse_in_the_admin_is_audited(world, staff):
    response = staff.post(
        f"{ADMIN}/warehouse/add/",
        {"account": world.acme_us.pk, "name": " Reno DC ", "code": "wh3", "address": "", "is_active": "on"},
    )
    assert response.status_code == 302
    warehouse = Warehouse.objects.get(account=world.acme_us, code="WH3")
    assert warehouse.name == "Reno DC"
    assert entries("warehouse_created") == [("staff@techoms.test", "Warehouse", "—", "Reno DC (WH3)")]


def test_a_duplicate_warehouse_code_is_refused_beside_the_code(world, staff):
    response = staff.post(
        f"{ADMIN}/warehouse/add/",
        {"account": world.acme_us.pk, "name": "Twin", "code": "wh1", "is_active": "on"},
    )
    assert form_errors(response)["code"] == ["This account already has a warehouse with this code."]
    assert Warehouse.objects.filter(account=world.acme_us).count() == 2
    assert not AuditEntry.objects.exists()


def test_editing_and_deactivating_a_warehouse_in_the_admin_is_audited(world, staff):
    warehouse = world.warehouses["ACME-US-2"]
    response = staff.post(
        f"{ADMIN}/warehouse/{warehouse.pk}/change/",
        {"name": "Acme US DC 2", "code": "WH2", "address": "1 Main St"},
    )
    assert response.status_code == 302
    warehouse.refresh_from_db()
    assert (warehouse.address, warehouse.is_active) == ("1 Main St", False)
    assert entries("warehouse_changed") == [
        ("staff@techoms.test", "Warehouse WH2: Address", "—", "1 Main St"),
        ("staff@techoms.test", "Warehouse WH2: Active", "Yes", "No"),
    ]


def test_the_default_warehouse_cannot_be_deactivated_in_the_admin(world, staff):
    warehouse = world.warehouses["ACME-US-1"]
    response = staff.post(
        f"{ADMIN}/warehouse/{warehouse.pk}/change/", {"name": "Renamed", "code": "WH1", "address": ""}
    )
    assert form_errors(response)["is_active"] == [
        "This is the account's Default Warehouse: choose another default first."
    ]
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.is_active) == ("Acme US DC 1", True)
    assert not AuditEntry.objects.exists()


def test_warehouses_are_not_deleted_in_the_admin(world, staff):
    warehouse = world.warehouses["ACME-US-2"]
    assert staff.post(f"{ADMIN}/warehouse/{warehouse.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Warehouse.objects.filter(pk=warehouse.pk).exists()


# Roles --------------------------------------------------------------------------------


def test_granting_an_account_role_in_the_admin_is_audited(world, staff):
    newcomer = User.objects.create_user(email="new@acme-us.test", password="x")
    response = staff.post(
        f"{ADMIN}/roleassignment/add/",
        {"user": newcomer.pk, "role": Role.ACCOUNT_USER, "account": world.acme_us.pk, "organization": ""},
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.get(user=newcomer).account == world.acme_us
    assert entries("role_granted") == [
        ("staff@techoms.test", "Role of new@acme-us.test", "—", "Account User")
    ]


def test_an_organization_role_at_an_account_is_refused_beside_the_role(world, staff):
    newcomer = User.objects.create_user(email="new@acme-us.test", password="x")
    response = staff.post(
        f"{ADMIN}/roleassignment/add/",
        {"user": newcomer.pk, "role": Role.SUPERVISOR, "account": world.acme_us.pk, "organization": ""},
    )
    assert form_errors(response)["role"] == ["Choose Account Administrator or Account User."]
    assert not RoleAssignment.objects.filter(user=newcomer).exists()


def test_changing_a_role_in_the_admin_is_audited(world, staff):
    assignment = RoleAssignment.objects.get(user=world.account_user)
    response = staff.post(
        f"{ADMIN}/roleassignment/{assignment.pk}/change/", {"role": Role.ACCOUNT_ADMINISTRATOR}
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.get(pk=assignment.pk).role == Role.ACCOUNT_ADMINISTRATOR
    assert entries("role_granted") == [
        ("staff@techoms.test", "Role of user@acme-us.test", "Account User", "Account Administrator")
    ]


def test_revoking_a_role_in_the_admin_is_audited(world, staff):
    assignment = RoleAssignment.objects.get(user=world.supervisor)
    response = staff.post(f"{ADMIN}/roleassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert entries("role_revoked") == [
        ("staff@techoms.test", "Role of supervisor@acme.test", "Supervisor", "—")
    ]


def test_removing_ones_own_role_in_the_admin_is_refused(world, staff):
    me = User.objects.get(email="staff@techoms.test")
    mine = RoleAssignment.objects.create(user=me, role=Role.SUPERVISOR, organization=world.acme)
    response = staff.post(f"{ADMIN}/roleassignment/{mine.pk}/delete/", {"post": "yes"}, follow=True)
    assert "You cannot remove your own access." in response.content.decode()
    assert RoleAssignment.objects.filter(pk=mine.pk).exists()
    assert not AuditEntry.objects.filter(action="role_revoked").exists()


# API validation rules and organizations -----------------------------------------------


def test_setting_a_validation_rule_in_the_admin_is_audited_and_versioned(world, staff):
    account = world.acme_us
    version = Account.objects.get(pk=account.pk).validation_rules_version
    response = staff.post(
        f"{ADMIN}/apivalidationrule/add/",
        {
            "account": account.pk,
            "document": "sales_orders",
            "check_type": "missing_carrier_code",
            "status": "error",
        },
    )
    assert response.status_code == 302
    rule = ApiValidationRule.objects.get(account=account)
    assert Account.objects.get(pk=account.pk).validation_rules_version == version + 1

    response = staff.post(
        f"{ADMIN}/apivalidationrule/{rule.pk}/change/", {"status": "warning", "expected_version": version + 1}
    )
    assert response.status_code == 302
    assert Account.objects.get(pk=account.pk).validation_rules_version == version + 2
    assert entries("api_validation_rules_changed") == [
        ("staff@techoms.test", "Sales Orders: Missing Carrier Code", "Warning", "Error"),
        ("staff@techoms.test", "Sales Orders: Missing Carrier Code", "Error", "Warning"),
    ]


def test_a_validation_rule_on_a_stale_version_is_refused(world, staff):
    account = world.acme_us
    rule = ApiValidationRule.objects.create(
        account=account, document="shipments", check_type="invalid_service_code", status="error"
    )
    stale = account.validation_rules_version - 1
    response = staff.post(
        f"{ADMIN}/apivalidationrule/{rule.pk}/change/", {"status": "warning", "expected_version": stale}
    )
    assert "These settings were changed" in form_errors(response)["__all__"][0]
    assert ApiValidationRule.objects.get(pk=rule.pk).status == "error"


def test_adding_a_rule_that_changes_nothing_is_refused(world, staff):
    response = staff.post(
        f"{ADMIN}/apivalidationrule/add/",
        {
            "account": world.acme_us.pk,
            "document": "receipts",
            "check_type": "invalid_carrier_code",
            "status": "warning",
        },
    )
    assert form_errors(response)["status"] == ["This check is already at Warning: nothing to add."]
    assert not ApiValidationRule.objects.exists()


def test_organizations_made_and_renamed_in_the_admin_are_audited(world, staff):
    assert staff.post(f"{ADMIN}/organization/add/", {"name": " Initech "}).status_code == 302
    initech = Organization.objects.get(name="Initech")
    response = staff.post(f"{ADMIN}/organization/{initech.pk}/change/", {"name": "Initrode"})
    assert response.status_code == 302
    assert entries("organization_created") == [("staff@techoms.test", "Organization", "—", "Initech")]
    assert entries("organization_changed") == [("staff@techoms.test", "Name", "Initech", "Initrode")]


def test_a_duplicate_organization_name_is_refused_beside_the_name(world, staff):
    response = staff.post(f"{ADMIN}/organization/add/", {"name": "Globex"})
    assert form_errors(response)["name"] == ["Organization with this Name already exists."]
    assert not AuditEntry.objects.exists()
