"""Watching long work in a real browser: processing the selected sales orders while the
3PL answers slowly shows how many are done of how many, updating without a reload, then
the outcome; a Master Product Source change shows its steps while the master channel's
catalogue is read."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from orders import views as order_views
from orders.services import create_sales_order
from orders.tests.test_workflow import order_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Long enough for a few polls (one a second) while a platform answers, on a busy machine.
SLOW_PLATFORM_SECONDS = 6.0


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

    linked.sandbox.faults.update(delay=SLOW_PLATFORM_SECONDS, path="/api/fulfillment-orders", times=1)
    page.get_by_test_id("process-selected").click()
    box = page.get_by_test_id("progress")
    text = box.locator("[data-progress-text]")
    # W-3 is held at once; W-1 and W-2 wait for the 3PL: 1 of 3 while it answers.
    expect(text).to_have_text("1 of 3 · Sending 2 to 3PL", timeout=SLOW_PLATFORM_SECONDS * 1000)
    expect(box.locator("progress")).to_have_attribute("max", "3")
    expect(box.locator("[data-progress-status]")).to_have_text("Running")
    # Then the outcome, without a reload.
    expect(text).to_have_text("3 of 3 · 2 sent, 1 on hold", timeout=15_000)
    expect(box.locator("[data-progress-status]")).to_have_text("Partial")
    box.get_by_role("link", name="Show the updated orders").click()
    expect(page.locator("tr", has_text="W-1")).to_contain_text("Sent to Fulfillment")
    expect(page.locator("tr", has_text="W-3")).to_contain_text("On Hold")


# The page records what its progress box shows: Playwright's own reads wait while the
# browser waits for the posted form's answer, which is when this box is meant to be read.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const text = document.querySelector("[data-progress-text]");
  if (!text) return;
  new MutationObserver(() => window.progressShown(text.textContent)).observe(text, {
    childList: true, characterData: true, subtree: true,
  });
});
"""


def test_a_master_source_change_shows_its_steps_while_the_catalogue_is_read(
    linked, sign_in_at_account, settings
):
    settings.CHANNEL_CONNECTOR_TIMEOUT = 10
    page = sign_in_at_account(linked.world.account_admin.email, linked.world.acme_us)
    shown = []
    page.expose_binding("progressShown", lambda source, text: shown.append(text))
    page.add_init_script(RECORD_PROGRESS)
    page.goto("/account/main/")
    page.get_by_label("Master Product Source", exact=True).select_option(label="Sales Channel")
    page.get_by_label("Master Product Channel").select_option(label="Marketplace (Sandbox Marketplace)")
    expect(page.get_by_test_id("progress")).to_be_hidden()  # nothing runs until the person saves

    linked.sandbox.faults.update(delay=SLOW_PLATFORM_SECONDS, path="/api/products", times=1)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_test_id("master-source-preflight")).to_be_visible()
    assert "1 of 2 · Reading the master channel's catalogue" in shown

    shown.clear()
    page.get_by_role("button", name="Confirm and save").click()
    expect(page.get_by_text("Account saved.")).to_be_visible()
