"""PII retention: which orders lose their customer data, when, and what stays."""

from datetime import UTC, datetime, timedelta

import pytest

from automations.jobs.retention import run_retention
from channels.models import Channel
from orders.models import PII_FIELDS, SalesOrder
from orders.retention import REDACTED

pytestmark = pytest.mark.django_db

# 12:00 UTC on 10 March 2026 is 08:00 in New York (EDT since 8 March), local day 10 March.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CUSTOMER = {
    "customer_name": "Ann Smith",
    "customer_email": "ann@example.com",
    "customer_phone": "+1 555 0100",
    "ship_address1": "1 Main St",
    "ship_address2": "Apt 2",
    "ship_city": "Springfield",
    "ship_region": "IL",
    "ship_postal_code": "62701",
}


def order(account, number, ordered_at, channel=None, **extra):
    return SalesOrder.objects.create(
        account=account,
        channel=channel,
        source="channel" if channel else "api",
        external_id=number if channel else "",
        number=number,
        ordered_at=ordered_at,
        ship_country="US",
        total=12,
        carrier_code="UPS",
        service_code="03",
        **CUSTOMER,
        **extra,
    )


def sales_channel(account, name, days):
    return Channel.objects.create(
        account=account, name=name, kind="sales", platform="sandbox_marketplace", pii_retention_days=days
    )


def redacted(o) -> bool:
    o.refresh_from_db()
    return o.pii_redacted_at is not None and all(getattr(o, f) == REDACTED for f in PII_FIELDS)


def kept(o) -> bool:
    o.refresh_from_db()
    return o.pii_redacted_at is None and all(getattr(o, f) == v for f, v in CUSTOMER.items())


def test_channel_value_wins_for_its_orders_and_account_value_for_the_others(world):
    account = world.acme_us
    account.pii_retention_days = 30
    account.save()
    short = sales_channel(account, "Short", 5)
    inherits = sales_channel(account, "Inherits", None)
    ten_days_ago = NOW - timedelta(days=10)
    on_short, on_inheriting, api_order = (
        order(account, "S", ten_days_ago, short),
        order(account, "I", ten_days_ago, inherits),
        order(account, "A", ten_days_ago),
    )
    run_retention(account, now=NOW)
    assert redacted(on_short)
    # 10 days is within the account's 30: the blank channel and the API order keep theirs.
    assert kept(on_inheriting) and kept(api_order)

    forty_days_ago = NOW - timedelta(days=40)
    long = sales_channel(account, "Long", 365)
    old_on_long, old_api_order = (
        order(account, "L", forty_days_ago, long),
        order(account, "A2", forty_days_ago),
    )
    run_retention(account, now=NOW)
    assert kept(old_on_long) and redacted(old_api_order)


def test_blank_retention_keeps_customer_data(world):
    account = world.acme_us
    ancient = NOW - timedelta(days=3650)
    orders = [order(account, "A", ancient), order(account, "C", ancient, sales_channel(account, "M", None))]
    run = run_retention(account, now=NOW)
    assert all(kept(o) for o in orders)
    assert run.status == "success" and run.counts == {"redacted": 0}
    assert run.messages == ["No retention is set: customer data is kept."]


def test_boundary_is_local_midnight_of_the_account_timezone(world):
    account = world.acme_us  # America/New_York
    account.pii_retention_days = 30
    account.save()
    # Local day 10 March − 30 days = 8 February; its midnight in New York (EST) is 05:00 UTC.
    last_redacted = order(account, "1", datetime(2026, 2, 8, 4, 59, 59, tzinfo=UTC))  # 7 Feb 23:59:59 local
    evening_before = order(account, "2", datetime(2026, 2, 8, 3, 0, tzinfo=UTC))  # 7 Feb 22:00 local
    first_kept = order(account, "3", datetime(2026, 2, 8, 5, 0, tzinfo=UTC))  # 8 Feb 00:00 local
    run_retention(account, now=NOW)
    # A UTC cut-off (8 Feb 00:00 UTC) would have kept the order placed at 22:00 local on 7 Feb.
    assert redacted(last_redacted) and redacted(evening_before)
    assert kept(first_kept)
    # The next local day (11 March, 00:30 EDT = 04:30 UTC) moves the boundary by one day.
    run_retention(account, now=datetime(2026, 3, 11, 4, 30, tzinfo=UTC))
    assert redacted(first_kept)


