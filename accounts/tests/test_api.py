"""The REST API over HTTP with real API keys: authentication, the account's settings,
warehouses, people, audit log, errors, throttling and the schema."""

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import api_keys, services
from accounts.api_auth import ApiRateThrottle
from accounts.models import Account, AuditEntry, Warehouse
from accounts.signals import account_settings_changed

pytestmark = pytest.mark.django_db

ACCOUNT = "/api/v1/account/"
WAREHOUSES = "/api/v1/warehouses/"
USERS = "/api/v1/users/"
AUDIT_LOG = "/api/v1/audit-log/"


@pytest.fixture(autouse=True)
def fresh_throttle_budgets(settings):
    # A key prefix of the test's own rather than clear(), which on Redis would flush the
    # whole database, the broker's queues included.
    throttle = {**settings.CACHES["throttle"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "throttle": throttle}


def key_client(key: str, header: str = "x-api-key") -> APIClient:
    client = APIClient()
    if header == "authorization":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    else:
        client.credentials(HTTP_X_API_KEY=key)
    return client


@pytest.fixture
def api_for():
    """A client holding a freshly issued key of the given account."""

    def make(account, header="x-api-key"):
        return key_client(services.regenerate_api_key(None, account), header)

    return make


@pytest.fixture
def session_for():
    """A signed-in browser session at an account; CSRF checked as a browser's would be."""

    def make(user, account=None):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        if account is not None:
            session = client.session
            session["current_account_id"] = account.pk
            session.save()
        return client

    return make


def with_csrf(client: APIClient) -> APIClient:
    token = "a" * 32
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def stored(account) -> dict:
    """The account's stored settings, without the key's last-use time that reads touch."""
    row = Account.objects.filter(pk=account.pk).values().get()
    row.pop("api_key_last_used_at")
    return row


def error_codes(response) -> dict[str, list[str]]:
    return {field: [e["code"] for e in errors] for field, errors in response.json()["errors"].items()}


# Authentication -----------------------------------------------------------------------


def test_key_in_x_api_key_header_reads_its_account(world, api_for):
    response = api_for(world.acme_us).get(ACCOUNT)
    assert response.status_code == 200
    assert response.json()["code"] == "ACME-US"


def test_key_in_authorization_header_reads_its_account(world, api_for):
    response = api_for(world.globex_jp, header="authorization").get(ACCOUNT)
    assert response.status_code == 200
    assert response.json()["code"] == "GLOBEX"


def test_request_without_key_is_401_json_naming_the_scheme(world):
    response = APIClient().get(ACCOUNT)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Api-Key")
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "key",
    ["toms_00000000_not-a-real-secret", "garbage", "toms_short_x", "toms_" + "a" * 300],
)
def test_unknown_or_malformed_key_is_401(world, key):
    response = key_client(key).get(ACCOUNT)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_right_prefix_with_wrong_secret_is_401(world):
    key = services.regenerate_api_key(None, world.acme_us)
    response = key_client(key[:-4] + "XXXX").get(ACCOUNT)
    assert response.status_code == 401


def test_regenerating_revokes_the_old_key_at_once(world):
    old = services.regenerate_api_key(None, world.acme_us)
    assert key_client(old).get(ACCOUNT).status_code == 200
    new = services.regenerate_api_key(None, world.acme_us)
    assert key_client(old).get(ACCOUNT).status_code == 401
    assert key_client(new).get(ACCOUNT).status_code == 200


def test_key_of_an_inactive_account_is_refused(world, api_for):
    client = api_for(world.acme_us)
    Account.objects.filter(pk=world.acme_us.pk).update(is_active=False)
    assert client.get(ACCOUNT).status_code == 401


def test_first_use_of_a_key_is_recorded(world, api_for):
    api_for(world.acme_us).get(ACCOUNT)
    world.acme_us.refresh_from_db()
    assert timezone.now() - world.acme_us.api_key_last_used_at < timedelta(seconds=5)


def test_last_use_is_rewritten_only_when_a_minute_old(world, api_for):
    client = api_for(world.acme_us)
    recent = timezone.now() - timedelta(seconds=30)
    Account.objects.filter(pk=world.acme_us.pk).update(api_key_last_used_at=recent)
    client.get(ACCOUNT)
    assert Account.objects.get(pk=world.acme_us.pk).api_key_last_used_at == recent
    stale = timezone.now() - timedelta(minutes=2)
    Account.objects.filter(pk=world.acme_us.pk).update(api_key_last_used_at=stale)
    client.get(ACCOUNT)
    assert Account.objects.get(pk=world.acme_us.pk).api_key_last_used_at > stale


