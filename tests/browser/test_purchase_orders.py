"""Purchase Orders in a real browser: from the menu to the list, filtered, to one purchase
order, processed by a person and sent to the sandbox 3PL, with its history."""

import pytest
from playwright.sync_api import expect

from orders.models import PurchaseOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_opens_a_purchase_order_from_the_list_and_processes_it(
    linked, eager_celery, sign_in_at_account
):
    account, wh2 = linked.world.acme_us, linked.world.warehouses["ACME-US-2"]
    for number, status in (("PO-OPEN", "open"), ("PO-DONE", "received")):
        po = PurchaseOrder.objects.create(
            account=account, number=number, supplier="Acme Supply", warehouse=wh2, status=status
        )
        po.lines.create(line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=7)

    page = sign_in_at_account("admin@acme-us.test", account)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Purchase Orders").click()
    rows = page.get_by_test_id("purchase-orders").locator("tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option(label="Open")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="PO-OPEN").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("PO-OPEN")
    expect(page.get_by_test_id("po-status")).to_have_text("Open")
    expect(page.get_by_test_id("po-lines")).to_contain_text("SKU-2")
    expect(page.get_by_test_id("po-history")).to_contain_text("Nothing has happened")
    page.get_by_test_id("process-po").click()

    expect(page.get_by_text("1 purchase order(s) queued for processing")).to_be_visible()
    expect(page.get_by_test_id("po-status")).to_have_text("Sent to Fulfillment")
    history = page.get_by_test_id("po-history").locator("tbody tr")
    expect(history).to_have_count(1)
    expect(history).to_contain_text(["admin@acme-us.test"])
    expect(history).to_contain_text(["Sent to 3PL as"])
    expect(page.get_by_test_id("process-po")).to_have_count(0)
    reference = PurchaseOrder.objects.get(number="PO-OPEN").reference
    assert reference in {p["reference"] for p in linked.shop("tpl")["purchase_orders"].values()}
