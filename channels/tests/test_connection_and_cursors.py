"""What every connector gets from the engine: Test connection (page, API, service),
credential fields that are not secret, cursors that move only after a read was handled,
cancellations at the channel, and Retry-After."""

import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from automations.jobs.runner import RunRequeued, run_job
from automations.models import JobRun, RunStatus, Trigger
from channels import connectors, services
from channels.connectors.base import (
    ChannelOrder,
    ConnectorHttpError,
    ConnectorUnavailable,
    CredentialField,
    Fetched,
    Line,
)
from channels.connectors.http import JsonHttpClient, retry_after
from channels.connectors.sandbox_marketplace import SandboxMarketplaceConnector
from channels.models import SyncCursor
from channels.platforms import JobType
from orders.models import SalesOrder, SalesOrderStatus

pytestmark = pytest.mark.django_db


def run(channel, job_type, ids=None, attempts=1) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    return run_job(job_run, ids=ids, attempts=attempts)


# Test connection -------------------------------------------------------------------------


def test_test_connection_names_what_the_credentials_reach(linked):
    ok, message = services.test_connection(None, linked.marketplace)
    assert ok, message
    assert "US-EAST" in message and "1 locations" in message


def test_test_connection_says_a_refused_key_is_refused(linked):
    channel = services.update_channel(None, linked.marketplace, {}, credentials={"api_key": "wrong"})
    ok, message = services.test_connection(None, channel)
    assert not ok
    assert "refused the credentials" in message


def test_test_connection_says_an_unreachable_platform_cannot_be_reached(linked, settings):
    settings.SANDBOX_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    ok, message = services.test_connection(None, linked.marketplace)
    assert not ok
    assert "cannot be reached" in message


def test_test_connection_without_credentials_asks_for_them(world):
    channel = services.create_channel(
        None, world.acme_us, kind="sales", name="Bare", platform="sandbox_marketplace"
    )
    assert services.test_connection(None, channel) == (
        False,
        "The channel has no credentials: enter them, save, then test again.",
    )


def test_an_account_user_cannot_test_a_connection(linked):
    with pytest.raises(PermissionDenied):
        services.test_connection(linked.world.account_user, linked.marketplace)


def test_the_api_answers_the_test(linked, api):
    response = api(linked.world.acme_us).post(f"/api/v1/channels/{linked.marketplace.pk}/test-connection/")
    assert response.status_code == 200
    assert response.json()["ok"] is True and "US-EAST" in response.json()["message"]


def test_the_channel_page_shows_the_answer_once(linked, client_for):
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    url = f"/channels/{linked.marketplace.pk}/"
    response = client.post(url, {"action": "test_connection"}, follow=True)
    assert response.status_code == 200
    assert b'id="connection-result"' in response.content
    assert b"Connected to Sandbox Marketplace" in response.content
    assert b'id="connection-result"' not in client.get(url).content


# Credential fields ---------------------------------------------------------------------


class UrlConnector(SandboxMarketplaceConnector):
    credential_fields = (
        CredentialField("base_url", "Base URL", secret=False, url=True),
        CredentialField("api_key", "API Key"),
    )


@pytest.fixture
def url_platform(monkeypatch):
    monkeypatch.setitem(connectors.CONNECTORS, "sandbox_marketplace", UrlConnector)


def test_a_url_credential_must_be_an_http_url(world, url_platform):
    with pytest.raises(ValidationError) as refusal:
        services.create_channel(
            None,
            world.acme_us,
            kind="sales",
            name="Shop",
            platform="sandbox_marketplace",
            credentials={"base_url": "ftp://shop", "api_key": "k"},
        )
    assert "base_url" in refusal.value.message_dict


def test_credentials_are_all_given_or_none(world, url_platform):
    with pytest.raises(ValidationError) as refusal:
        services.create_channel(
            None,
            world.acme_us,
            kind="sales",
            name="Shop",
            platform="sandbox_marketplace",
            credentials={"base_url": "https://shop.example.com"},
        )
    assert refusal.value.message_dict == {"api_key": ["Enter the API Key."]}


def test_a_plain_credential_is_shown_in_the_form_and_a_secret_never(world, url_platform, client_for):
    channel = services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Shop",
        platform="sandbox_marketplace",
        credentials={"base_url": "https://shop.example.com", "api_key": "sk_very_secret"},
    )
    page = client_for(world.account_admin, world.acme_us).get(f"/channels/{channel.pk}/").content.decode()
    assert 'value="https://shop.example.com"' in page
    assert "sk_very_secret" not in page


# Cursors -----------------------------------------------------------------------------


def order(external_id: str, cancelled: bool = False) -> ChannelOrder:
    return ChannelOrder(
        external_id=external_id,
        number=f"M-{external_id}",
        ordered_at=datetime(2026, 12, 1, tzinfo=UTC),
        lines=(Line(sku="SKU-1", quantity=1, unit_price=Decimal("5")),),
        cancelled=cancelled,
    )


class ScriptedConnector(SandboxMarketplaceConnector):
    """Answers Import Orders from `script` (a list of Fetched or exceptions, one per read,
    handed on as one page) and records the `since` each read was given."""

    script: list = []
    calls: list = []

    def import_order_pages(self, ids=None, since=None):
        type(self).calls.append((ids, since))
        answer = type(self).script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        yield answer


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(connectors.CONNECTORS, "sandbox_marketplace", ScriptedConnector)
    monkeypatch.setattr(ScriptedConnector, "script", [])
    monkeypatch.setattr(ScriptedConnector, "calls", [])
    return ScriptedConnector