def test_session_reads_the_account_selected_in_the_portal(world, session_for):
    response = session_for(world.account_user, world.acme_us).get(ACCOUNT)
    assert response.status_code == 200
    assert response.json()["code"] == "ACME-US"


def test_session_without_a_selected_account_is_404(world, session_for):
    response = session_for(world.org_admin).get(ACCOUNT)
    assert response.status_code == 404
    assert response.json()["code"] == "account_not_selected"


def test_session_selecting_another_tenants_account_is_404(world, session_for):
    response = session_for(world.globex_admin, world.acme_us).get(ACCOUNT)
    assert response.status_code == 404
    assert "ACME" not in response.content.decode()


def test_session_change_without_csrf_token_is_refused(world, session_for):
    before = stored(world.acme_us)
    client = session_for(world.org_admin, world.acme_us)
    response = client.patch(ACCOUNT, {"name": "Renamed", "version": world.acme_us.version})
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert stored(world.acme_us) == before


def test_session_change_with_csrf_token_is_saved(world, session_for):
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.patch(ACCOUNT, {"name": "Renamed", "version": world.acme_us.version})
    assert response.status_code == 200
    assert Account.objects.get(pk=world.acme_us.pk).name == "Renamed"


# The account's settings ---------------------------------------------------------------


def test_account_shows_every_main_tab_setting_and_every_rule(world, api_for):
    body = api_for(world.acme_us).get(ACCOUNT).json()
    assert body | {"api_key": None, "updated_at": None} == {
        "id": world.acme_us.pk,
        "organization": world.acme.pk,
        "organization_name": "Acme Corp",
        "name": "Acme US",
        "code": "ACME-US",
        "timezone": "America/New_York",
        "license_type": "standard",
        "size_unit": "cm",
        "volume_unit": "cm3",
        "weight_unit": "kg",
        "master_product_source": "techoms",
        "master_product_channel": None,
        "default_warehouse": world.warehouses["ACME-US-1"].pk,
        "auto_sales_order_workflow": False,
        "auto_purchase_order_workflow": False,
        "inventory_realtime_updates": True,
        "pii_retention_days": None,
        "api_key": None,
        "version": world.acme_us.version,
        "validation_rules": {
            document: {
                "missing_carrier_code": "warning",
                "invalid_carrier_code": "warning",
                "missing_service_code": "warning",
                "invalid_service_code": "warning",
            }
            for document in ("sales_orders", "shipments", "purchase_orders", "receipts")
        },
        "validation_rules_version": 1,
        "updated_at": None,
    }


def test_account_shows_the_keys_prefix_never_the_key(world):
    key = services.regenerate_api_key(None, world.acme_us)
    response = key_client(key).get(ACCOUNT)
    assert response.json()["api_key"]["prefix"] == f"toms_{api_keys.split_prefix(key)}_…"
    assert key not in response.content.decode()


def test_key_changes_settings_and_the_version_moves_on(world, api_for):
    response = api_for(world.acme_us).patch(
        ACCOUNT,
        {
            "timezone": "Europe/Paris",
            "size_unit": "in",
            "volume_unit": "in3",
            "default_warehouse": world.warehouses["ACME-US-2"].pk,
            "pii_retention_days": 30,
            "version": world.acme_us.version,
        },
    )
    assert response.status_code == 200
    account = Account.objects.get(pk=world.acme_us.pk)
    assert (account.timezone, account.size_unit, account.volume_unit, account.pii_retention_days) == (
        "Europe/Paris",
        "in",
        "in3",
        30,
    )
    assert account.default_warehouse == world.warehouses["ACME-US-2"]
    assert response.json()["version"] == world.acme_us.version + 1 == account.version


