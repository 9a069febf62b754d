"""The permission matrix of the pages, enforced on the server for every role.

Each row: who, at which account (session), what request, expected status. Another
tenant's objects answer 404; a role without the right answers 403.
"""

import pytest

from accounts.models import Account, AuditEntry, RoleAssignment, Warehouse

pytestmark = pytest.mark.django_db

ORG, SUP, ADM, USR, GLOBEX = "org_admin", "supervisor", "account_admin", "account_user", "globex_admin"
ALL = (ORG, SUP, ADM, USR, GLOBEX)
TABS = ("main", "api-validation-rules", "recurring-jobs", "warehouses", "users", "audit-log")


def org_url(world, tab=None, account=None):
    account = account or world.acme_us
    base = f"/organizations/{account.organization_id}/accounts/{account.pk}/"
    return base + (f"{tab}/" if tab else "")


@pytest.mark.parametrize(("who", "status"), [(ORG, 200), (SUP, 200), (ADM, 403), (USR, 403), (GLOBEX, 200)])
def test_organizations_list_is_for_organization_level_roles(world, client_for, who, status):
    assert client_for(getattr(world, who)).get("/organizations/").status_code == status


def test_organizations_list_shows_only_own_organizations(world, client_for):
    body = client_for(world.globex_admin).get("/organizations/").content.decode()
    assert "Globex" in body and "Acme Corp" not in body


@pytest.mark.parametrize(("who", "status"), [(ORG, 200), (SUP, 200), (ADM, 404), (USR, 404), (GLOBEX, 404)])
def test_organization_edit_page(world, client_for, who, status):
    assert client_for(getattr(world, who)).get(f"/organizations/{world.acme.pk}/").status_code == status


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize(("who", "status"), [(ORG, 200), (SUP, 200), (GLOBEX, 404), (ADM, 404), (USR, 404)])
def test_account_tabs_through_organizations(world, client_for, who, status, tab):
    assert client_for(getattr(world, who)).get(org_url(world, tab)).status_code == status


def test_account_of_another_organization_under_own_organization_url_is_404(world, client_for):
    url = f"/organizations/{world.acme.pk}/accounts/{world.globex_jp.pk}/"
    assert client_for(world.org_admin).get(url).status_code == 404


@pytest.mark.parametrize(
    ("who", "tab", "status"),
    [
        *((who, tab, 200) for who in (ORG, SUP) for tab in TABS),
        *((ADM, tab, 200) for tab in ("main", "api-validation-rules", "recurring-jobs", "users")),
        (ADM, "warehouses", 403),
        (ADM, "audit-log", 403),
        *((USR, tab, 200) for tab in ("main", "api-validation-rules", "recurring-jobs", "users")),
        (USR, "warehouses", 403),
        (USR, "audit-log", 403),
        (ORG, "no-such-tab", 404),
    ],
)
def test_current_account_tabs(world, client_for, who, tab, status):
    client = client_for(getattr(world, who), account=world.acme_us)
    assert client.get(f"/account/{tab}/").status_code == status


def main_form(account, **overrides):
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
        "master_product_channel": "",
        "default_warehouse": account.default_warehouse_id or "",
        "auto_sales_order_workflow": str(account.auto_sales_order_workflow),
        "auto_purchase_order_workflow": str(account.auto_purchase_order_workflow),
        "inventory_realtime_updates": str(account.inventory_realtime_updates),
        "pii_retention_days": "",
        "version": account.version,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(("who", "status"), [(ORG, 302), (SUP, 302), (ADM, 302), (USR, 403)])
def test_saving_the_main_tab(world, client_for, who, status):
    client = client_for(getattr(world, who), account=world.acme_us)
    response = client.post("/account/main/", main_form(world.acme_us, name="Saved Name"))
    assert response.status_code == status
    assert (Account.objects.get(pk=world.acme_us.pk).name == "Saved Name") == (status == 302)


def test_another_tenant_cannot_save_through_a_guessed_url(world, client_for):
    response = client_for(world.globex_admin).post(org_url(world, "main"), main_form(world.acme_us, name="X"))
    assert response.status_code == 404
    assert Account.objects.get(pk=world.acme_us.pk).name == "Acme US"


