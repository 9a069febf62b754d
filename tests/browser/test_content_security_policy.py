"""The main pages under the Content-Security-Policy in a real Chromium: nothing they load
or run is refused, and what moved out of inline handlers (the account switcher, the
status filter, the Regenerate question) still works."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from channels import services as channel_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before each document's own scripts, outside the page's policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording every policy violation: the event in each document, and
    Chromium's console report (which outlives a navigation)."""
    page.context.add_init_script(RECORD_VIOLATIONS)
    reported = []
    page.on(
        "console",
        lambda message: reported.append(message.text) if "Content Security Policy" in message.text else None,
    )

    def violations() -> list[str]:
        return reported + page.evaluate("window.__cspViolations")

    page.csp_violations = violations
    return page


@pytest.fixture
def shop(world):
    return channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace", credentials={}
    )


def signed_in_at_account(page, email, account):
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "test-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.get_by_label("Switch account").select_option(label=f"{account.code} · {account.name}")
    page.get_by_role("button", name="Switch", exact=True).click()
    page.wait_for_url("**/account/")


def test_main_pages_load_without_a_policy_violation(world, shop, watched):
    watched.goto("/login/")
    expect(watched.get_by_role("heading", name="Sign in")).to_be_visible()
    assert watched.csp_violations() == []

    signed_in_at_account(watched, "admin@acme-us.test", world.acme_us)
    expect(watched.get_by_test_id("current-account")).to_contain_text("ACME-US")
    assert watched.csp_violations() == []

    watched.goto(f"/channels/{shop.pk}/")
    expect(watched.get_by_role("heading", name="Webhook")).to_be_visible()
    watched.goto("/sales-orders/")
    watched.get_by_label("Status").select_option(index=1)
    # Choosing a status changes nothing until the person asks (WCAG 3.2.2 On Input).
    assert "status=" not in watched.url
    watched.get_by_role("button", name="Filter").click()
    watched.wait_for_url(re.compile(r"status=\w+"))
    assert watched.csp_violations() == []

    watched.goto("/api/v1/docs/")
    # Swagger UI drew the schema's operations: its bundle and the nonce'd script ran.
    expect(watched.locator(".opblock").first).to_be_visible()
    assert watched.csp_violations() == []


def test_regenerate_asks_first_and_shows_the_new_key(world, watched):
    signed_in_at_account(watched, "admin@acme-us.test", world.acme_us)
    before = Account.objects.get(pk=world.acme_us.pk).api_key_hash

    watched.once("dialog", lambda dialog: dialog.dismiss())
    watched.get_by_role("button", name="Regenerate").click()
    expect(watched.get_by_test_id("api-key-prefix")).to_be_visible()
    assert Account.objects.get(pk=world.acme_us.pk).api_key_hash == before

    watched.once("dialog", lambda dialog: dialog.accept())
    watched.get_by_role("button", name="Regenerate").click()
    expect(watched.get_by_test_id("new-api-key")).to_be_visible()
    assert Account.objects.get(pk=world.acme_us.pk).api_key_hash != before
    assert watched.csp_violations() == []


def test_an_inline_script_is_refused_and_reported(world, watched):
    """The watch above can see a violation: an injected inline script does not run."""
    watched.goto("/login/")
    with pytest.raises(Exception, match="Content Security Policy|Refused"):
        watched.add_script_tag(content="window.__injected = true;")
    assert watched.evaluate("window.__injected === undefined")
    assert any("script-src" in v for v in watched.csp_violations())
