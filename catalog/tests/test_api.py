"""REST API of products, inventory and the adjustments ledger."""

from decimal import Decimal

import pytest

from catalog.models import InventoryAdjustment, InventoryLevel, Product

pytestmark = pytest.mark.django_db


def test_product_dimensions_are_given_and_shown_in_the_accounts_units(api, world):
    account = world.acme_us
    account.size_unit, account.volume_unit, account.weight_unit = "in", "in3", "lb"
    account.save()
    client = api(account)
    response = client.post(
        "/api/v1/products/",
        {"sku": "abc-1", "name": "Box", "length": "10", "width": "2", "height": "1", "weight": "2"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    product = Product.objects.get()
    assert (product.length_mm, product.weight_g) == (254, Decimal("907.2"))
    body = response.json()
    assert (body["length"], body["weight"], body["volume"], body["units"]["size"]) == (
        "10.00",
        "2.000",
        "20.00",
        "in",
    )


def test_sku_is_unique_per_account_whatever_the_case(api, world):
    Product.objects.create(account=world.acme_us, sku="ABC-1", name="Box")
    Product.objects.create(account=world.globex_jp, sku="ABC-2", name="Other tenant's")
    client = api(world.acme_us)
    response = client.post(
        "/api/v1/products/", {"sku": "abc-1", "name": "Again"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "sku" in str(response.json())
    assert (
        client.post(
            "/api/v1/products/", {"sku": "ABC-2", "name": "Mine"}, content_type="application/json"
        ).status_code
        == 201
    )


def test_sku_uniqueness_holds_in_the_database():
    from django.db import IntegrityError

    from conftest import build_world

    world = build_world()
    Product.objects.create(account=world.acme_us, sku="X", name="a")
    with pytest.raises(IntegrityError):
        Product.objects.create(account=world.acme_us, sku="x", name="b")


def test_another_tenants_products_and_stock_are_invisible(api, world):
    theirs = Product.objects.create(account=world.globex_jp, sku="G-1", name="Theirs")
    InventoryLevel.objects.create(product=theirs, warehouse=world.warehouses["GLOBEX-1"], on_hand=5)
    client = api(world.acme_us)
    assert client.get(f"/api/v1/products/{theirs.pk}/").status_code == 404
    assert (
        client.patch(
            f"/api/v1/products/{theirs.pk}/", {"name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/inventory/").json()["results"] == []
    assert client.get("/api/v1/inventory/adjustments/").json()["results"] == []


def test_adjustment_changes_the_level_and_writes_the_ledger(api, world):
    product = Product.objects.create(account=world.acme_us, sku="A", name="A")
    warehouse = world.warehouses["ACME-US-2"]
    client = api(world.acme_us)
    response = client.post(
        "/api/v1/inventory/adjustments/",
        {
            "product": product.pk,
            "warehouse": warehouse.pk,
            "quantity": 7,
            "reason": "cycle_count",
            "note": "count",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    entry = InventoryAdjustment.objects.get()
    assert (entry.quantity, entry.on_hand_after, entry.reason, entry.source) == (7, 7, "cycle_count", "api")
    levels = client.get("/api/v1/inventory/?sku=a").json()["results"]
    assert [(lv["warehouse_code"], lv["on_hand"], lv["available"]) for lv in levels] == [("WH2", 7, 7)]


def test_adjustment_refuses_another_tenants_warehouse(api, world):
    product = Product.objects.create(account=world.acme_us, sku="A", name="A")
    response = api(world.acme_us).post(
        "/api/v1/inventory/adjustments/",
        {"product": product.pk, "warehouse": world.warehouses["GLOBEX-1"].pk, "quantity": 1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not InventoryAdjustment.objects.exists()


def test_account_user_session_cannot_adjust(client_for, world):
    product = Product.objects.create(account=world.acme_us, sku="A", name="A")
    response = client_for(world.account_user, world.acme_us).post(
        "/api/v1/inventory/adjustments/",
        {"product": product.pk, "warehouse": world.warehouses["ACME-US-1"].pk, "quantity": 1},
        content_type="application/json",
    )
    assert response.status_code == 403
