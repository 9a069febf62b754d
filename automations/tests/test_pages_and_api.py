"""Pages and REST endpoints of automations: what they show, what they save, and 404 for
every other tenant's ids."""

import pytest
from django.urls import reverse

from automations.models import ChannelJobSetting, JobRun, Mode, ScheduleEntry, ScheduleKind, Trigger
from channels import services as channel_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex_channel(world):
    return channel_services.create_channel(
        None, world.globex_jp, kind="sales", name="Globex Beta", platform="sandbox_marketplace_beta"
    )


def test_recurring_jobs_tab_saves_and_previews(
    client_for, world, stable_channels, django_capture_on_commit_callbacks
):
    client = client_for(world.account_admin, world.acme_us)
    url = reverse("current_account_tab", args=["recurring-jobs"])
    page = client.get(url).content.decode()
    assert "Import Orders" in page and "Import Products" not in page  # techOMS is the source
    assert "Export Products" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "version": "0",
                "import_orders-enabled": "on",
                "import_orders-period": "15",
                "import_orders-delay": "5",
            },
        )
    assert response.status_code == 302
    assert ScheduleEntry.objects.get(kind=ScheduleKind.STABLE, job_type="import_orders").enabled
    page = client.get(url).content.decode()
    assert 'data-testid="next-runs"' in page and "UTC)" in page


def test_recurring_jobs_tab_shows_errors_and_saves_nothing(client_for, world, stable_channels):
    client = client_for(world.account_admin, world.acme_us)
    response = client.post(
        reverse("current_account_tab", args=["recurring-jobs"]),
        {"import_orders-enabled": "on", "import_orders-period": "7", "import_orders-delay": ""},
    )
    assert response.status_code == 200
    assert "Select one of the offered values." in response.content.decode()
    assert not ScheduleEntry.objects.exists()


def test_contradicting_product_job_carries_a_warning(client_for, world, stable_channels):
    from automations.models import StableJobSetting

    StableJobSetting.objects.create(account=world.acme_us, job_type="import_products", enabled=True)
    page = client_for(world.account_admin, world.acme_us).get(
        reverse("current_account_tab", args=["recurring-jobs"])
    )
    assert "The Master Product Source is techOMS: Import Products does not run." in page.content.decode()


def test_channel_page_saves_webhook_mode(client_for, world, beta_channel, django_capture_on_commit_callbacks):
    client = client_for(world.account_admin, world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("channel_automation", args=[beta_channel.pk]),
            {
                "mode": "webhook",
                "import_orders-enabled": "on",
                "import_orders-webhook_delay": "5",
                "import_orders-emergency_period": "60",
            },
        )
    assert response.status_code == 302
    assert ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, job_type="import_orders").enabled
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    assert 'option value="webhook" selected' in page and "Emergency checks" in page


def test_channel_page_refuses_a_delay_not_shorter_than_the_period(client_for, world, beta_channel):
    client = client_for(world.account_admin, world.acme_us)
    client.post(
        reverse("channel_automation", args=[beta_channel.pk]),
        {
            "mode": "recurring",
            "import_orders-enabled": "on",
            "import_orders-period": "15",
            "import_orders-delay": "30",
        },
    )
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    assert "Delay must be shorter than the period." in page
    assert not ChannelJobSetting.objects.exists()


def test_account_user_cannot_save(client_for, world, beta_channel):
    client = client_for(world.account_user, world.acme_us)
    response = client.post(reverse("channel_automation", args=[beta_channel.pk]), {"mode": "webhook"})
    assert response.status_code == 403


def test_job_runs_page_filters_and_shows_account_time(client_for, world, beta_channel):
    JobRun.objects.create(
        account=world.acme_us, channel=beta_channel, job_type="import_orders", trigger=Trigger.WEBHOOK
    )
    JobRun.objects.create(
        account=world.acme_us, channel=beta_channel, job_type="export_inventory", trigger=Trigger.SCHEDULE
    )
    client = client_for(world.account_user, world.acme_us)
    page = client.get(reverse("job_runs"), {"trigger": "webhook"}).content.decode()
    assert page.count("<tr data-run=") == 1 and "(America/New_York)" in page
    page = client.get(reverse("channel_job_runs", args=[beta_channel.pk])).content.decode()
    assert page.count("<tr data-run=") == 2


def test_other_tenants_channel_pages_answer_404(client_for, world, globex_channel):
    client = client_for(world.org_admin, world.acme_us)
    assert client.get(reverse("channel_job_runs", args=[globex_channel.pk])).status_code == 404
    assert (
        client.post(reverse("channel_automation", args=[globex_channel.pk]), {"mode": "webhook"}).status_code
        == 404
    )


def test_api_recurring_jobs_round_trip(api, world, stable_channels):
    client = api(world.acme_us)
    body = client.get("/api/v1/recurring-jobs/").json()
    response = client.patch(
        "/api/v1/recurring-jobs/",
        {"version": body["version"], "jobs": {"import_orders": {"enabled": True, "period_minutes": 60}}},
        content_type="application/json",
    )
    assert response.status_code == 200
    job = next(j for j in response.json()["jobs"] if j["job_type"] == "import_orders")
    assert job["enabled"] and len(job["next_runs"]) == 5
    stale = client.patch(
        "/api/v1/recurring-jobs/", {"version": body["version"], "jobs": {}}, content_type="application/json"
    )
    assert stale.status_code == 409


def test_api_channel_jobs_validates_mode_against_the_connector(api, world):
    tpl = channel_services.create_channel(
        None, world.acme_us, kind="fulfillment", name="3PL Beta", platform="sandbox_3pl_beta"
    )
    response = api(world.acme_us).patch(
        f"/api/v1/channels/{tpl.pk}/jobs/",
        {"mode": Mode.WEBHOOK, "jobs": {}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert (
        response.json()["errors"]["mode"][0]["message"] == "Sandbox 3PL Beta does not support Webhook mode."
    )


def test_api_channel_jobs_and_runs_of_other_tenants_are_404(api, world, globex_channel):
    run = JobRun.objects.create(
        account=world.globex_jp, channel=globex_channel, job_type="import_orders", trigger="manual"
    )
    client = api(world.acme_us)
    assert client.get(f"/api/v1/channels/{globex_channel.pk}/jobs/").status_code == 404
    assert (
        client.patch(
            f"/api/v1/channels/{globex_channel.pk}/jobs/", {}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/job-runs/{run.pk}/").status_code == 404
    assert client.get("/api/v1/job-runs/").json()["count"] == 0
    assert api(world.globex_jp).get("/api/v1/job-runs/").json()["count"] == 1