def test_a_keys_change_is_audited_under_the_keys_prefix(world):
    key = services.regenerate_api_key(None, world.acme_us)
    key_client(key).patch(ACCOUNT, {"weight_unit": "lb", "version": world.acme_us.version})
    entry = AuditEntry.objects.get(account=world.acme_us, action="account_settings_changed")
    assert (entry.actor, entry.actor_label) == (None, f"API key toms_{api_keys.split_prefix(key)}_…")
    assert (entry.field, entry.old_value, entry.new_value) == ("Weight", "Kilogram", "Pound")


def test_a_keys_change_notifies_the_schedules_like_the_pages(
    world, api_for, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, account_id, fields, **kwargs):
        heard.append((account_id, fields))

    account_settings_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api_for(world.acme_us).patch(ACCOUNT, {"timezone": "UTC", "version": world.acme_us.version})
    finally:
        account_settings_changed.disconnect(listener)
    assert heard == [(world.acme_us.pk, ("timezone",))]


def test_invalid_timezone_is_400_and_nothing_changes(world, api_for):
    client = api_for(world.acme_us)
    before = stored(world.acme_us)
    response = client.patch(ACCOUNT, {"timezone": "Mars/Olympus", "version": world.acme_us.version})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert error_codes(response) == {"timezone": ["invalid_choice"]}
    assert stored(world.acme_us) == before


def test_metric_size_with_imperial_volume_names_both_fields_and_nothing_changes(world, api_for):
    client = api_for(world.acme_us)
    before = stored(world.acme_us)
    response = client.patch(
        ACCOUNT, {"volume_unit": "in3", "name": "Changed too", "version": world.acme_us.version}
    )
    assert response.status_code == 400
    assert error_codes(response) == {
        "size_unit": ["unit_system_mismatch"],
        "volume_unit": ["unit_system_mismatch"],
    }
    assert stored(world.acme_us) == before


def test_another_accounts_warehouse_as_default_is_400_and_nothing_changes(world, api_for):
    client = api_for(world.acme_us)
    before = stored(world.acme_us)
    foreign = world.warehouses["GLOBEX-1"]
    response = client.patch(ACCOUNT, {"default_warehouse": foreign.pk, "version": world.acme_us.version})
    assert response.status_code == 400
    assert error_codes(response) == {"default_warehouse": ["does_not_exist"]}
    assert foreign.name not in response.content.decode()
    assert stored(world.acme_us) == before


def test_stale_version_is_409_and_nothing_changes(world, api_for):
    client = api_for(world.acme_us)
    read = client.get(ACCOUNT).json()["version"]
    services.update_account_settings(world.org_admin, world.acme_us, {"name": "Saved first"}, read)
    before = stored(world.acme_us)
    response = client.patch(ACCOUNT, {"name": "Saved second", "version": read})
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert response.json()["current_version"] == read + 1
    assert stored(world.acme_us) == before


def test_change_without_version_is_400(world, api_for):
    response = api_for(world.acme_us).patch(ACCOUNT, {"name": "No version"})
    assert response.status_code == 400
    assert error_codes(response) == {"version": ["required"]}


def test_misspelt_setting_is_400_not_ignored(world, api_for):
    response = api_for(world.acme_us).patch(ACCOUNT, {"timezon": "UTC", "version": 1})
    assert error_codes(response) == {"timezon": ["unknown_field"]}


def test_read_only_fields_sent_back_are_ignored(world, api_for):
    client = api_for(world.acme_us)
    body = client.get(ACCOUNT).json()
    response = client.patch(ACCOUNT, {**body, "name": "Round trip"})
    assert response.status_code == 200
    assert response.json()["name"] == "Round trip"


@pytest.mark.parametrize(("field", "value"), [("license_type", "enterprise"), ("organization", "globex")])
def test_key_cannot_change_organization_level_fields(world, api_for, field, value):
    client = api_for(world.acme_us)
    before = stored(world.acme_us)
    value = world.globex.pk if value == "globex" else value
    response = client.patch(ACCOUNT, {field: value, "version": world.acme_us.version})
    assert response.status_code == 400
    assert error_codes(response)[field] in (["organization_level_only"], ["does_not_exist"])
    assert stored(world.acme_us) == before


def test_organization_administrator_session_changes_license_type(world, session_for):
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.patch(ACCOUNT, {"license_type": "enterprise", "version": world.acme_us.version})
    assert response.status_code == 200
    assert Account.objects.get(pk=world.acme_us.pk).license_type == "enterprise"


