"""The account settings rules, as the one service function enforces them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from accounts import services
from accounts.api_keys import key_matches, split_prefix
from accounts.models import Account, AuditEntry, EnforcementStatus
from accounts.selectors import validation_rules
from channels.models import Channel

pytestmark = pytest.mark.django_db


def save(actor, account, **changes):
    account.refresh_from_db()
    return services.update_account_settings(actor, account, changes, account.version)


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_code_is_stored_upper_case(world):
    account = save(world.org_admin, world.acme_us, code="acme-usa")
    assert account.code == "ACME-USA"


def test_code_must_be_unique_ignoring_case(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, code="acme-eu")
    assert errors_of(excinfo) == {"code": ["An account with this code already exists."]}


def test_code_uniqueness_spans_organizations(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, code="Globex")
    assert "code" in errors_of(excinfo)


@pytest.mark.parametrize("code", ["A", "X" * 33, "AC ME", "ACME!", "ÄCME"])
def test_code_must_match_the_pattern(world, code):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, code=code)
    assert "code" in errors_of(excinfo)


def test_name_is_required(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, name="  ")
    assert "name" in errors_of(excinfo)


def test_timezone_must_be_an_iana_name_from_the_list(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, timezone="Mars/Olympus_Mons")
    assert "timezone" in errors_of(excinfo)
    assert save(world.org_admin, world.acme_us, timezone="Asia/Tokyo").timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("size", "volume", "ok"),
    [("cm", "cm3", True), ("in", "in3", True), ("cm", "in3", False), ("in", "cm3", False)],
)
def test_size_and_volume_must_be_of_one_system(world, size, volume, ok):
    if ok:
        account = save(world.org_admin, world.acme_us, size_unit=size, volume_unit=volume)
        assert (account.size_unit, account.volume_unit) == (size, volume)
        return
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, size_unit=size, volume_unit=volume)
    assert set(errors_of(excinfo)) == {"size_unit", "volume_unit"}


@pytest.mark.parametrize("weight", ["kg", "g", "lb", "oz"])
def test_every_weight_unit_goes_with_either_system(world, weight):
    assert (
        save(
            world.org_admin, world.acme_us, size_unit="in", volume_unit="in3", weight_unit=weight
        ).weight_unit
        == weight
    )


def test_channel_source_requires_a_master_channel(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, master_product_source="sales")
    assert "master_product_channel" in errors_of(excinfo)


def test_master_channel_must_be_of_the_sources_kind(world):
    three_pl = Channel.objects.create(
        account=world.acme_us, name="3PL", kind="fulfillment", platform="sandbox_3pl"
    )
    with pytest.raises(ValidationError) as excinfo:
        save(
            world.org_admin, world.acme_us, master_product_source="sales", master_product_channel=three_pl.pk
        )
    assert errors_of(excinfo)["master_product_channel"] == ["Select a channel of the kind Sales Channel."]


def test_master_channel_must_support_product_import(world):
    three_pl = Channel.objects.create(
        account=world.acme_us, name="3PL", kind="fulfillment", platform="sandbox_3pl"
    )
    with pytest.raises(ValidationError) as excinfo:
        save(
            world.org_admin,
            world.acme_us,
            master_product_source="fulfillment",
            master_product_channel=three_pl.pk,
        )
    assert "does not support product import" in errors_of(excinfo)["master_product_channel"][0]


def test_master_channel_of_another_account_is_refused(world):
    foreign = Channel.objects.create(
        account=world.globex_jp, name="Shop", kind="sales", platform="sandbox_marketplace"
    )
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, master_product_source="sales", master_product_channel=foreign.pk)
    assert errors_of(excinfo) == {"master_product_channel": ["Select a channel of this account."]}


def test_a_sales_channel_can_be_the_master(world):
    shop = Channel.objects.create(
        account=world.acme_us, name="Shop", kind="sales", platform="sandbox_marketplace"
    )
    account = save(
        world.org_admin, world.acme_us, master_product_source="sales", master_product_channel=shop.pk
    )
    assert account.master_product_channel == shop


def test_techoms_source_clears_the_master_channel(world):
    shop = Channel.objects.create(
        account=world.acme_us, name="Shop", kind="sales", platform="sandbox_marketplace"
    )
    save(world.org_admin, world.acme_us, master_product_source="sales", master_product_channel=shop.pk)
    account = save(
        world.org_admin, world.acme_us, master_product_source="techoms", master_product_channel=shop.pk
    )
    assert account.master_product_channel is None


def test_default_warehouse_must_belong_to_the_account(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, default_warehouse=world.warehouses["ACME-EU-1"].pk)
    assert "default_warehouse" in errors_of(excinfo)
    account = save(world.org_admin, world.acme_us, default_warehouse=world.warehouses["ACME-US-2"].pk)
    assert account.default_warehouse == world.warehouses["ACME-US-2"]


def test_default_warehouse_must_be_active(world):
    world.warehouses["ACME-US-2"].is_active = False
    world.warehouses["ACME-US-2"].save()
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, default_warehouse=world.warehouses["ACME-US-2"].pk)
    assert "default_warehouse" in errors_of(excinfo)


@pytest.mark.parametrize(
    ("days", "ok"),
    [(None, True), (1, True), (3650, True), (0, False), (3651, False), (-5, False), ("abc", False)],
)
def test_pii_retention_days_is_blank_or_1_to_3650(world, days, ok):
    if ok:
        assert save(world.org_admin, world.acme_us, pii_retention_days=days).pii_retention_days == days
        return
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, pii_retention_days=days)
    assert "pii_retention_days" in errors_of(excinfo)


def test_defaults_match_the_documents(world):
    account = Account.objects.get(pk=world.acme_us.pk)
    assert account.license_type == "standard"
    assert account.master_product_source == "techoms"
    assert account.auto_sales_order_workflow is False
    assert account.auto_purchase_order_workflow is False
    assert account.inventory_realtime_updates is True
    assert account.pii_retention_days is None


def test_a_refused_save_changes_nothing(world):
    before = Account.objects.values().get(pk=world.acme_us.pk)
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, name="Renamed", code="x", size_unit="in")
    assert set(errors_of(excinfo)) >= {"code", "size_unit", "volume_unit"}
    assert Account.objects.values().get(pk=world.acme_us.pk) == before
    assert not AuditEntry.objects.exists()


def test_a_stale_version_is_refused_and_nothing_is_lost(world):
    account = Account.objects.get(pk=world.acme_us.pk)
    read_version = account.version
    services.update_account_settings(world.org_admin, account, {"name": "First"}, read_version)
    with pytest.raises(services.StaleVersionError) as excinfo:
        services.update_account_settings(world.supervisor, account, {"name": "Second"}, read_version)
    assert "orgadmin@acme.test" in str(excinfo.value)
    assert Account.objects.get(pk=account.pk).name == "First"


def test_saving_bumps_the_version_only_when_something_changed(world):
    account = Account.objects.get(pk=world.acme_us.pk)
    same = services.update_account_settings(world.org_admin, account, {"name": account.name}, account.version)
    assert same.version == account.version
    changed = services.update_account_settings(world.org_admin, account, {"name": "New"}, account.version)
    assert changed.version == account.version + 1


def test_every_saved_change_is_audited_field_by_field(world):
    save(
        world.org_admin,
        world.acme_us,
        name="Acme USA",
        size_unit="in",
        volume_unit="in3",
        auto_sales_order_workflow=True,
    )
    entries = {e.field: (e.old_value, e.new_value, e.actor_label) for e in AuditEntry.objects.all()}
    assert entries == {
        "Name": ("Acme US", "Acme USA", "orgadmin@acme.test"),
        "Size": ("Centimeter", "Inch", "orgadmin@acme.test"),
        "Volume": ("Cubic Centimeter", "Cubic Inch", "orgadmin@acme.test"),
        "Enable Automatic Sales Order Workflow": ("No", "Yes", "orgadmin@acme.test"),
    }


def test_settings_listeners_hear_of_a_change_after_commit(world, django_capture_on_commit_callbacks):
    from accounts.signals import account_settings_changed

    heard = []

    def listener(sender, account_id, fields, **kwargs):
        heard.append((account_id, fields))

    account_settings_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            save(world.org_admin, world.acme_us, timezone="Asia/Tokyo")
    finally:
        account_settings_changed.disconnect(listener)
    assert heard == [(world.acme_us.pk, ("timezone",))]


def test_account_admin_cannot_change_license_type(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.account_admin, world.acme_us, license_type="enterprise")
    assert errors_of(excinfo)["license_type"] == [services.NOT_ALLOWED]


def test_account_admin_may_send_the_unchanged_organization(world):
    account = save(world.account_admin, world.acme_us, organization=world.acme.pk, name="Kept Org")
    assert (account.organization, account.name) == (world.acme, "Kept Org")


def test_account_admin_cannot_move_the_account(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.account_admin, world.acme_us, organization=world.globex.pk)
    assert "organization" in errors_of(excinfo)
    assert Account.objects.get(pk=world.acme_us.pk).organization == world.acme


def test_org_admin_changes_license_type(world):
    assert save(world.org_admin, world.acme_us, license_type="enterprise").license_type == "enterprise"


def test_org_admin_cannot_move_an_account_to_a_foreign_organization(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, organization=world.globex.pk)
    assert errors_of(excinfo) == {"organization": ["Select one of your organizations."]}


def test_account_user_cannot_change_settings(world):
    with pytest.raises(PermissionDenied):
        save(world.account_user, world.acme_us, name="Nope")


def test_another_tenant_cannot_change_settings(world):
    with pytest.raises(Http404):
        save(world.globex_admin, world.acme_us, name="Hijacked")


def test_unknown_fields_are_refused(world):
    with pytest.raises(ValidationError) as excinfo:
        save(world.org_admin, world.acme_us, api_key_hash="0" * 64)
    assert "api_key_hash" in errors_of(excinfo)


def test_regenerating_the_api_key_revokes_the_old_one(world):
    first = services.regenerate_api_key(world.account_admin, world.acme_us)
    old_hash = Account.objects.get(pk=world.acme_us.pk).api_key_hash
    assert key_matches(first, old_hash)
    second = services.regenerate_api_key(world.account_admin, world.acme_us)
    account = Account.objects.get(pk=world.acme_us.pk)
    assert not key_matches(first, account.api_key_hash)
    assert key_matches(second, account.api_key_hash)
    assert account.api_key_prefix == split_prefix(second)
    assert len(second) > 40


def test_the_api_key_never_reaches_the_audit_log(world):
    key = services.regenerate_api_key(world.org_admin, world.acme_us)
    secret = key.rsplit("_", 1)[-1]
    entry = AuditEntry.objects.get(action="api_key_regenerated")
    assert secret not in entry.old_value + entry.new_value
    assert entry.new_value.startswith("toms_")


def test_validation_rules_default_to_warning(world):
    rules = validation_rules(world.acme_us)
    assert len(rules) == 16
    assert set(rules.values()) == {EnforcementStatus.WARNING}


def test_validation_rules_are_saved_and_audited(world):
    account = Account.objects.get(pk=world.acme_us.pk)
    services.update_validation_rules(
        world.account_admin,
        account,
        {("shipments", "invalid_carrier_code"): "error"},
        account.validation_rules_version,
    )
    assert validation_rules(account)[("shipments", "invalid_carrier_code")] == "error"
    entry = AuditEntry.objects.get(action="api_validation_rules_changed")
    assert (entry.field, entry.old_value, entry.new_value) == (
        "Shipments: Invalid Carrier Code",
        "Warning",
        "Error",
    )


def test_validation_rules_refuse_unknown_statuses_and_stale_versions(world):
    account = Account.objects.get(pk=world.acme_us.pk)
    with pytest.raises(ValidationError):
        services.update_validation_rules(
            world.org_admin,
            account,
            {("receipts", "missing_service_code"): "panic"},
            account.validation_rules_version,
        )
    with pytest.raises(services.StaleVersionError):
        services.update_validation_rules(
            world.org_admin,
            account,
            {("receipts", "missing_service_code"): "error"},
            account.validation_rules_version - 1,
        )
    assert validation_rules(account)[("receipts", "missing_service_code")] == "warning"


def test_new_account_codes_follow_the_same_rules(world):
    with pytest.raises(ValidationError) as excinfo:
        services.create_account(world.org_admin, world.acme, name="Dup", code="acme-us")
    assert "code" in errors_of(excinfo)
    account, key = services.create_account(
        world.org_admin, world.acme, name="Acme CA", code="acme-ca", timezone_name="America/Toronto"
    )
    assert account.code == "ACME-CA" and key_matches(key, account.api_key_hash)


def test_another_organizations_admin_cannot_create_accounts_here(world):
    with pytest.raises(Http404):
        services.create_account(world.globex_admin, world.acme, name="X", code="XX")


def test_warehouse_codes_are_unique_per_account(world):
    with pytest.raises(ValidationError) as excinfo:
        services.create_warehouse(world.org_admin, world.acme_us, name="Again", code="wh1")
    assert "code" in errors_of(excinfo)
    other = services.create_warehouse(world.org_admin, world.acme_us, name="Third", code="wh3")
    assert other.code == "WH3"


def test_account_admin_cannot_manage_warehouses(world):
    with pytest.raises(PermissionDenied):
        services.create_warehouse(world.account_admin, world.acme_us, name="Mine", code="MINE")


def test_the_default_warehouse_cannot_be_deactivated(world):
    with pytest.raises(ValidationError):
        services.set_warehouse_active(world.org_admin, world.warehouses["ACME-US-1"], False)
    services.set_warehouse_active(world.org_admin, world.warehouses["ACME-US-2"], False)
    world.warehouses["ACME-US-2"].refresh_from_db()
    assert world.warehouses["ACME-US-2"].is_active is False


def test_account_admin_grants_account_roles_only(world):
    from accounts.models import Role

    assignment, password = services.grant_account_role(
        world.account_admin, world.acme_us, "new@acme-us.test", Role.ACCOUNT_USER
    )
    assert password and assignment.user.check_password(password)
    with pytest.raises(ValidationError):
        services.grant_account_role(
            world.account_admin, world.acme_us, "x@acme.test", Role.ORGANIZATION_ADMINISTRATOR
        )


def test_supervisor_cannot_grant_organization_roles(world):
    from accounts.models import Role

    with pytest.raises(PermissionDenied):
        services.grant_organization_role(world.supervisor, world.acme, "boss@acme.test", Role.SUPERVISOR)
    assignment, _ = services.grant_organization_role(
        world.org_admin, world.acme, "boss@acme.test", Role.SUPERVISOR
    )
    assert assignment.organization == world.acme


def test_nobody_removes_their_own_access(world):
    from accounts.models import RoleAssignment

    own = RoleAssignment.objects.get(user=world.account_admin)
    with pytest.raises(ValidationError):
        services.revoke_account_role(world.account_admin, own)
    assert RoleAssignment.objects.filter(pk=own.pk).exists()
