"""REST API of sales orders, purchase orders, shipments and receipts."""

import pytest

from accounts.models import ApiValidationRule
from catalog.models import Product
from orders.models import PurchaseOrder, SalesOrder

pytestmark = pytest.mark.django_db

ORDER = {
    "number": "API-1",
    "customer_name": "Ann",
    "customer_email": "ann@example.com",
    "lines": [{"sku": "A", "quantity": 2, "unit_price": "5.00"}],
}


def test_sales_order_with_warnings_is_accepted_and_keeps_them(api, world):
    Product.objects.create(account=world.acme_us, sku="A", name="A")
    response = api(world.acme_us).post(
        "/api/v1/sales-orders/",
        {**ORDER, "carrier_code": "UPS", "service_code": "ZZ"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [w["code"] for w in body["validation_warnings"]] == ["invalid_service_code"]
    order = SalesOrder.objects.get()
    assert (order.source, order.status, order.total) == ("api", "pending", 10)
    assert order.validation_warnings == body["validation_warnings"]


def test_sales_order_breaking_an_error_rule_is_refused_naming_the_field(api, world):
    ApiValidationRule.objects.create(
        account=world.acme_us, document="sales_orders", check_type="missing_carrier_code", status="error"
    )
    response = api(world.acme_us).post("/api/v1/sales-orders/", ORDER, content_type="application/json")
    assert response.status_code == 400
    assert "carrier_code" in str(response.json())
    assert not SalesOrder.objects.exists()


def test_purchase_order_needs_known_skus_and_an_own_warehouse(api, world):
    Product.objects.create(account=world.acme_us, sku="A", name="A")
    client = api(world.acme_us)
    po = {
        "number": "PO-1",
        "warehouse": world.warehouses["ACME-US-1"].pk,
        "lines": [{"sku": "a", "quantity": 3}],
    }
    foreign = client.post(
        "/api/v1/purchase-orders/",
        {**po, "warehouse": world.warehouses["GLOBEX-1"].pk},
        content_type="application/json",
    )
    assert foreign.status_code == 400
    unknown = client.post(
        "/api/v1/purchase-orders/",
        {**po, "lines": [{"sku": "NOPE", "quantity": 1}]},
        content_type="application/json",
    )
    assert unknown.status_code == 400
    created = client.post("/api/v1/purchase-orders/", po, content_type="application/json")
    assert created.status_code == 201, created.json()
    assert PurchaseOrder.objects.get().lines.get().sku == "A"


@pytest.mark.parametrize("path", ["sales-orders", "purchase-orders", "shipments", "receipts"])
def test_another_tenants_documents_are_404(api, linked, path):
    from automations.tests.test_jobs import run, workflows_on
    from channels.platforms import JobType

    workflows_on(linked)  # the send jobs take new documents only with the workflows on
    linked.place_order()
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    run(linked.threepl, JobType.SEND_ORDERS)
    run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number="P", warehouse=linked.world.warehouses["ACME-US-1"]
    )
    po.lines.create(line_number=1, product=linked.products["SKU-1"], sku="SKU-1", quantity=1)
    run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    own = api(linked.world.acme_us).get(f"/api/v1/{path}/").json()["results"]
    assert len(own) == 1
    other = api(linked.world.globex_jp)
    assert other.get(f"/api/v1/{path}/").json()["results"] == []
    assert other.get(f"/api/v1/{path}/{own[0]['id']}/").status_code == 404