def test_account_user_session_cannot_change_settings(world, session_for):
    before = stored(world.acme_us)
    client = with_csrf(session_for(world.account_user, world.acme_us))
    response = client.patch(ACCOUNT, {"name": "Nope", "version": world.acme_us.version})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert stored(world.acme_us) == before


def test_key_changes_validation_rules(world, api_for):
    response = api_for(world.acme_us).patch(
        ACCOUNT,
        {"validation_rules": {"shipments": {"invalid_carrier_code": "error"}}, "validation_rules_version": 1},
    )
    assert response.status_code == 200
    assert response.json()["validation_rules"]["shipments"]["invalid_carrier_code"] == "error"
    assert response.json()["validation_rules_version"] == 2
    assert AuditEntry.objects.filter(account=world.acme_us, action="api_validation_rules_changed").exists()


def test_invalid_rule_status_names_the_nested_field(world, api_for):
    response = api_for(world.acme_us).patch(
        ACCOUNT,
        {"validation_rules": {"receipts": {"missing_service_code": "fatal"}}, "validation_rules_version": 1},
    )
    assert error_codes(response) == {"validation_rules.receipts.missing_service_code": ["invalid_choice"]}


def test_settings_and_rules_together_are_all_or_nothing(world, api_for):
    client = api_for(world.acme_us)
    before = stored(world.acme_us)
    response = client.patch(
        ACCOUNT,
        {
            "name": "Would change",
            "version": world.acme_us.version,
            "validation_rules": {"sales_orders": {"missing_carrier_code": "error"}},
            "validation_rules_version": 99,
        },
    )
    assert response.status_code == 409
    assert stored(world.acme_us) == before
    assert not AuditEntry.objects.filter(account=world.acme_us).exclude(action="api_key_regenerated").exists()


# Errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_methods_the_account_does_not_offer_are_405_json(world, api_for, method):
    response = getattr(api_for(world.acme_us), method)(ACCOUNT, {})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_form_encoded_body_is_415_json(world, api_for):
    response = api_for(world.acme_us).patch(
        ACCOUNT, "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_malformed_json_is_400_json(world, api_for):
    response = api_for(world.acme_us).patch(ACCOUNT, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_body_that_is_not_an_object_is_400(world, api_for):
    response = api_for(world.acme_us).patch(ACCOUNT, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/channels/%0A1/jobs/"])
def test_unknown_api_path_is_404_json(world, path):
    # A newline in the path (found by schemathesis) too: `.` alone stops at it.
    response = APIClient().get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unexpected_error_is_500_json_without_a_trace(world, api_for, monkeypatch):
    def explode(account):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("accounts.serializers.validation_rules", explode)
    response = api_for(world.acme_us).get(ACCOUNT)
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


# Warehouses ---------------------------------------------------------------------------


def test_key_lists_its_own_warehouses_only(world, api_for):
    body = api_for(world.acme_us).get(WAREHOUSES).json()
    assert body["count"] == 2
    assert [w["id"] for w in body["results"]] == [
        world.warehouses["ACME-US-1"].pk,
        world.warehouses["ACME-US-2"].pk,
    ]
    assert body["results"][0]["is_default"] is True


def test_warehouses_filter_by_activity_and_search(world, api_for):
    Warehouse.objects.filter(pk=world.warehouses["ACME-US-2"].pk).update(is_active=False)
    client = api_for(world.acme_us)
    inactive = client.get(WAREHOUSES, {"is_active": "false"}).json()["results"]
    assert [w["code"] for w in inactive] == ["WH2"]
    assert [w["code"] for w in client.get(WAREHOUSES, {"search": "dc 1"}).json()["results"]] == ["WH1"]
    assert [w["code"] for w in client.get(WAREHOUSES, {"code": "wh2"}).json()["results"]] == ["WH2"]


def test_invalid_filter_value_is_400(world, api_for):
    response = api_for(world.acme_us).get(WAREHOUSES, {"is_active": "perhaps"})
    assert response.status_code == 400
    assert error_codes(response) == {"is_active": ["invalid"]}


def test_warehouses_are_paginated(world, api_for):
    client = api_for(world.acme_us)
    first = client.get(WAREHOUSES, {"page_size": 1}).json()
    assert (first["count"], len(first["results"])) == (2, 1)
    second = client.get(first["next"]).json()
    assert second["results"][0]["code"] == "WH2"
    assert second["next"] is None


def test_key_reads_one_of_its_warehouses(world, api_for):
    warehouse = world.warehouses["ACME-US-2"]
    response = api_for(world.acme_us).get(f"{WAREHOUSES}{warehouse.pk}/")
    assert response.json()["name"] == warehouse.name


def test_key_guessing_other_accounts_warehouse_ids_gets_404_and_nothing_of_them(world, api_for):
    client = api_for(world.acme_us)
    for name in ("ACME-EU-1", "GLOBEX-1", "GLOBEX-2"):
        warehouse = world.warehouses[name]
        for method in ("get", "patch"):
            response = getattr(client, method)(f"{WAREHOUSES}{warehouse.pk}/", {})
            assert response.status_code == 404
            assert warehouse.name not in response.content.decode()


def test_key_cannot_add_a_warehouse(world, api_for):
    response = api_for(world.acme_us).post(WAREHOUSES, {"name": "New", "code": "NEW"})
    assert response.status_code == 403
    assert not Warehouse.objects.filter(code="NEW").exists()


def test_key_cannot_edit_a_warehouse(world, api_for):
    warehouse = world.warehouses["ACME-US-2"]
    response = api_for(world.acme_us).patch(f"{WAREHOUSES}{warehouse.pk}/", {"name": "Renamed"})
    assert response.status_code == 403
    assert Warehouse.objects.get(pk=warehouse.pk).name == warehouse.name


def test_account_administrator_session_cannot_add_a_warehouse(world, session_for):
    client = with_csrf(session_for(world.account_admin, world.acme_us))
    assert client.post(WAREHOUSES, {"name": "New", "code": "NEW"}).status_code == 403


def test_organization_administrator_session_adds_a_warehouse(world, session_for):
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.post(WAREHOUSES, {"name": "Reno DC", "code": "reno", "address": "1 Main St"})
    assert response.status_code == 201
    warehouse = Warehouse.objects.get(pk=response.json()["id"])
    assert (warehouse.account, warehouse.code, warehouse.is_active) == (world.acme_us, "RENO", True)
    assert AuditEntry.objects.filter(account=world.acme_us, action="warehouse_created").exists()


def test_duplicate_warehouse_code_is_400_unique(world, session_for):
    client = with_csrf(session_for(world.supervisor, world.acme_us))
    response = client.post(WAREHOUSES, {"name": "Twin", "code": "wh1"})
    assert error_codes(response) == {"code": ["unique"]}
    assert world.acme_us.warehouses.count() == 2


def test_organization_administrator_session_edits_and_deactivates_a_warehouse(world, session_for):
    warehouse = world.warehouses["ACME-US-2"]
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.patch(f"{WAREHOUSES}{warehouse.pk}/", {"name": "Overflow", "is_active": False})
    assert response.status_code == 200
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.is_active) == ("Overflow", False)


def test_deactivating_the_default_warehouse_is_400_and_nothing_changes(world, session_for):
    warehouse = world.warehouses["ACME-US-1"]
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.patch(f"{WAREHOUSES}{warehouse.pk}/", {"name": "Renamed", "is_active": False})
    assert error_codes(response) == {"is_active": ["default_warehouse"]}
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.is_active) == ("Acme US DC 1", True)


def test_session_at_own_account_cannot_edit_another_organizations_warehouse(world, session_for):
    foreign = world.warehouses["GLOBEX-1"]
    client = with_csrf(session_for(world.org_admin, world.acme_us))
    response = client.patch(f"{WAREHOUSES}{foreign.pk}/", {"name": "Taken"})
    assert response.status_code == 404
    assert Warehouse.objects.get(pk=foreign.pk).name == foreign.name


# People and audit log -----------------------------------------------------------------


def test_users_lists_the_accounts_and_its_organizations_roles(world, api_for):
    body = api_for(world.acme_us).get(USERS).json()
    assert {(u["email"], u["role"], u["scope"]) for u in body["results"]} == {
        ("admin@acme-us.test", "account_admin", "account"),
        ("user@acme-us.test", "account_user", "account"),
        ("orgadmin@acme.test", "org_admin", "organization"),
        ("supervisor@acme.test", "supervisor", "organization"),
    }


def test_users_filter_by_role(world, api_for):
    body = api_for(world.acme_us).get(USERS, {"role": "account_user"}).json()
    assert [u["email"] for u in body["results"]] == ["user@acme-us.test"]


def test_key_reads_its_accounts_audit_log_newest_first(world, api_for):
    client = api_for(world.acme_us)
    services.update_account_settings(world.org_admin, world.acme_us, {"name": "A"}, None)
    services.update_account_settings(world.org_admin, world.acme_eu, {"name": "B"}, None)
    entries = client.get(AUDIT_LOG).json()["results"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("account_settings_changed", "orgadmin@acme.test"),
        ("api_key_regenerated", "system"),
    ]


def test_audit_log_filters_by_action_and_time(world, api_for):
    client = api_for(world.acme_us)
    before_change = timezone.now()
    services.update_account_settings(world.org_admin, world.acme_us, {"name": "A"}, None)
    by_action = client.get(AUDIT_LOG, {"action": "api_key_regenerated"}).json()["results"]
    assert [e["action"] for e in by_action] == ["api_key_regenerated"]
    since = client.get(AUDIT_LOG, {"since": before_change.isoformat()}).json()["results"]
    assert [e["action"] for e in since] == ["account_settings_changed"]


def test_audit_log_pages_with_a_cursor(world, api_for):
    client = api_for(world.acme_us)
    for name in ("A", "B", "C"):
        services.update_account_settings(world.org_admin, world.acme_us, {"name": name}, None)
    first = client.get(AUDIT_LOG, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    assert [e["action"] for e in first["results"] + second["results"]] == [
        *["account_settings_changed"] * 3,
        "api_key_regenerated",
    ]
    assert [e["new_value"] for e in first["results"] + second["results"]][:3] == ["C", "B", "A"]
    assert second["next"] is None


def test_account_administrator_session_cannot_read_the_audit_log(world, session_for):
    response = session_for(world.account_admin, world.acme_us).get(AUDIT_LOG)
    assert response.status_code == 403


# Throttling ---------------------------------------------------------------------------


def test_a_key_over_its_rate_gets_429_with_retry_after(world, api_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/minute"}}
    client = api_for(world.acme_us)
    assert [client.get(ACCOUNT).status_code for _ in range(3)] == [200, 200, 429]
    response = client.get(ACCOUNT)
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_each_key_has_its_own_budget(world, api_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "1/minute"}}
    busy, other = api_for(world.acme_us), api_for(world.acme_eu)
    busy.get(ACCOUNT)
    assert busy.get(ACCOUNT).status_code == 429
    assert other.get(ACCOUNT).status_code == 200


def test_a_spent_budget_refills_when_its_retry_after_has_passed(world, api_for, settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/hour"}}
    now = 1_700_000_000.0
    monkeypatch.setattr(ApiRateThrottle, "timer", staticmethod(lambda: now))
    client = api_for(world.acme_us)
    client.get(ACCOUNT)
    client.get(ACCOUNT)
    retry_after = int(client.get(ACCOUNT)["Retry-After"])
    assert 1 <= retry_after <= 3600
    now += retry_after - 1
    assert client.get(ACCOUNT).status_code == 429
    now += 1
    assert [client.get(ACCOUNT).status_code for _ in range(3)] == [200, 200, 429]


# Schema, docs and the key command -----------------------------------------------------


def test_schema_is_valid_openapi_with_every_endpoint_and_the_key_scheme(world):
    from drf_spectacular.validation import validate_schema

    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    validate_schema(schema)
    assert {
        "/api/v1/account/",
        "/api/v1/warehouses/",
        "/api/v1/warehouses/{id}/",
        "/api/v1/users/",
        "/api/v1/audit-log/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "The account's API key, e.g. `toms_ab12cd34_…`.",
    }
    patch = schema["paths"]["/api/v1/account/"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409", "429"} <= set(patch)
    assert patch["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_docs_page_serves_swagger_ui_from_the_portal_itself(world):
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_create_api_key_prints_only_a_working_key(world):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "acme-us", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert "\n" not in key
    assert key_client(key).get(ACCOUNT).json()["code"] == "ACME-US"


def test_create_api_key_for_an_unknown_code_fails(world):
    with pytest.raises(CommandError):
        call_command("create_api_key", "NOPE", stdout=StringIO(), stderr=StringIO())
