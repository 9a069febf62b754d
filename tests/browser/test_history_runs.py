"""The run history as a person sees it: a job row's strip of last runs leading to a run's
page (attempts, messages, counts), and the Job Runs filters with their errors."""

import pytest
from playwright.sync_api import expect

from automations.models import JobRun, RunStatus, Trigger
from channels import services as channel_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def beta(world):
    return channel_services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Beta Shop",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": "k"},
    )


def run(channel, status, job_type="import_orders", trigger=Trigger.SCHEDULE, key="", **fields):
    return JobRun.objects.create(
        account=channel.account,
        channel=channel,
        job_type=job_type,
        trigger=trigger,
        status=status,
        idempotency_key=key or None,
        **fields,
    )


def test_a_strip_mark_opens_the_run_with_its_attempts(world, beta, sign_in_at_account):
    run(beta, RunStatus.SUCCESS, key="a", counts={"imported": 2})
    run(beta, RunStatus.SKIPPED, key="b", messages=["Skipped: the webhook job succeeded recently."])
    failed = run(
        beta,
        RunStatus.FAILED,
        key="c",
        counts={"attempts": 2, "imported": 1},
        messages=["Attempt 2 of 4 after: timed out (done before: imported 1)", "Attempt 2 of 4: HTTP 401"],
    )
    run(beta, RunStatus.SUCCESS, "export_inventory", counts={"updated": 4}, messages=["Real-time push of 4."])
    page = sign_in_at_account(world.account_user.email, world.acme_us)
    page.goto(f"/channels/{beta.pk}/")

    strip = page.locator('#automations tr[data-job="import_orders"]').get_by_test_id("run-strip")
    expect(strip.locator(".run-mark")).to_have_count(3)
    marks = [m.get_attribute("data-status") for m in strip.locator(".run-mark").all()]
    assert marks == ["success", "skipped", "failed"]
    expect(page.locator("#runs .strip-line .run-mark")).to_have_count(4)
    push = page.locator(f'#runs tr[data-run="{JobRun.objects.get(job_type="export_inventory").pk}"]')
    expect(push).to_contain_text("Real-time push")

    strip.locator(".run-mark").last.click()
    page.wait_for_url(f"**/job-runs/{failed.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Failed")
    attempts = page.locator("#run-attempts tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("Failed, retried")
    expect(attempts.nth(0)).to_contain_text("timed out (done before: imported 1)")
    expect(attempts.nth(1)).to_contain_text("HTTP 401")
    expect(page.locator("#run-counts")).to_contain_text("Imported")


def test_job_runs_filters_and_their_errors(world, beta, sign_in_at_account):
    shop = channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace", credentials={}
    )
    mine = run(shop, RunStatus.PARTIAL, key="p")
    run(beta, RunStatus.SUCCESS, key="s")
    run(beta, RunStatus.SUCCESS, "export_inventory")  # a real-time push
    page = sign_in_at_account(world.account_user.email, world.acme_us)
    page.goto("/job-runs/")
    expect(page.locator("#job-runs tbody tr")).to_have_count(3)
    filters = page.locator("#run-filters")
    filters.get_by_label("Channel").select_option(label="Shop")
    filters.get_by_label("Status").select_option(label="Partial")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#job-runs tbody tr")).to_have_count(1)
    expect(page.locator(f'#job-runs tr[data-run="{mine.pk}"]')).to_be_visible()

    page.goto("/job-runs/")
    page.locator("#run-filters").get_by_label("Trigger").select_option(label="Real-time push")
    page.locator("#run-filters").get_by_role("button", name="Filter").click()
    expect(page.locator("#job-runs tbody tr")).to_have_count(1)
    expect(page.locator("#job-runs tbody tr")).to_contain_text("Export Inventory")

    page.goto("/job-runs/?queued_from=2026-03-02&queued_to=2026-03-01&status=exploded")
    expect(page.locator("#id_queued_to-errors")).to_have_text("The end date is before the start date.")
    expect(page.locator("#id_status-errors")).to_have_text("Choose one of the listed values.")
    expect(page.get_by_test_id("filter-errors")).to_be_visible()
    expect(page.locator("#job-runs")).to_have_count(0)
