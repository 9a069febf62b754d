"""Browser-test fixtures on top of the root conftest's session Chromium and `page`."""

import pytest

from conftest import PASSWORD


@pytest.fixture
def new_signed_in_page(browser, live_server):
    """A page in its own browser context (own cookies), signed in as `email`.

    For tests that need a second person at the same time as `page`.
    """
    contexts = []

    def open_page(email):
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", email)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in_at_account(sign_in_page):
    """Sign in and pick the account in the header switcher, as a person does."""

    def sign_in(email, account):
        page = sign_in_page(email)
        page.get_by_label("Switch account").select_option(label=f"{account.code} · {account.name}")
        page.get_by_role("button", name="Switch", exact=True).click()
        page.wait_for_url("**/account/")
        return page

    return sign_in
