"""API validation rules through the REST API with a real key: every document × check ×
enforcement status (Warning stores and reports, Error refuses naming field and code)."""

import pytest

from accounts.models import ApiValidationRule, EnforcementStatus, ValidationCheck, ValidationDocument
from catalog.models import Product
from orders.models import PurchaseOrder, Receipt, SalesOrder, Shipment

pytestmark = pytest.mark.django_db

# Codes that break exactly one check each (UPS 03 is in the seeded carrier catalogue).
BREAKING = {
    ValidationCheck.MISSING_CARRIER_CODE: ("carrier_code", {"carrier_code": "", "service_code": "03"}),
    ValidationCheck.INVALID_CARRIER_CODE: ("carrier_code", {"carrier_code": "NOPE", "service_code": "03"}),
    ValidationCheck.MISSING_SERVICE_CODE: ("service_code", {"carrier_code": "UPS", "service_code": ""}),
    ValidationCheck.INVALID_SERVICE_CODE: ("service_code", {"carrier_code": "ups", "service_code": "ZZ"}),
}
DOCUMENTS = {
    ValidationDocument.SALES_ORDERS: ("sales-orders", SalesOrder),
    ValidationDocument.PURCHASE_ORDERS: ("purchase-orders", PurchaseOrder),
    ValidationDocument.SHIPMENTS: ("shipments", Shipment),
    ValidationDocument.RECEIPTS: ("receipts", Receipt),
}


@pytest.fixture
def payloads(world):
    """A valid body per document, on this account's product, order and purchase order."""
    account = world.acme_us
    warehouse = world.warehouses["ACME-US-1"]
    product = Product.objects.create(account=account, sku="A", name="A")
    order = SalesOrder.objects.create(
        account=account, source="api", number="SO-1", ordered_at="2026-01-01T00:00Z"
    )
    order.lines.create(line_number=1, product=product, sku="A", quantity=2)
    po = PurchaseOrder.objects.create(account=account, number="PO-1", warehouse=warehouse)
    po.lines.create(line_number=1, product=product, sku="A", quantity=5)
    lines = [{"sku": "A", "quantity": 1}]
    return {
        ValidationDocument.SALES_ORDERS: {"number": "SO-2", "lines": lines},
        ValidationDocument.PURCHASE_ORDERS: {"number": "PO-2", "warehouse": warehouse.pk, "lines": lines},
        ValidationDocument.SHIPMENTS: {"sales_order": order.pk, "tracking_number": "1Z", "lines": lines},
        ValidationDocument.RECEIPTS: {"purchase_order": po.pk, "lines": lines},
    }


@pytest.mark.parametrize("document", list(DOCUMENTS))
@pytest.mark.parametrize("check", list(BREAKING))
def test_rule_at_warning_accepts_and_keeps_the_warning(api, world, payloads, document, check):
    path, model = DOCUMENTS[document]
    field, codes = BREAKING[check]
    before = model.objects.count()
    response = api(world.acme_us).post(
        f"/api/v1/{path}/", {**payloads[document], **codes}, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(w["field"], w["code"]) for w in body["validation_warnings"]] == [(field, check)]
    assert model.objects.count() == before + 1
    assert model.objects.get(pk=body["id"]).validation_warnings == body["validation_warnings"]


@pytest.mark.parametrize("document", list(DOCUMENTS))
@pytest.mark.parametrize("check", list(BREAKING))
def test_rule_at_error_refuses_naming_field_and_code_and_stores_nothing(
    api, world, payloads, document, check
):
    path, model = DOCUMENTS[document]
    field, codes = BREAKING[check]
    ApiValidationRule.objects.create(
        account=world.acme_us, document=document, check_type=check, status=EnforcementStatus.ERROR
    )
    before = model.objects.count()
    response = api(world.acme_us).post(
        f"/api/v1/{path}/", {**payloads[document], **codes}, content_type="application/json"
    )
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"][field]] == [check]
    assert model.objects.count() == before


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_error_rule_of_another_document_only_warns(api, world, payloads, document):
    other = next(d for d in DOCUMENTS if d != document)
    ApiValidationRule.objects.create(
        account=world.acme_us,
        document=other,
        check_type=ValidationCheck.MISSING_CARRIER_CODE,
        status=EnforcementStatus.ERROR,
    )
    path, _ = DOCUMENTS[document]
    response = api(world.acme_us).post(
        f"/api/v1/{path}/", payloads[document], content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert {w["code"] for w in response.json()["validation_warnings"]} == {
        "missing_carrier_code",
        "missing_service_code",
    }


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_known_carrier_and_service_give_no_warning(api, world, payloads, document):
    path, _ = DOCUMENTS[document]
    response = api(world.acme_us).post(
        f"/api/v1/{path}/",
        {**payloads[document], "carrier_code": "UPS", "service_code": "03"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["validation_warnings"] == []


def test_api_shipment_counts_against_the_order_and_its_warnings_show_on_the_order_page(
    api, client_for, world, payloads
):
    response = api(world.acme_us).post(
        "/api/v1/shipments/",
        {
            **payloads[ValidationDocument.SHIPMENTS],
            "lines": [{"sku": "a", "quantity": 2}],
            "carrier_code": "NOPE",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    order = SalesOrder.objects.get(number="SO-1")
    assert (order.status, order.lines.get().quantity_shipped) == ("shipped", 2)
    page = client_for(world.account_user, world.acme_us).get(f"/sales-orders/{order.pk}/").content.decode()
    assert "Unknown carrier code &#x27;NOPE&#x27;." in page


def test_api_receipt_receives_the_purchase_order_into_stock(api, world, payloads):
    from catalog.models import InventoryLevel

    body = {**payloads[ValidationDocument.RECEIPTS], "lines": [{"sku": "A", "quantity": 5}]}
    assert (
        api(world.acme_us).post("/api/v1/receipts/", body, content_type="application/json").status_code == 201
    )
    assert PurchaseOrder.objects.get(number="PO-1").status == "received"
    assert InventoryLevel.objects.get(warehouse=world.warehouses["ACME-US-1"]).on_hand == 5


@pytest.mark.parametrize(("path", "field"), [("shipments", "sales_order"), ("receipts", "purchase_order")])
def test_documents_of_another_account_cannot_be_shipped_or_received(api, world, payloads, path, field):
    document = ValidationDocument.SHIPMENTS if path == "shipments" else ValidationDocument.RECEIPTS
    response = api(world.globex_jp).post(
        f"/api/v1/{path}/", payloads[document], content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Shipment.objects.exists() and not Receipt.objects.exists()
