"""The REST API as a whole: ACME-US of the fixture world with a record of every kind the
API reads or changes, so that requests reach real rows and not only 404s."""

from decimal import Decimal
from types import SimpleNamespace

import pytest


@pytest.fixture
def records(world):
    from automations.services import request_sync
    from catalog import services as catalog
    from channels import services as channels
    from orders import services as orders

    account = world.acme_us
    wh1, wh2 = world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]
    shop, beta, threepl = (
        channels.create_channel(
            None, account, kind=kind, name=name, platform=platform, credentials={"api_key": "k"}
        )
        for kind, name, platform in (
            ("sales", "Shop", "sandbox_marketplace"),
            ("sales", "Beta Shop", "sandbox_marketplace_beta"),
            ("fulfillment", "3PL", "sandbox_3pl"),
        )
    )
    mapping = channels.add_mapping(None, threepl, "NJ1", wh1.pk)
    product = catalog.save_product(
        account, {"sku": "SKU-1", "name": "Widget", "price": Decimal("9.99"), "length": Decimal("10")}
    )
    catalog.manual_adjustment(None, account, product=product, warehouse=wh1, quantity=10)
    order = orders.create_sales_order(
        account, {"number": "SO-1", "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price": Decimal("9.99")}]}
    )
    purchase_order = orders.create_purchase_order(
        account, {"number": "PO-1", "warehouse": wh1, "lines": [{"sku": "SKU-1", "quantity": 5}]}
    )
    shipment = orders.create_shipment(
        account, {"sales_order": order, "warehouse": wh1, "lines": [{"sku": "SKU-1", "quantity": 1}]}
    )
    receipt = orders.create_receipt(
        account, {"purchase_order": purchase_order, "lines": [{"sku": "SKU-1", "quantity": 1}]}
    )
    run = request_sync(None, shop, "import_orders")
    return SimpleNamespace(
        world=world,
        account=account,
        shop=shop,
        beta=beta,
        threepl=threepl,
        product=product,
        order=order,
        purchase_order=purchase_order,
        # Ids of this account's rows by the path segment that names them in the API.
        ids={
            "channels": [shop.pk, beta.pk, threepl.pk],
            "mappings": [mapping.pk],
            "products": [product.pk],
            "sales-orders": [order.pk],
            "purchase-orders": [purchase_order.pk],
            "shipments": [shipment.pk],
            "receipts": [receipt.pk],
            "job-runs": [run.pk],
            "warehouses": [wh1.pk, wh2.pk],
        },
    )
