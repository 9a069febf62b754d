"""Issue 16, first walk items 2 and 3 as a person sees them: a person with one account
lands at it with its menu; an organization role at an account still reaches
Organizations from the menu."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role, RoleAssignment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _menu(page):
    return page.get_by_role("navigation", name="Main menu")


@pytest.mark.parametrize("email", ["admin@acme-us.test", "user@acme-us.test"])
def test_a_person_with_one_account_lands_at_it_with_its_menu(world, sign_in_page, email):
    page = sign_in_page(email)

    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_test_id("current-account")).to_contain_text("ACME-US")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Account: Acme US")
    expect(page.get_by_role("heading", name="Select an account")).to_have_count(0)
    for entry in ("Sales Orders", "Purchase Orders", "Products", "Inventory", "Job Runs", "Account"):
        expect(_menu(page).get_by_role("link", name=entry, exact=True)).to_be_visible()
    # Organizations are not theirs.
    expect(_menu(page).get_by_text("System Configuration")).to_have_count(0)


def test_organization_administrator_at_an_account_reaches_organizations_from_the_menu(
    world, sign_in_at_account
):
    page = sign_in_at_account("orgadmin@acme.test", world.acme_us)
    menu = _menu(page)
    expect(menu.get_by_role("link", name="Account", exact=True)).to_be_visible()
    expect(menu.get_by_text("System Configuration")).to_be_visible()
    expect(menu).to_contain_text("leaves ACME-US")

    menu.get_by_role("button", name="Organizations").click()

    expect(page).to_have_url(re.compile(r"/organizations/$"))
    expect(page.get_by_test_id("current-account")).to_contain_text("No account selected")
    expect(page.get_by_role("row", name="Acme Corp")).to_be_visible()
    expect(page.get_by_role("row", name="Globex")).to_have_count(0)


def test_a_person_with_several_accounts_and_no_organization_role_chooses_from_the_menu(world, sign_in_page):
    RoleAssignment.objects.create(
        user=world.account_admin, role=Role.ACCOUNT_ADMINISTRATOR, account=world.acme_eu
    )
    page = sign_in_page("admin@acme-us.test")

    expect(page.get_by_role("heading", name="Select an account")).to_be_visible()
    expect(_menu(page).get_by_role("link", name="Select an account")).to_be_visible()
    page.get_by_role("button", name="Work at ACME-EU").click()
    expect(page.get_by_test_id("current-account")).to_contain_text("ACME-EU")
