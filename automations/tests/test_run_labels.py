"""What the job log says started a run and what ran: the Workflow trigger of the automatic
order workflows, and PII Retention, a system job that is no channel job type."""

import re

import pytest

from automations import workflows
from automations.jobs.retention import run_retention
from automations.models import JobRun, RunJobType, SystemJobType, Trigger
from channels.platforms import PLATFORMS, JobType
from orders import workflow
from orders.services import create_sales_order
from orders.tests.test_workflow import order_data, switch

pytestmark = pytest.mark.django_db


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]+)</option>", select)


def test_automatic_workflow_runs_have_the_workflow_trigger_and_no_requester(
    linked, eager_celery, client_for, django_capture_on_commit_callbacks
):
    switch(linked.world.acme_us, auto_sales_order_workflow=True)
    with django_capture_on_commit_callbacks(execute=True):
        create_sales_order(linked.world.acme_us, order_data(), source="manual")
    run = JobRun.objects.get(job_type=JobType.SEND_ORDERS)
    assert (run.trigger, run.requested_by) == (Trigger.WORKFLOW, None)
    client = client_for(linked.world.account_user, linked.world.acme_us)
    page = client.get("/job-runs/?trigger=workflow").content.decode()
    assert "Workflow" in options(page, "trigger") and "<td>Send Orders</td>" in page
    assert "<td>Send Orders</td>" not in client.get("/job-runs/?trigger=manual").content.decode()
    body = client.get("/api/v1/job-runs/?trigger=workflow").json()
    assert [(r["job_type"], r["trigger"]) for r in body["results"]] == [("send_orders", "workflow")]


def test_orders_processed_by_hand_stay_manual_runs(
    linked, eager_celery, api, django_capture_on_commit_callbacks
):
    account = linked.world.acme_us
    by_person, by_api = (create_sales_order(account, order_data(f"M-{n}"), source="manual") for n in (1, 2))
    workflows.process_sales_orders(
        account, [by_person.pk], workflow.Actor("admin", linked.world.account_admin)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert api(account).post(f"/api/v1/sales-orders/{by_api.pk}/process/").status_code == 202
    runs = JobRun.objects.filter(job_type=JobType.SEND_ORDERS).order_by("pk")
    assert [(r.trigger, r.requested_by) for r in runs] == [
        (Trigger.MANUAL, linked.world.account_admin),
        (Trigger.MANUAL, None),
    ]


def test_pii_retention_runs_are_labelled_and_filtered_on_the_accounts_log(world, client_for):
    run_retention(world.acme_us)
    client = client_for(world.account_user, world.acme_us)
    page = client.get("/job-runs/?job_type=pii_retention").content.decode()
    assert "PII Retention" in options(page, "job_type")
    assert "<td>PII Retention</td>" in page and "pii_retention</td>" not in page
    body = client.get("/api/v1/job-runs/?job_type=pii_retention").json()
    assert [r["job_type"] for r in body["results"]] == ["pii_retention"]
    assert str(JobRun.objects.get()) == "PII Retention (Schedule) Success"


def test_pii_retention_is_offered_as_no_channel_job(linked, client_for, api):
    assert SystemJobType.PII_RETENTION not in JobType.values
    assert SystemJobType.PII_RETENTION in RunJobType.values
    assert all(SystemJobType.PII_RETENTION not in p.job_types for p in PLATFORMS.values())
    run_retention(linked.world.acme_us)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    for url in (
        "/account/recurring-jobs/",
        f"/channels/{linked.marketplace.pk}/",
        f"/channels/{linked.threepl.pk}/",
    ):
        page = client.get(url)
        assert page.status_code == 200 and "PII Retention" not in page.content.decode(), url
    channel_log = client.get(f"/channels/{linked.marketplace.pk}/job-runs/").content.decode()
    assert "PII Retention" not in options(channel_log, "job_type")
    assert "Import Orders" in options(channel_log, "job_type")
    refused = api(linked.world.acme_us).post(
        f"/api/v1/channels/{linked.marketplace.pk}/sync/",
        {"job_type": "pii_retention"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "job_type" in refused.json()["errors"]
