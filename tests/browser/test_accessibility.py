"""Every page, for every role, has no serious or critical accessibility violation under
axe-core (tests/browser/axe, installed by `make test` with npm), in its default state;
the main forms showing their errors have none either and tie each error to its field;
and the header account switcher is usable from the keyboard.

The pages are listed from the URLconf: a new named route fails the completeness test
until it is either visited here or named as no page (an API, a POST action, a fragment).
"""

from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import expect

from accounts import tabs
from automations import progress
from automations.models import JobRun, ProgressKind, ProgressStatus, Trigger
from catalog.models import Product
from channels import services as channel_services
from channels.platforms import JobType
from conftest import PASSWORD
from orders.services import create_purchase_order, create_sales_order
from orders.tests.test_workflow import order_data

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
IMPACTS = ("serious", "critical")

# Named routes that are not pages a person opens: APIs (the interactive API docs aside),
# POST actions, fragments a page fetches, the platforms' webhook endpoint.
NOT_PAGES = {
    "logout": "POST action",
    "switch_account": "POST action",
    "channel_webhook": "platforms' endpoint",
    "channel_runs": "fragment of the channel page",
    "sales_order_process": "POST action",
    "sales_order_cancel": "POST action",
    "purchase_order_process": "POST action",
    "purchase_order_cancel": "POST action",
    "channel_automation": "POST action",
    "channel_automation_preview": "fragment of the channel page",
    "recurring_jobs_preview": "fragment of the Recurring Jobs tab",
    "run_progress": "JSON a page polls",
    "work_progress": "JSON a page polls",
}
# Pages that need no account selected; every other page is visited at the person's account.
WITHOUT_ACCOUNT = {"login", "home", "organizations", "organization_edit", "organization_account",
                   "organization_account_tab", "api-docs"}  # fmt: skip
ROLES = ("org_admin", "supervisor", "account_admin", "account_user")
WATCHING = "watching"


def named_routes() -> set[str]:
    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern) != "admin/":  # Django's own admin: staff only, not the portal
                    yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                yield p.name

    return {name for name in walk(get_resolver().url_patterns) if not name.startswith("api-")} | {"api-docs"}


@pytest.fixture
def objects(world):
    """One of each object a page shows, all in ACME-US."""
    account = world.acme_us
    sales = channel_services.create_channel(
        None,
        account,
        kind="sales",
        name="Marketplace",
        platform="sandbox_marketplace",
        credentials={"api_key": "k"},
    )
    beta = channel_services.create_channel(
        None,
        account,
        kind="sales",
        name="Beta Shop",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": "k"},
    )
    threepl = channel_services.create_channel(
        None, account, kind="fulfillment", name="3PL", platform="sandbox_3pl", credentials={"api_key": "k"}
    )
    Product.objects.create(account=account, sku="SKU-1", name="Widget")
    order = create_sales_order(account, order_data("A11Y-1"), source="manual")
    po = create_purchase_order(
        account,
        {
            "number": "PO-A11Y",
            "warehouse": world.warehouses["ACME-US-1"],
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        },
    )
    run = JobRun.objects.create(
        account=account,
        channel=sales,
        job_type=JobType.IMPORT_ORDERS,
        trigger=Trigger.MANUAL,
        status="partial",
        counts={"imported": 3},
        messages=["One order was refused."],
    )
    processed = progress.start(account, ProgressKind.SALES_ORDERS, 3)
    progress.finish(processed.pk, ProgressStatus.PARTIAL, "2 sent, 1 on hold")
    org, acc = {"org_id": world.acme.pk}, {"org_id": world.acme.pk, "account_id": account.pk}
    slugs = [tab.slug for tab in tabs.all_tabs()]
    channels = [{"channel_id": c.pk} for c in (sales, beta, threepl)]
    kinds = [{"kind_slug": "sales-channels"}, {"kind_slug": "fulfillment-channels"}]
    return {
        "organization_edit": [org],
        "organization_account": [acc],
        "organization_account_tab": [{**acc, "tab": slug} for slug in slugs],
        "current_account_tab": [{"tab": slug} for slug in slugs],
        "channel_detail": channels,
        "channel_job_runs": channels[:1],
        "channel_list": kinds,
        "channel_add": kinds,
        "sales_order_detail": [{"order_id": order.pk}],
        "purchase_order_detail": [{"po_id": po.pk}],
        "job_run": [{"run_id": run.pk}],
        # Not routes: pages watching finished work, their progress boxes shown.
        WATCHING: [f"/sales-orders/?progress={processed.token}", f"/channels/{sales.pk}/?run={run.pk}"],
    }


def page_urls(objects) -> list[tuple[str, str]]:
    """(route name, URL) of every page, in a stable order."""
    names = sorted(named_routes() - set(NOT_PAGES))
    return [(name, reverse(name, kwargs=kwargs)) for name in names for kwargs in objects.get(name, [{}])]