def test_account_admin_cannot_change_license_type_by_posting_it(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    response = client.post("/account/main/", main_form(world.acme_us, license_type="enterprise"))
    # The field is disabled for account administrators: the posted value is ignored.
    assert response.status_code == 302
    assert Account.objects.get(pk=world.acme_us.pk).license_type == "standard"


def test_a_refused_save_shows_errors_beside_fields_and_keeps_input(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    response = client.post(
        "/account/main/",
        main_form(world.acme_us, name="Typed Name", code="x", size_unit="in", pii_retention_days="0"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_code_error"' in body and 'id="id_size_unit_error"' in body
    assert 'id="id_volume_unit_error"' in body and 'id="id_pii_retention_days_error"' in body
    assert 'value="Typed Name"' in body
    assert Account.objects.get(pk=world.acme_us.pk).name == "Acme US"


def test_a_stale_save_is_refused_with_a_message(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    stale = main_form(world.acme_us, name="Late")
    client.post("/account/main/", main_form(world.acme_us, name="Early"))
    response = client.post("/account/main/", stale)
    assert response.status_code == 200
    assert "changed by orgadmin@acme.test since you opened them" in response.content.decode()
    assert Account.objects.get(pk=world.acme_us.pk).name == "Early"


def test_api_key_is_shown_once_then_only_its_prefix(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    response = client.post("/account/main/", {"action": "regenerate_key"})
    assert response.status_code == 302
    first = client.get("/account/main/").content.decode()
    second = client.get("/account/main/").content.decode()
    account = Account.objects.get(pk=world.acme_us.pk)
    assert 'data-testid="new-api-key"' in first
    assert 'data-testid="new-api-key"' not in second
    assert f"toms_{account.api_key_prefix}_…" in second


def test_account_user_cannot_regenerate_the_key(world, client_for):
    client = client_for(world.account_user, account=world.acme_us)
    assert client.post("/account/main/", {"action": "regenerate_key"}).status_code == 403


@pytest.mark.parametrize(("who", "status"), [(ORG, 302), (SUP, 302), (ADM, 403), (USR, 403)])
def test_adding_a_warehouse(world, client_for, who, status):
    client = client_for(getattr(world, who), account=world.acme_us)
    response = client.post("/account/warehouses/", {"action": "add", "name": "New", "code": "NEW"})
    assert response.status_code == status
    assert Warehouse.objects.filter(account=world.acme_us, code="NEW").exists() == (status == 302)


def test_a_foreign_warehouse_id_answers_404(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    foreign = world.warehouses["GLOBEX-2"]
    response = client.post("/account/warehouses/", {"action": "deactivate", "warehouse": foreign.pk})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active


@pytest.mark.parametrize(("who", "status"), [(ORG, 302), (SUP, 302), (ADM, 302), (USR, 403)])
def test_granting_an_account_role(world, client_for, who, status):
    client = client_for(getattr(world, who), account=world.acme_us)
    response = client.post(
        "/account/users/", {"action": "grant_role", "email": "new@x.test", "role": "account_user"}
    )
    assert response.status_code == status
    assert RoleAssignment.objects.filter(user__email="new@x.test").exists() == (status == 302)


def test_account_admin_cannot_grant_organization_roles_on_the_users_tab(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    response = client.post(
        "/account/users/", {"action": "grant_role", "email": "n@x.test", "role": "org_admin"}
    )
    assert response.status_code == 200
    assert not RoleAssignment.objects.filter(user__email="n@x.test").exists()


def test_revoking_a_role_of_another_account_answers_404(world, client_for):
    from accounts.models import Role

    foreign = RoleAssignment.objects.create(
        user=world.globex_admin, role=Role.ACCOUNT_USER, account=world.globex_jp
    )
    client = client_for(world.org_admin, account=world.acme_us)
    response = client.post("/account/users/", {"action": "revoke_role", "assignment": foreign.pk})
    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize(("who", "status"), [(ORG, 302), (SUP, 403)])
def test_granting_organization_roles(world, client_for, who, status):
    client = client_for(getattr(world, who))
    response = client.post(
        f"/organizations/{world.acme.pk}/",
        {"action": "grant_role", "email": "boss@acme.test", "role": "supervisor"},
    )
    assert response.status_code == status


def test_organization_admin_adds_an_account_and_sees_its_key_once(world, client_for):
    client = client_for(world.org_admin)
    response = client.post(
        f"/organizations/{world.acme.pk}/",
        {"action": "add_account", "name": "Acme CA", "code": "acme-ca", "timezone": "America/Toronto"},
    )
    assert response.status_code == 302
    assert response.url.endswith(f"/accounts/{Account.objects.get(code='ACME-CA').pk}/")
    assert 'data-testid="new-api-key"' in client.get(response.url).content.decode()


def test_switching_to_another_tenants_account_answers_404(world, client_for):
    client = client_for(world.account_admin)
    assert client.post("/switch-account/", {"account": world.globex_jp.pk}).status_code == 404
    assert client.post("/switch-account/", {"account": world.acme_us.pk}).status_code == 302
    assert client.session["current_account_id"] == world.acme_us.pk


def test_menus_follow_the_account_context(world, client_for):
    client = client_for(world.org_admin)
    body = client.get("/organizations/").content.decode()
    assert "System Configuration" in body and "System Settings" not in body
    client.post("/switch-account/", {"account": world.acme_us.pk})
    body = client.get("/account/").content.decode()
    # At an account an organization role keeps its Organizations entry (it leaves the account).
    assert "System Settings" in body and "System Configuration" in body and "leaves ACME-US" in body


def test_account_roles_never_see_system_configuration(world, client_for):
    body = client_for(world.account_admin, account=world.acme_us).get("/account/").content.decode()
    assert "System Settings" in body and "System Configuration" not in body


def test_a_person_with_one_account_and_no_organization_role_works_there_at_once(world, client_for):
    client = client_for(world.account_admin)
    assert client.get("/").url == "/account/"
    assert client.session["current_account_id"] == world.acme_us.pk
    session = client.session
    session.pop("current_account_id")
    session.save()
    response = client.get("/account/")
    assert response.status_code == 302 and client.session["current_account_id"] == world.acme_us.pk


def test_a_person_with_an_organization_role_still_chooses(world, client_for):
    client = client_for(world.org_admin)
    assert client.get("/").url == "/organizations/"
    assert "current_account_id" not in client.session


def test_organization_pages_ask_for_no_account_to_be_selected(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    response = client.get("/organizations/")
    assert response.status_code == 409
    assert "Clear the account selection" in response.content.decode()


def test_clearing_the_account_opens_the_organization_page_that_asked_for_it(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    page = f"/organizations/{world.acme.pk}/"
    assert client.get(page).status_code == 409
    response = client.post("/switch-account/", {"account": "", "next": page})
    assert response.url == page and client.get(page).status_code == 200


def test_clearing_the_account_never_sends_a_person_off_the_site(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    response = client.post("/switch-account/", {"account": "", "next": "https://evil.example/"})
    assert response.url == "/"


def test_dates_are_shown_in_the_account_timezone_with_the_zone_named(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    body = client.get("/account/main/").content.decode()
    assert "(America/New_York)" in body
    Account.objects.filter(pk=world.acme_us.pk).update(timezone="Asia/Tokyo")
    body = client.get("/account/main/").content.decode()
    assert "JST (Asia/Tokyo)" in body


def test_audit_log_tab_lists_changes_for_organization_roles(world, client_for):
    client = client_for(world.org_admin, account=world.acme_us)
    client.post("/account/main/", main_form(world.acme_us, name="Audited"))
    assert AuditEntry.objects.filter(field="Name", new_value="Audited").exists()
    body = client.get("/account/audit-log/").content.decode()
    assert "Audited" in body and "orgadmin@acme.test" in body


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for url in ("/", "/organizations/", "/account/", org_url(world)):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_sign_in_is_by_email(client, world):
    from conftest import PASSWORD

    response = client.post("/login/", {"username": "admin@acme-us.test", "password": PASSWORD})
    assert response.status_code == 302
