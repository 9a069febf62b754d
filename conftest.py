"""Shared fixtures: one world of two organizations with a person per role, a headless
Chromium for browser tests, the sandbox simulator over HTTP and an account linked to it."""

import os
from types import SimpleNamespace

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM
# calls there (live_server + Playwright fail with SynchronousOnlyOperation otherwise).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402

from demo.sandbox.server import SandboxServer, start_in_thread  # noqa: E402
from demo.sandbox.store import MARKETPLACE, THREE_PL, SandboxStore  # noqa: E402
from tests.helpers import CATALOG, Linked  # noqa: E402

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


@pytest.fixture(scope="session")
def sandbox_server():
    # Webhooks are delivered before the sandbox answers, so tests need not wait for them.
    server = start_in_thread(SandboxStore(), synchronous_webhooks=True)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer, settings) -> SandboxServer:
    """The sandbox, emptied, its faults cleared, and the portal pointed at it."""
    with sandbox_server.store.lock:
        sandbox_server.store.data = {"next_id": 1000, "shops": {}}
    sandbox_server.faults.update(delay=0.0, malformed=False, status=None, path=None, times=None)
    sandbox_server.calls.clear()
    sandbox_server.deliveries.clear()
    settings.SANDBOX_URL = sandbox_server.url
    settings.CHANNEL_CONNECTOR_TIMEOUT = 2
    return sandbox_server


@pytest.fixture
def eager_celery():
    """Tasks run in the caller (no broker in unit tests)."""
    from oms.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def linked(world, sandbox) -> Linked:
    """ACME-US with a sandbox marketplace (US-EAST ↔ WH1) and a sandbox 3PL (NJ1 ↔ WH1,
    NV1 ↔ WH2), the same two SKUs everywhere, and stock that agrees on all sides."""
    from catalog.models import AdjustmentReason, AdjustmentSource, Product
    from catalog.services import LedgerContext, adjust_inventory
    from channels import services

    store = sandbox.store
    mkt = store.create_shop("mkt", "Test Marketplace", MARKETPLACE, ["US-EAST"])
    tpl = store.create_shop("tpl", "Test 3PL", THREE_PL, ["NJ1", "NV1"])
    store.upsert_products(store.shop("mkt"), CATALOG)
    store.upsert_products(store.shop("tpl"), CATALOG)
    for shop, location in (("mkt", "US-EAST"), ("tpl", "NJ1")):
        store.add_stock(store.shop(shop), location, "SKU-1", 10)
        store.add_stock(store.shop(shop), location, "SKU-2", 5)

    account = world.acme_us
    wh1, wh2 = world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]
    marketplace = services.create_channel(
        None,
        account,
        kind="sales",
        name="Marketplace",
        platform="sandbox_marketplace",
        credentials={"api_key": mkt["api_key"]},
    )
    threepl = services.create_channel(
        None,
        account,
        kind="fulfillment",
        name="3PL",
        platform="sandbox_3pl",
        credentials={"api_key": tpl["api_key"]},
    )
    services.add_mapping(None, marketplace, "US-EAST", wh1.pk)
    services.add_mapping(None, threepl, "NJ1", wh1.pk)
    services.add_mapping(None, threepl, "NV1", wh2.pk)
    products = {}
    context = LedgerContext(AdjustmentReason.CYCLE_COUNT, AdjustmentSource.SYSTEM)
    for item, qty in zip(CATALOG, (10, 5), strict=True):
        products[item["sku"]] = Product.objects.create(account=account, sku=item["sku"], name=item["title"])
        adjust_inventory(products[item["sku"]], wh1, qty, context)
    return Linked(sandbox, world, marketplace, threepl, products)


@pytest.fixture
def api(client):
    """A test client authenticated with a fresh API key of the given account."""
    from accounts.services import regenerate_api_key

    def as_account(account):
        client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {regenerate_api_key(None, account)}"
        return client

    return as_account
