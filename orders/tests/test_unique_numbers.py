"""Order numbers are unique where the business says so, even when requests race: a
client retrying after a timeout sends the same order again."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from accounts.services import regenerate_api_key
from catalog.models import Product
from orders.models import PurchaseOrder, SalesOrder
from orders.services import create_sales_order
from orders.tests.test_workflow import ADDRESS

WRITERS = 8


def _race(path: str, body: dict, key: str) -> list[tuple[int, dict]]:
    start = threading.Barrier(WRITERS)

    def post(_):
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
        start.wait()
        try:
            response = client.post(path, body, content_type="application/json")
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(post, range(WRITERS)))


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (CI has it)"
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", range(3))
def test_concurrent_posts_of_one_order_number_store_it_once(world, rounds):
    key = regenerate_api_key(None, world.acme_us)
    body = {"number": f"RETRY-{rounds}", **ADDRESS, "lines": [{"sku": "ANY", "quantity": 1}]}
    answers = _race("/api/v1/sales-orders/", body, key)
    assert sorted(status for status, _ in answers) == [201] + [400] * (WRITERS - 1)
    for status, answer in answers:
        if status == 400:
            assert answer["errors"]["number"][0]["code"] == "unique", answer
    assert SalesOrder.objects.filter(account=world.acme_us, number=f"RETRY-{rounds}").count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (CI has it)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_purchase_order_number_store_it_once(world):
    Product.objects.create(account=world.acme_us, sku="SKU-1", name="Widget")
    key = regenerate_api_key(None, world.acme_us)
    warehouse = world.warehouses["ACME-US-1"]
    body = {"number": "PO-RACE", "warehouse": warehouse.pk, "lines": [{"sku": "SKU-1", "quantity": 5}]}
    answers = _race("/api/v1/purchase-orders/", body, key)
    assert sorted(status for status, _ in answers) == [201] + [400] * (WRITERS - 1)
    assert PurchaseOrder.objects.filter(account=world.acme_us, number="PO-RACE").count() == 1


@pytest.mark.django_db
def test_the_same_number_again_is_refused_but_another_account_may_use_it(world):
    create_sales_order(world.acme_us, {"number": "A-1", **ADDRESS, "lines": [{"sku": "X", "quantity": 1}]})
    with pytest.raises(ValidationError) as refused:
        create_sales_order(
            world.acme_us, {"number": "A-1", **ADDRESS, "lines": [{"sku": "X", "quantity": 1}]}
        )
    assert refused.value.error_dict["number"][0].code == "unique"
    create_sales_order(world.acme_eu, {"number": "A-1", **ADDRESS, "lines": [{"sku": "X", "quantity": 1}]})
    assert SalesOrder.objects.filter(number="A-1").count() == 2
