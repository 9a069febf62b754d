"""Purchase Orders pages: the current account's purchase orders only, with filters, the
detail (lines, receipts, history, warnings) and the Process button of the purchase order
workflow."""

import re

import pytest

from automations.models import JobRun, Trigger
from automations.tests.test_jobs import run
from channels.platforms import JobType
from orders.models import PurchaseOrder
from orders.tests.test_workflow import tpl_pos

pytestmark = pytest.mark.django_db


def make_po(linked, number, warehouse="ACME-US-2", status="open", **extra) -> PurchaseOrder:
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us,
        number=number,
        warehouse=linked.world.warehouses[warehouse],
        status=status,
        **extra,
    )
    po.lines.create(line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=7)
    return po


def listed(client, query="") -> list[str]:
    """PO numbers in the list's rows, in order."""
    html = client.get(f"/purchase-orders/{query}").content.decode()
    return re.findall(r'<tr data-po="([^"]+)"', html)


def test_the_list_filters_by_status_warehouse_and_number(linked, client_for):
    make_po(linked, "PO-100", supplier="Acme Supply")
    make_po(linked, "PO-200", warehouse="ACME-US-1", status="received")
    make_po(linked, "XY-300")
    client = client_for(linked.world.account_user, linked.world.acme_us)
    assert sorted(listed(client)) == ["PO-100", "PO-200", "XY-300"]
    assert listed(client, "?status=received") == ["PO-200"]
    wh1 = linked.world.warehouses["ACME-US-1"].pk
    assert listed(client, f"?warehouse={wh1}") == ["PO-200"]
    assert sorted(listed(client, "?q=po-")) == ["PO-100", "PO-200"]
    assert listed(client, f"?status=open&warehouse={wh1}") == []
    # Unknown values, and another tenant's warehouse, are no filter at all.
    globex_wh = linked.world.warehouses["GLOBEX-1"].pk
    assert len(listed(client, f"?status=bogus&warehouse={globex_wh}")) == 3
    empty = client.get("/purchase-orders/?q=none").content.decode()
    assert "No purchase orders match these filters." in empty


def test_the_menu_links_the_purchase_orders_page(linked, client_for):
    client = client_for(linked.world.account_user, linked.world.acme_us)
    assert 'href="/purchase-orders/">Purchase Orders</a>' in client.get("/sales-orders/").content.decode()


def test_without_an_account_the_list_asks_to_select_one(linked, client_for):
    page = client_for(linked.world.org_admin).get("/purchase-orders/")
    assert page.status_code == 200 and 'data-testid="purchase-orders"' not in page.content.decode()
    assert client_for(linked.world.org_admin).get("/purchase-orders/1/").status_code == 404


def test_detail_shows_lines_receipts_history_and_warnings(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    po = make_po(
        linked,
        "PO-1",
        supplier="Acme Supply",
        validation_warnings=[
            {"field": "carrier_code", "code": "missing_carrier_code", "message": "No carrier"}
        ],
    )
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    page = client.get(f"/purchase-orders/{po.pk}/").content.decode()
    assert "Acme Supply" in page and "Warning: No carrier" in page and "Nothing received yet." in page
    assert 'data-testid="process-po"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/purchase-orders/process/", {"purchase_order": [po.pk], "next": "detail"})
    assert response.status_code == 302 and response.url == f"/purchase-orders/{po.pk}/"
    po.refresh_from_db()
    assert po.status == "sent" and po.reference in tpl_pos(linked)
    sends = JobRun.objects.get(job_type=JobType.SEND_PURCHASE_ORDERS)
    assert (sends.trigger, sends.requested_by) == (Trigger.MANUAL, linked.world.account_admin)
    # The sandbox 3PL receives what it was told at once: a receipt comes back.
    run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    page = client.get(f"/purchase-orders/{po.pk}/").content.decode()
    assert "Received" in page and "SKU-2 × 7" in page and "Nothing received yet." not in page
    assert f"Sent to 3PL as {po.fulfillment_external_id}" in page and linked.world.account_admin.email in page
    assert 'data-testid="process-po"' not in page


def test_selected_purchase_orders_are_sent_in_one_run(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    pos = [make_po(linked, f"PO-{n}") for n in (1, 2)]
    make_po(linked, "PO-DONE", status="received")
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    listing = client.get("/purchase-orders/").content.decode()
    assert 'data-testid="process-selected"' in listing
    assert all(f'value="{po.pk}"' in listing for po in pos) and 'aria-label="Select PO-DONE"' not in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/purchase-orders/process/", {"purchase_order": [po.pk for po in pos]})
    # Back to the list, which watches this work's progress (automations.progress).
    assert response.url.startswith("/purchase-orders/?progress=")
    assert JobRun.objects.get(job_type=JobType.SEND_PURCHASE_ORDERS).counts["sent"] == 2
    assert {po.reference for po in pos} == set(tpl_pos(linked))


def test_unreadable_or_missing_ids_are_404(linked, client_for):
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    assert client.post("/purchase-orders/process/", {"purchase_order": ["x"]}).status_code == 404
    assert client.post("/purchase-orders/process/", {}).status_code == 404
    assert client.get("/purchase-orders/process/").status_code == 405


def test_account_users_read_but_cannot_process(linked, client_for):
    po = make_po(linked, "PO-1")
    reader = client_for(linked.world.account_user, linked.world.acme_us)
    assert 'data-testid="process-selected"' not in reader.get("/purchase-orders/").content.decode()
    page = reader.get(f"/purchase-orders/{po.pk}/").content.decode()
    assert "PO-1" in page and 'data-testid="process-po"' not in page and 'data-testid="cancel-po"' not in page
    assert reader.post("/purchase-orders/process/", {"purchase_order": [po.pk]}).status_code == 403
    assert reader.post(f"/purchase-orders/{po.pk}/cancel/").status_code == 403
    po.refresh_from_db()
    assert po.status == "open" and not po.events.exists()


def test_another_tenants_purchase_orders_are_404_and_not_listed(linked, client_for):
    po = make_po(linked, "PO-SECRET")
    for person, account in (
        (linked.world.org_admin, linked.world.acme_eu),
        (linked.world.globex_admin, linked.world.globex_jp),
    ):
        client = client_for(person, account)
        assert client.get(f"/purchase-orders/{po.pk}/").status_code == 404
        assert "PO-SECRET" not in client.get("/purchase-orders/").content.decode()
        assert client.post("/purchase-orders/process/", {"purchase_order": [po.pk]}).status_code == 404
        assert client.post(f"/purchase-orders/{po.pk}/cancel/").status_code == 404
    po.refresh_from_db()
    assert po.status == "open" and not po.events.exists()