def test_same_instant_is_a_different_local_day_in_another_timezone(world):
    account = world.globex_jp  # Asia/Tokyo: 12:00 UTC on 10 March is 21:00 on 10 March
    account.pii_retention_days = 1
    account.save()
    # 8 March 15:00 UTC is 9 March 00:00 in Tokyo, the first instant kept.
    first_kept = order(account, "1", datetime(2026, 3, 8, 15, 0, tzinfo=UTC))
    last_redacted = order(account, "2", datetime(2026, 3, 8, 14, 59, tzinfo=UTC))
    run_retention(account, now=NOW)
    assert kept(first_kept) and redacted(last_redacted)


def test_redaction_is_idempotent_and_logged_with_counts(world, eager_celery):
    account = world.acme_us
    account.pii_retention_days = 30
    account.save()
    old = [order(account, f"O{n}", NOW - timedelta(days=60 + n)) for n in range(3)]
    first = run_retention(account)
    stamped = [SalesOrder.objects.get(pk=o.pk).pii_redacted_at for o in old]
    second = run_retention(account)
    assert (first.status, first.trigger, first.job_type, first.counts) == (
        "success",
        "schedule",
        "pii_retention",
        {"redacted": 3},
    )
    assert "API, manual and imported orders: 3 redacted" in first.messages[0]
    assert "America/New_York" in first.messages[0]
    assert second.counts == {"redacted": 0}
    assert "0 redacted" in second.messages[0]
    assert [SalesOrder.objects.get(pk=o.pk).pii_redacted_at for o in old] == stamped


def test_non_pii_fields_are_untouched(world):
    account = world.acme_us
    account.pii_retention_days = 1
    account.save()
    o = order(account, "X", NOW - timedelta(days=5), hold_reason="Check address", status="on_hold")
    o.lines.create(line_number=1, sku="A", quantity=2, name="Widget")
    fields = [
        f.attname for f in SalesOrder._meta.concrete_fields if f.name not in (*PII_FIELDS, "pii_redacted_at")
    ]
    before = SalesOrder.objects.filter(pk=o.pk).values(*fields).get()
    run_retention(account, now=NOW)
    assert redacted(o)
    assert SalesOrder.objects.filter(pk=o.pk).values(*fields).get() == before
    assert list(o.lines.values_list("sku", "quantity", "name")) == [("A", 2, "Widget")]


def test_small_batches_redact_everything_and_only_the_account_own_orders(world):
    from orders.retention import redact_past_retention

    for account in (world.acme_us, world.acme_eu):
        account.pii_retention_days = 1
        account.save()
    mine = [order(world.acme_us, f"M{n}", NOW - timedelta(days=3)) for n in range(7)]
    theirs = order(world.acme_eu, "T", NOW - timedelta(days=3))
    assert redact_past_retention(world.acme_us, NOW, batch_size=2)[0][2] == 7
    assert all(redacted(o) for o in mine) and kept(theirs)


def test_redacted_values_show_as_redacted_in_the_api_and_on_the_page(world, api, client_for):
    account = world.acme_us
    account.pii_retention_days = 1
    account.save()
    o = order(account, "X", NOW - timedelta(days=5))
    run_retention(account, now=NOW)
    body = api(account).get(f"/api/v1/sales-orders/{o.pk}/").json()
    assert {body[f] for f in PII_FIELDS} == {REDACTED}
    page = client_for(world.account_user, account).get(f"/sales-orders/{o.pk}/").content.decode()
    assert "Ann Smith" not in page
    assert '<p data-testid="customer">[redacted]<br>[redacted]<br>[redacted]</p>' in page
