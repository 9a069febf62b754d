"""Shared fixtures: one world of two organizations with a person per role, and a
headless Chromium for browser tests."""

import os
from types import SimpleNamespace

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM
# calls there (live_server + Playwright fail with SynchronousOnlyOperation otherwise).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402

PASSWORD = "test-pass-123"  # noqa: S105 - test users only
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def build_world():
    from accounts.models import Account, Organization, Role, RoleAssignment, User, Warehouse

    def person(email, role, organization=None, account=None):
        user = User.objects.create_user(email=email, password=PASSWORD)
        RoleAssignment.objects.create(user=user, role=role, organization=organization, account=account)
        return user

    acme = Organization.objects.create(name="Acme Corp")
    globex = Organization.objects.create(name="Globex")
    acme_us = Account.objects.create(
        organization=acme, name="Acme US", code="ACME-US", timezone="America/New_York"
    )
    acme_eu = Account.objects.create(
        organization=acme, name="Acme EU", code="ACME-EU", timezone="Europe/Berlin"
    )
    globex_jp = Account.objects.create(
        organization=globex, name="Globex Japan", code="GLOBEX", timezone="Asia/Tokyo"
    )
    warehouses = {}
    for account in (acme_us, acme_eu, globex_jp):
        for n in (1, 2):
            warehouses[f"{account.code}-{n}"] = Warehouse.objects.create(
                account=account, name=f"{account.name} DC {n}", code=f"WH{n}"
            )
        account.default_warehouse = warehouses[f"{account.code}-1"]
        account.save()
    return SimpleNamespace(
        acme=acme,
        globex=globex,
        acme_us=acme_us,
        acme_eu=acme_eu,
        globex_jp=globex_jp,
        warehouses=warehouses,
        org_admin=person("orgadmin@acme.test", Role.ORGANIZATION_ADMINISTRATOR, organization=acme),
        supervisor=person("supervisor@acme.test", Role.SUPERVISOR, organization=acme),
        account_admin=person("admin@acme-us.test", Role.ACCOUNT_ADMINISTRATOR, account=acme_us),
        account_user=person("user@acme-us.test", Role.ACCOUNT_USER, account=acme_us),
        globex_admin=person("orgadmin@globex.test", Role.ORGANIZATION_ADMINISTRATOR, organization=globex),
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The world creates five people and most tests sign in; Django's default PBKDF2
    # costs about half a second per hash on this machine, most of a test's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def client_for(client):
    """A test client signed in as the given person, optionally at an account."""

    def sign_in(user, account=None):
        client.force_login(user)
        if account is not None:
            session = client.session
            session["current_account_id"] = account.pk
            session.save()
        return client

    return sign_in


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in_page(page):
    def sign_in(email):
        page.goto("/login/")
        page.fill("#id_username", email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return sign_in