def test_the_cursor_moves_after_a_read_was_handled_and_is_given_to_the_next(linked, scripted):
    scripted.script = [
        Fetched(items=[order("1"), order("2")], cursor="2026-12-01T10:00:00Z"),
        Fetched(items=[order("2"), order("3")], cursor="2026-12-01T11:00:00Z"),
    ]
    first = run(linked.marketplace, JobType.IMPORT_ORDERS)
    second = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert scripted.calls == [(None, None), (None, "2026-12-01T10:00:00Z")]
    assert first.counts == {"imported": 2}
    assert second.counts == {"imported": 1, "already_imported": 1}
    assert SyncCursor.objects.get(channel=linked.marketplace).position == "2026-12-01T11:00:00Z"


def test_a_failed_read_keeps_the_cursor_where_it_was(linked, scripted):
    services.advance_cursor(linked.marketplace, JobType.IMPORT_ORDERS, "T1")
    scripted.script = [ConnectorUnavailable("down"), Fetched(items=[], cursor="T1")]
    failed = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert failed.status == RunStatus.FAILED
    assert SyncCursor.objects.get(channel=linked.marketplace).position == "T1"
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert scripted.calls == [(None, "T1"), (None, "T1")]


def test_a_run_limited_to_ids_neither_reads_nor_moves_the_cursor(linked, scripted):
    services.advance_cursor(linked.marketplace, JobType.IMPORT_ORDERS, "T1")
    scripted.script = [Fetched(items=[order("9")], cursor="T9")]
    run(linked.marketplace, JobType.IMPORT_ORDERS, ids=["9"])
    assert scripted.calls == [(["9"], None)]
    assert SyncCursor.objects.get(channel=linked.marketplace).position == "T1"


def test_each_channel_and_job_type_has_its_own_cursor(linked, scripted):
    services.advance_cursor(linked.threepl, JobType.RECEIVE_SHIPMENTS, "other")
    services.advance_cursor(linked.marketplace, JobType.IMPORT_PRODUCTS, "products")
    scripted.script = [Fetched(items=[], cursor=None)]
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert scripted.calls == [(None, None)]
    assert not SyncCursor.objects.filter(channel=linked.marketplace, job_type=JobType.IMPORT_ORDERS).exists()


# Cancelled at the channel ----------------------------------------------------------------


def test_an_order_cancelled_at_the_channel_is_cancelled_here_and_a_new_one_never_imported(linked, scripted):
    scripted.script = [
        Fetched(items=[order("1")]),
        Fetched(items=[order("1", cancelled=True), order("2", cancelled=True)]),
        Fetched(items=[order("1", cancelled=True)]),
    ]
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    second = run(linked.marketplace, JobType.IMPORT_ORDERS)
    third = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert second.status == RunStatus.SUCCESS, second.messages
    assert second.counts == {"cancelled": 1, "cancelled_before_import": 1}
    assert third.counts == {"already_cancelled": 1}
    stored = SalesOrder.objects.get(channel=linked.marketplace)
    assert stored.external_id == "1" and stored.status == SalesOrderStatus.CANCELLED
    assert stored.events.filter(detail="Cancelled in Marketplace.").exists()


def test_an_order_cancelled_at_the_channel_after_it_shipped_is_reported_not_hidden(linked, scripted):
    scripted.script = [Fetched(items=[order("1")]), Fetched(items=[order("1", cancelled=True)])]
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    SalesOrder.objects.filter(channel=linked.marketplace).update(status=SalesOrderStatus.SHIPPED)
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.PARTIAL
    assert "was cancelled in Marketplace, but not here" in result.messages[0]
    assert SalesOrder.objects.get(channel=linked.marketplace).status == SalesOrderStatus.SHIPPED


# Retry-After ---------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates_and_ignores_the_rest():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after("120", now) == 120
    assert retry_after("Fri, 04 Dec 2026 12:01:30 GMT", now) == 90
    assert retry_after("Fri, 04 Dec 2026 11:00:00 GMT", now) == 0
    assert retry_after("99999999999", now) == 3600
    assert retry_after("soon", now) is None and retry_after(None) is None


class TooManyRequests(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b'{"type": "too_many_requests", "message": "Slow down"}'
        self.send_response(429)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_429_carries_its_retry_after_and_its_message():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TooManyRequests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = JsonHttpClient(f"http://127.0.0.1:{server.server_port}", timeout=5, basic_auth=("sk_1", ""))
        assert client.headers["Authorization"] == "Basic c2tfMTo="
        with pytest.raises(ConnectorHttpError) as failure:
            client.get("/admin/orders")
    finally:
        server.shutdown()
    assert failure.value.status == 429 and failure.value.transient
    assert failure.value.retry_after == 7
    assert "Slow down" in str(failure.value)


def test_a_rate_limited_run_is_retried_no_sooner_than_the_platform_asked(linked, scripted):
    scripted.script = [ConnectorHttpError(429, "Too many requests", retry_after=42)]
    job_run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger=Trigger.MANUAL,
    )
    with pytest.raises(RunRequeued) as requeued:
        run_job(job_run, attempts=3)
    assert requeued.value.retry_after == 42
