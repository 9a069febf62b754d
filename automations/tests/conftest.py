from datetime import UTC, datetime

import pytest


@pytest.fixture
def beta_channel(world):
    from channels import services

    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Beta Shop",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": "k"},
    )


@pytest.fixture
def stable_channels(world):
    from channels import services

    return [
        services.create_channel(
            None,
            world.acme_us,
            kind="sales",
            name=f"Shop {n}",
            platform="sandbox_marketplace",
            credentials={"api_key": "k"},
        )
        for n in (1, 2)
    ]


@pytest.fixture
def t0():
    """A fixed 'now' (a Tuesday noon UTC; 08:00 in New York)."""
    return datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def beta_shop(world, sandbox):
    """A beta marketplace channel of ACME-US linked to its own sandbox shop with SKU-1."""
    from catalog.models import Product
    from channels import services
    from demo.sandbox.store import MARKETPLACE
    from tests.helpers import CATALOG

    store = sandbox.store
    shop = store.create_shop("beta", "Beta Shop", MARKETPLACE, ["US-EAST"])
    store.upsert_products(store.shop("beta"), CATALOG)
    channel = services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Beta Marketplace",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": shop["api_key"]},
    )
    services.add_mapping(None, channel, "US-EAST", world.warehouses["ACME-US-1"].pk)
    Product.objects.create(account=world.acme_us, sku="SKU-1", name="Widget")
    return channel


def place_order(sandbox, shop_code="beta") -> dict:
    store = sandbox.store
    return store.create_order(
        store.shop(shop_code),
        {
            "customer": {"name": "Jane Doe", "email": "jane@example.com"},
            "shipping_address": {
                "address1": "1 Main St",
                "city": "Newark",
                "postal_code": "07102",
                "country": "US",
            },
            "shipping": {"carrier": "UPS", "service": "03"},
            "lines": [{"sku": "SKU-1", "quantity": 1}],
        },
    ).result


def run_inline(messages):
    """Publish stand-in: execute each dispatched run in the caller."""
    from automations.tasks import execute_run

    for m in messages:
        execute_run(m.run_id, m.ids)