def test_every_named_route_is_a_checked_page_or_named_as_no_page(objects):
    unknown = set(NOT_PAGES) - named_routes()
    assert not unknown, f"NOT_PAGES names routes that no longer exist: {sorted(unknown)}"
    for name, url in page_urls(objects):
        assert url.startswith("/"), name


def violations(page) -> list[dict]:
    # resultTypes: details of the violations only (passes are counted, not described).
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [v for v in found if v["impact"] in IMPACTS]


def readable(problems: list[tuple[str, str, dict]]) -> str:
    lines = [f"{len(problems)} serious/critical axe-core violation(s):"]
    for who, url, v in problems:
        lines.append(f"- {who} {url}: [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(
                f"    {', '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
            )
    return "\n".join(lines)


@pytest.fixture
def audit_page(browser, live_server):
    """A page whose injected axe-core the Content-Security-Policy lets run."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make test` installs it with npm (tests/browser/axe)")
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.add_init_script(path=str(AXE))  # in every page the context opens
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page, email):
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def switch_to(page, account):
    page.get_by_label("Switch account").select_option(label=f"{account.code} · {account.name}")
    page.get_by_role("button", name="Switch", exact=True).click()
    page.wait_for_url("**/account/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_no_serious_or_critical_violation(role, world, objects, audit_page):
    page, person = audit_page, getattr(world, role)
    problems, checked = [], 0
    pages = page_urls(objects)

    page.goto("/login/")
    problems += [("anonymous", "/login/", v) for v in violations(page)]
    sign_in(page, person.email)
    for at_account in (False, True):
        if at_account:
            switch_to(page, world.acme_us)
        for name, url in pages:
            if name == "login" or (name in WITHOUT_ACCOUNT) == at_account:
                continue
            response = page.goto(url)
            if response.status != 200:
                continue  # not this role's page (403/404), or one that sends it elsewhere
            checked += 1
            problems += [(person.email, url, v) for v in violations(page)]
    for url in objects[WATCHING]:
        page.goto(url)
        page.wait_for_selector("[data-progress-url][data-finished=true]")
        problems += [(person.email, url, v) for v in violations(page)]
    assert checked >= 10, f"only {checked} pages answered {person.email}"
    assert not problems, readable(problems)


# (route, its arguments, the form's submit button) of the forms a person fills in most.
FORMS_SENT_EMPTY = (
    ("channel_add", {"kind_slug": "sales-channels"}, "Add channel"),
    ("current_account_tab", {"tab": "warehouses"}, "Add warehouse"),
    ("current_account_tab", {"tab": "users"}, "Add user"),
)


def fields_without_their_error(page) -> list[str]:
    """Fields shown in error whose control is not marked invalid or does not name the
    error beside it in aria-describedby (what a screen reader reads with the field)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.field.has-error')].filter(row => {
             const control = row.querySelector('input, select, textarea');
             const error = row.querySelector('.errorlist');
             const described = (control && control.getAttribute('aria-describedby') || '').split(' ');
             const invalid = control && control.getAttribute('aria-invalid') === 'true';
             return !invalid || !described.includes(error.id);
           }).map(row => row.id)"""
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_forms_showing_their_errors_have_no_violation_and_tie_each_error_to_its_field(world, audit_page):
    page, problems = audit_page, []
    page.goto("/login/")
    page.fill("#id_username", world.org_admin.email)
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".errorlist").first).to_be_visible()
    problems += [("anonymous", "/login/ refused", v) for v in violations(page)]

    sign_in(page, world.org_admin.email)
    switch_to(page, world.acme_us)
    for name, kwargs, button in FORMS_SENT_EMPTY:
        url = reverse(name, kwargs=kwargs)
        page.goto(url)
        form = page.get_by_role("button", name=button, exact=True).locator("xpath=ancestor::form")
        # The browser's own checks off: the server's messages are the ones under test.
        form.evaluate("form => { form.noValidate = true; }")
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
        assert page.locator(".field.has-error").count() >= 1, f"{url}: no field in error"
        assert fields_without_their_error(page) == [], url
        problems += [(world.org_admin.email, f"{url} sent empty", v) for v in violations(page)]
    assert not problems, readable(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_account_switcher_waits_for_the_switch_button(world, sign_in_page):
    page = sign_in_page(world.org_admin.email)
    here = page.url
    switcher = page.get_by_label("Switch account")
    switcher.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    assert page.url == here  # looking through the accounts switches nothing
    expect(switcher).not_to_have_value("")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Switch", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/")
    expect(page.get_by_test_id("current-account")).not_to_contain_text("No account selected")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_keyboard_focus_is_visible_on_links_buttons_and_fields(world, sign_in_page):
    page = sign_in_page(world.account_admin.email)
    seen = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        tag, outline = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.tagName, s.outlineStyle + ' ' + s.outlineWidth]; }"
        )
        assert outline == "solid 3px", f"{tag} has focus without a visible outline ({outline})"
        seen.add(tag)
    assert {"A", "BUTTON", "SELECT"} <= seen
