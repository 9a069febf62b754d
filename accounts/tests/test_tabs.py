"""The Account page's tabs come from one registry: accounts' own and the ones other apps
register (automations: Recurring Jobs), in order, each shown to whom it is for."""

import re

import pytest

from accounts import tabs

pytestmark = pytest.mark.django_db


def tab_labels(response) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', response.content.decode(), re.S).group(1)
    return re.findall(r">([^<]+)</a>", nav)


def test_tab_bar_lists_every_tab_in_order_for_an_organization_administrator(world, client_for):
    response = client_for(world.org_admin, account=world.acme_us).get("/account/main/")
    assert tab_labels(response) == [
        "Main",
        "API Validation Rules",
        "Recurring Jobs",
        "Warehouses",
        "Users",
        "Audit Log",
    ]


def test_tab_bar_hides_the_tabs_an_account_administrator_may_not_open(world, client_for):
    response = client_for(world.account_admin, account=world.acme_us).get("/account/main/")
    assert tab_labels(response) == ["Main", "API Validation Rules", "Recurring Jobs", "Users"]


def test_recurring_jobs_tab_is_the_one_automations_registered(world, client_for):
    registered = tabs.get("recurring-jobs")
    assert registered.handler == "automations.views.recurring_jobs_tab"
    response = client_for(world.org_admin, account=world.acme_us).get("/account/recurring-jobs/")
    assert response.status_code == 200
    assert "accounts/account_recurring_jobs.html" in [t.name for t in response.templates]
    assert "rows" in response.context


def test_a_tab_registered_by_another_app_is_served_in_its_place(world, client_for, monkeypatch):
    monkeypatch.setattr(tabs, "_tabs", dict(tabs._tabs))
    tabs.register(
        "extra",
        "Extra",
        lambda request, access, here: {"template": "accounts/account_audit_log.html", "entries": []},
        order=15,
    )
    client = client_for(world.org_admin, account=world.acme_us)
    assert client.get("/account/extra/").status_code == 200
    assert tab_labels(client.get("/account/main/"))[:3] == ["Main", "Extra", "API Validation Rules"]
