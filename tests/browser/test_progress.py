"""Watching long work in a real browser: processing the selected sales orders while the
3PL answers slowly shows how many are done of how many, updating without a reload, then
the outcome."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from orders import views as order_views
from orders.services import create_sales_order
from orders.tests.test_workflow import order_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Long enough for a few polls (one a second) while the 3PL takes the orders.
SLOW_3PL_SECONDS = 3.0


@pytest.fixture
def worker(monkeypatch):
    """Tasks the orders page sends run in a thread of their own, as on a worker: the page
    is back before they end (an eager task would end inside the request)."""
    threads = []

    def run(task, *args):
        def work():
            try:
                task(*args)
            finally:
                connection.close()

        threads.append(threading.Thread(target=work))
        threads[-1].start()

    monkeypatch.setattr(order_views, "send_on_commit", run)
    yield
    for thread in threads:
        thread.join(timeout=30)


def test_processing_selected_orders_shows_its_progress_and_outcome(
    linked, worker, sign_in_at_account, settings
):
    settings.CHANNEL_CONNECTOR_TIMEOUT = 10
    account = linked.world.acme_us
    for number, quantity in (("W-1", 2), ("W-2", 2), ("W-3", 99)):  # W-3: not enough stock
        create_sales_order(account, order_data(number, quantity=quantity), source="manual")
    page = sign_in_at_account(linked.world.account_admin.email, account)
    page.goto("/sales-orders/")
    for number in ("W-1", "W-2", "W-3"):
        page.get_by_label(f"Select {number}").check()

    linked.sandbox.faults.update(delay=SLOW_3PL_SECONDS, path="/api/fulfillment-orders", times=1)
    page.get_by_test_id("process-selected").click()
    box = page.get_by_test_id("progress")
    text = box.locator("[data-progress-text]")
    # W-3 is held at once; W-1 and W-2 wait for the 3PL: 1 of 3 while it answers.
    expect(text).to_have_text("1 of 3 · Sending 2 to 3PL")
    expect(box.locator("progress")).to_have_attribute("max", "3")
    expect(box.locator("[data-progress-status]")).to_have_text("Running")
    # Then the outcome, without a reload.
    expect(text).to_have_text("3 of 3 · 2 sent, 1 on hold", timeout=15_000)
    expect(box.locator("[data-progress-status]")).to_have_text("Partial")
