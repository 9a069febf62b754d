"""Test fixtures shared by the channels, catalog and orders tests: a real sandbox HTTP
server on a free loopback port, and an account linked to a sandbox marketplace and 3PL.

Import the fixtures into an app's tests/conftest.py (`from channels.testing import *`).
"""

from dataclasses import dataclass

import pytest

from channels.sandbox.server import SandboxServer, start_in_thread
from channels.sandbox.store import MARKETPLACE, THREE_PL, SandboxStore

__all__ = ["sandbox_server", "sandbox", "eager_celery", "linked", "Linked", "api"]

CATALOG = [
    {"sku": "SKU-1", "title": "Widget", "price": "9.99", "weight_g": "250", "length_mm": "100"},
    {"sku": "SKU-2", "title": "Gadget", "price": "19.50", "weight_g": "1200"},
]


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


@dataclass
class Linked:
    sandbox: SandboxServer
    world: object
    marketplace: object
    threepl: object
    products: dict

    @property
    def store(self) -> SandboxStore:
        return self.sandbox.store

    def shop(self, code: str) -> dict:
        return self.store.shop(code)

    def stock(self, code: str, location: str, sku: str) -> int:
        return self.store.shop(code)["inventory"][location].get(sku, 0)

    def place_order(self, sku="SKU-1", quantity=2, carrier="UPS", service="03") -> dict:
        return self.store.create_order(
            self.shop("mkt"),
            {
                "customer": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1 555 0100"},
                "shipping_address": {
                    "address1": "1 Main St",
                    "city": "Newark",
                    "postal_code": "07102",
                    "country": "US",
                },
                "shipping": {"carrier": carrier, "service": service},
                "lines": [{"sku": sku, "quantity": quantity}],
            },
        ).result


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
