"""Issue 16, first walk item 11 as a person sees it: Save at the bottom of the long
Account form, Copy beside a new API key and the Inbound URL (shown whole), aligned
sign-in fields, and a sandbox that says how the portal hears of an order and confirms it."""

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from channels import services
from conftest import PASSWORD
from demo.sandbox.store import MARKETPLACE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clipboard_page(browser, live_server):
    """A page allowed to write and read the clipboard, as a person's browser lets a site do."""
    context = browser.new_context(base_url=live_server.url, permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _sign_in(page, email):
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account/")


def test_the_account_form_saves_from_its_bottom(world, sign_in_at_account):
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    page.get_by_label("Name", exact=True).fill("Acme United States")
    save = page.locator("#settings-form").get_by_role("button", name="Save").last
    # The last control of the form, below Privacy: no scrolling back to the top.
    assert save.bounding_box()["y"] > page.get_by_label("PII retention days").bounding_box()["y"]
    save.click()
    expect(page.get_by_role("listitem").filter(has_text="Account saved.")).to_be_visible()
    assert Account.objects.get(pk=world.acme_us.pk).name == "Acme United States"


def test_a_new_api_key_is_copied_with_its_button(world, clipboard_page):
    page = clipboard_page
    _sign_in(page, "admin@acme-us.test")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Regenerate").click()
    key = page.get_by_test_id("new-api-key").locator("code")
    expect(key).to_be_visible()

    page.get_by_test_id("new-api-key").get_by_role("button", name="Copy").click()

    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key.inner_text()
    assert Account.objects.get(pk=world.acme_us.pk).api_key_prefix in key.inner_text()


def test_the_inbound_url_is_shown_whole_and_copied(world, clipboard_page):
    channel = services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace_beta"
    )
    page = clipboard_page
    _sign_in(page, "admin@acme-us.test")
    page.goto(f"/channels/{channel.pk}/")
    url = page.locator("#webhook-url")
    expect(url).to_have_text(f"{page.url.split('/channels/')[0]}/webhooks/{channel.webhook_token}/")
    # Nothing of it hidden: the box is as wide as its text needs, or it breaks onto lines.
    assert url.evaluate("(el) => el.scrollWidth <= el.clientWidth")

    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == url.inner_text()


def test_sign_in_fields_line_up(world, page):
    page.goto("/login/")
    email, password = page.get_by_label("Email"), page.get_by_label("Password")
    email_box, password_box = email.bounding_box(), password.bounding_box()
    assert (email_box["x"], email_box["width"]) == (password_box["x"], password_box["width"])
    button = page.get_by_role("button", name="Sign in").bounding_box()
    assert (button["x"], button["width"]) == (email_box["x"], email_box["width"])


def test_the_sandbox_says_how_the_portal_hears_of_orders_and_confirms_one(sandbox, page):
    store = sandbox.store
    store.create_shop("hooked", "Hooked Shop", MARKETPLACE, ["US-EAST"])
    store.create_shop("polled", "Polled Shop", MARKETPLACE, ["US-EAST"])
    for code in ("hooked", "polled"):
        store.upsert_products(store.shop(code), [{"sku": "MUG", "title": "Mug"}])
    store.set_webhook(store.shop("hooked"), "http://127.0.0.1:9/webhooks/x/", "secret")

    page.goto(sandbox.url)
    hooked, polled = page.locator("[data-shop=hooked]"), page.locator("[data-shop=polled]")
    expect(hooked).to_contain_text("A webhook is registered")
    expect(hooked).to_contain_text("A channel in Webhook mode imports it after its Webhook Delay")
    expect(polled).to_contain_text("No webhook is registered")
    expect(polled).not_to_contain_text("Webhook mode")

    polled.get_by_label("Quantity").fill("2")
    polled.get_by_role("button", name="Place order").click()

    done = page.locator("[data-shop=polled]").get_by_role("status")
    expect(done).to_contain_text("Order POLLED-")
    expect(done).to_contain_text("placed (2 × MUG)")
    expect(done).to_contain_text("next run")
    expect(page.locator("[data-shop=hooked]").get_by_role("status")).to_have_count(0)
