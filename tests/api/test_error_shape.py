"""One error shape for every endpoint: `{code, message, errors}` with the services' own
codes, whichever app answers (each of these answered its own shape before)."""

import pytest

from automations import services as automations

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_client(api, records):
    return api(records.account)


def test_a_stale_channel_version_is_409_stale_version_with_the_current_one(key_client, records):
    path = f"/api/v1/channels/{records.shop.pk}/"
    assert (
        key_client.patch(path, {"name": "New", "version": 1}, content_type="application/json").status_code
        == 200
    )
    response = key_client.patch(path, {"name": "Newer", "version": 1}, content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["current_version"]) == ("stale_version", 2)
    assert body["message"]


def test_stale_recurring_jobs_are_409_stale_version(key_client, records):
    version = automations.recurring_jobs_version(records.account)
    response = key_client.patch(
        "/api/v1/recurring-jobs/", {"version": version + 1, "jobs": {}}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert response.json()["current_version"] == version


@pytest.mark.parametrize(
    "method, path",
    [
        ("patch", "/api/v1/recurring-jobs/"),
        ("patch", "/api/v1/channels/{beta}/jobs/"),
        ("post", "/api/v1/channels/"),
        ("post", "/api/v1/products/"),
        ("post", "/api/v1/sales-orders/"),
    ],
)
def test_an_account_user_is_refused_writes_with_the_envelope(client_for, records, method, path):
    client = client_for(records.world.account_user, records.account)
    response = getattr(client, method)(path.format(beta=records.beta.pk), {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "message": "Account Users have read-only access."}


def test_the_services_own_codes_reach_the_client(key_client, records):
    not_offered = key_client.patch(
        "/api/v1/recurring-jobs/",
        {"jobs": {"nightly_report": {"enabled": True}}},
        content_type="application/json",
    )
    assert not_offered.json()["errors"] == {
        "jobs.nightly_report": [
            {"code": "not_offered", "message": "This account's stable channels do not offer this job."}
        ]
    }
    taken = key_client.post(
        "/api/v1/products/", {"sku": "sku-1", "name": "Again"}, content_type="application/json"
    )
    assert taken.json()["errors"]["sku"] == [
        {"code": "unique", "message": "This account already has a product with this SKU."}
    ]


def test_a_job_the_channel_does_not_run_is_400_on_its_field(key_client, records):
    response = key_client.post(
        f"/api/v1/channels/{records.threepl.pk}/sync/",
        {"job_type": "import_orders"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["job_type"]
