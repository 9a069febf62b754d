"""Sales order pages: the current account's orders only."""

import pytest

from automations.tests.test_jobs import run, workflows_on
from channels.platforms import JobType
from orders.models import SalesOrder

pytestmark = pytest.mark.django_db


def test_imported_order_is_listed_and_shown_with_its_shipment(client_for, linked):
    workflows_on(linked)  # Send Orders takes new orders only with the workflow on
    linked.place_order(quantity=2)
    for channel, job in (
        (linked.marketplace, JobType.IMPORT_ORDERS),
        (linked.threepl, JobType.SEND_ORDERS),
        (linked.threepl, JobType.RECEIVE_SHIPMENTS),
    ):
        run(channel, job)
    order = SalesOrder.objects.get()
    client = client_for(linked.world.account_user, linked.world.acme_us)
    assert order.number in client.get("/sales-orders/").content.decode()
    page = client.get(f"/sales-orders/{order.pk}/").content.decode()
    assert "Jane Doe" in page and order.shipments.get().tracking_number in page and "Shipped" in page


def test_another_accounts_order_is_404_and_not_listed(client_for, linked):
    linked.place_order()
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    order = SalesOrder.objects.get()
    client = client_for(linked.world.org_admin, linked.world.acme_eu)
    assert client.get(f"/sales-orders/{order.pk}/").status_code == 404
    assert order.number not in client.get("/sales-orders/").content.decode()
    assert (
        client_for(linked.world.globex_admin, linked.world.globex_jp)
        .get(f"/sales-orders/{order.pk}/")
        .status_code
        == 404
    )
