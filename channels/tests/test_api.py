"""REST API of channels: scoped to the key's (or session's) account, 404 across tenants."""

import pytest

from automations.models import JobRun
from channels import services
from channels.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex_channel(world):
    return services.create_channel(
        None,
        world.globex_jp,
        kind="sales",
        name="Globex Shop",
        platform="sandbox_marketplace",
        credentials={"api_key": "g"},
    )


def test_lists_only_the_keys_accounts_channels_without_credentials(api, world, globex_channel):
    services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Acme Shop",
        platform="sandbox_marketplace",
        credentials={"api_key": "s3"},
    )
    body = api(world.acme_us).get("/api/v1/channels/").json()
    assert [c["name"] for c in body["results"]] == ["Acme Shop"]
    channel = body["results"][0]
    assert "credentials" not in channel and channel["has_credentials"] is True
    assert channel["webhook_url"].endswith(
        f"/webhooks/{Channel.objects.get(name='Acme Shop').webhook_token}/"
    )


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/channels/{id}/"),
        ("patch", "/api/v1/channels/{id}/"),
        ("post", "/api/v1/channels/{id}/sync/"),
        ("get", "/api/v1/channels/{id}/runs/"),
        ("post", "/api/v1/channels/{id}/rotate-webhook-secret/"),
        ("post", "/api/v1/channels/{id}/test-connection/"),
        ("get", "/api/v1/channels/{id}/mappings/"),
        ("post", "/api/v1/channels/{id}/mappings/"),
    ],
)
def test_another_tenants_channel_is_404(api, world, globex_channel, method, path):
    response = getattr(api(world.acme_us), method)(
        path.format(id=globex_channel.pk), {"job_type": "import_orders"}, content_type="application/json"
    )
    assert response.status_code == 404
    globex_channel.refresh_from_db()
    assert globex_channel.version == 1 and not JobRun.objects.exists()


def test_another_tenants_mapping_cannot_be_deleted(api, world, globex_channel):
    mapping = services.add_mapping(None, globex_channel, "JP", world.warehouses["GLOBEX-1"].pk)
    response = api(world.acme_us).delete(f"/api/v1/channels/{globex_channel.pk}/mappings/{mapping.pk}/")
    assert response.status_code == 404
    assert globex_channel.warehouse_mappings.exists()


def test_create_update_and_map_a_channel(api, world):
    client = api(world.acme_us)
    created = client.post(
        "/api/v1/channels/",
        {"name": "WMS", "kind": "fulfillment", "platform": "sandbox_3pl", "credentials": {"api_key": "k"}},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    channel_id = created.json()["id"]
    wrong_kind = client.patch(
        f"/api/v1/channels/{channel_id}/",
        {"platform": "sandbox_marketplace"},
        content_type="application/json",
    )
    assert wrong_kind.status_code == 400 and "platform" in str(wrong_kind.json())
    foreign = client.post(
        f"/api/v1/channels/{channel_id}/mappings/",
        {"location": "X", "warehouse": world.warehouses["GLOBEX-1"].pk},
        content_type="application/json",
    )
    assert foreign.status_code == 400
    mapped = client.post(
        f"/api/v1/channels/{channel_id}/mappings/",
        {"location": "NJ1", "warehouse": world.warehouses["ACME-US-1"].pk},
        content_type="application/json",
    )
    assert mapped.status_code == 201
    updated = client.patch(
        f"/api/v1/channels/{channel_id}/", {"buffer_stock": 4, "version": 1}, content_type="application/json"
    )
    assert updated.json()["buffer_stock"] == 4
    stale = client.patch(
        f"/api/v1/channels/{channel_id}/", {"name": "Z", "version": 1}, content_type="application/json"
    )
    assert stale.status_code == 409
    assert [
        m["location"] for m in client.get(f"/api/v1/channels/{channel_id}/").json()["warehouse_mappings"]
    ] == ["NJ1"]


def test_sync_queues_a_manual_run_that_the_worker_executes(
    api, linked, eager_celery, django_capture_on_commit_callbacks
):
    linked.place_order()
    client = api(linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/channels/{linked.marketplace.pk}/sync/",
            {"job_type": "import_orders"},
            content_type="application/json",
        )
    assert response.status_code == 202
    assert response.json()["trigger"] == "manual"
    runs = client.get(f"/api/v1/channels/{linked.marketplace.pk}/runs/").json()["results"]
    assert [(r["status"], r["counts"]) for r in runs] == [("success", {"imported": 1})]


def test_session_account_user_reads_but_cannot_write(client_for, world):
    client = client_for(world.account_user, world.acme_us)
    assert client.get("/api/v1/channels/").status_code == 200
    response = client.post(
        "/api/v1/channels/",
        {"name": "N", "kind": "sales", "platform": "sandbox_marketplace"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Channel.objects.exists()


def test_rotating_by_api_returns_the_new_secret_once(api, world, globex_channel):
    response = api(world.globex_jp).post(f"/api/v1/channels/{globex_channel.pk}/rotate-webhook-secret/")
    globex_channel.refresh_from_db()
    assert response.json() == {"webhook_secret": globex_channel.webhook_secret}
