"""No input breaks the API or a later read: what the database would not bound is bounded
by the API (digits, ranges, lengths, NUL characters, dates, JSON types), and refused with
400 naming the field, nothing stored, on SQLite and PostgreSQL alike. Each test below
was a 500 or a stored row that broke later reads before."""

import pytest

from automations import services as automations
from automations.models import ChannelAutomation
from catalog.models import InventoryLevel, Product
from orders.models import SalesOrder, SalesOrderStatus

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/sales-orders/"


def errors(response) -> dict[str, list[str]]:
    """The envelope's field errors as {field: [code, …]}."""
    body = response.json()
    assert body["code"] == "validation_error", body
    return {field: [e["code"] for e in found] for field, found in body["errors"].items()}


def send(key_client, method, path, body, content_type="application/json"):
    return key_client.generic(method, path, body, content_type=content_type)


@pytest.fixture
def key_client(api, records):
    """A test client with the API key of ACME-US (the records' account)."""
    return api(records.account)


def test_an_order_whose_total_would_not_fit_is_refused_and_the_orders_stay_readable(key_client, records):
    order = {"number": "BIG", "lines": [{"sku": "SKU-1", "quantity": 2_000_000, "unit_price": "9999999.99"}]}
    response = key_client.post(ORDERS, order, content_type="application/json")
    assert response.status_code == 400
    assert errors(response) == {"lines": ["max_digits"]}
    assert not SalesOrder.objects.filter(number="BIG").exists()
    assert key_client.get(ORDERS).status_code == 200
    assert key_client.get(f"{ORDERS}{records.order.pk}/").status_code == 200


@pytest.mark.parametrize(
    "line, field, code",
    [
        ({"sku": "SKU-1", "quantity": 1, "unit_price": "1e20"}, "lines.0.unit_price", "max_digits"),
        ({"sku": "SKU-1", "quantity": 1, "unit_price": "0.001"}, "lines.0.unit_price", "max_decimal_places"),
        ({"sku": "SKU-1", "quantity": 2**31}, "lines.0.quantity", "max_value"),
        ({"sku": "SKU-1", "quantity": -1}, "lines.0.quantity", "min_value"),
        ({"sku": "SKU\x00", "quantity": 1}, "lines.0.sku", "null_characters_not_allowed"),
        ({"sku": "S" * 65, "quantity": 1}, "lines.0.sku", "max_length"),
        ({"sku": "SKU-1", "quantity": "1"}, "lines.0.quantity", "invalid_type"),
    ],
)
def test_an_order_line_out_of_bounds_is_refused_naming_it(key_client, line, field, code):
    response = key_client.post(ORDERS, {"number": "X", "lines": [line]}, content_type="application/json")
    assert response.status_code == 400
    assert errors(response) == {field: [code]}
    assert not SalesOrder.objects.filter(number="X").exists()


@pytest.mark.parametrize(
    "ordered_at",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2101-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ],
)
def test_an_order_dated_outside_the_accepted_years_is_refused(key_client, ordered_at):
    order = {"number": "OLD", "ordered_at": ordered_at, "lines": [{"sku": "SKU-1", "quantity": 1}]}
    response = key_client.post(ORDERS, order, content_type="application/json")
    assert response.status_code == 400
    assert list(errors(response)) == ["ordered_at"]
    assert not SalesOrder.objects.filter(number="OLD").exists()


@pytest.mark.parametrize("body", ["5", "[1, 2]", '"jobs"', "null", "true"])
def test_recurring_jobs_refuse_a_body_that_is_not_an_object(key_client, records, body):
    version = automations.recurring_jobs_version(records.account)
    response = send(key_client, "PATCH", "/api/v1/recurring-jobs/", body)
    assert response.status_code == 400
    assert errors(response) == {"non_field_errors": ["not_an_object"]}
    assert automations.recurring_jobs_version(records.account) == version


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({"jobs": [1]}, "jobs", "invalid_type"),
        ({"jobs": {"import_orders": 5}}, "jobs.import_orders.non_field_errors", "invalid"),
        ({"jobs": {}, "version": "x"}, "version", "invalid_type"),
        ({"jobs": {}, "version": 2**40}, "version", "max_value"),
        (
            {"jobs": {"import_orders": {"enabled": True, "period_minutes": 7}}},
            "jobs.import_orders.period_minutes",
            "invalid_choice",
        ),
    ],
)
def test_recurring_jobs_name_the_field_of_a_bad_setting(key_client, records, body, field, code):
    response = key_client.patch("/api/v1/recurring-jobs/", body, content_type="application/json")
    assert response.status_code == 400
    assert errors(response) == {field: [code]}


@pytest.mark.parametrize(
    "body, field, code",
    [
        ("[1, 2]", "non_field_errors", "not_an_object"),
        ('{"jobs": [{"job_type": "import_orders"}]}', "jobs", "invalid_type"),
        ('{"mode": "webhook", "version": [1]}', "version", "invalid_type"),
        ('{"mode": "\\u0000"}', "mode", "invalid_choice"),
    ],
)
def test_channel_jobs_refuse_a_body_of_the_wrong_shape(key_client, records, body, field, code):
    response = send(key_client, "PATCH", f"/api/v1/channels/{records.beta.pk}/jobs/", body)
    assert response.status_code == 400
    assert errors(response) == {field: [code]}
    assert not ChannelAutomation.objects.filter(channel=records.beta).exists()


def test_channel_jobs_keep_the_services_own_codes(key_client, records):
    response = key_client.patch(
        f"/api/v1/channels/{records.threepl.pk}/jobs/", {"mode": "webhook"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert errors(response) == {"mode": ["stable_channel"]}


ODD_BODIES = [
    ("5", "application/json", 400),
    ("[1]", "application/json", 400),
    ('"cancel"', "application/json", 400),
    ("null", "application/json", 400),
    ("{", "application/json", 400),
    ('{"reason": 5}', "application/json", 400),
    ('{"reason": "\\u0000"}', "application/json", 400),
    ("reason=x", "application/x-www-form-urlencoded", 415),
]


@pytest.mark.parametrize("body, content_type, status", ODD_BODIES)
def test_cancel_refuses_an_odd_body_and_changes_nothing(key_client, records, body, content_type, status):
    response = send(key_client, "POST", f"{ORDERS}{records.order.pk}/cancel/", body, content_type)
    assert response.status_code == status
    assert response.json()["code"] in ("validation_error", "parse_error", "unsupported_media_type")
    records.order.refresh_from_db()
    assert records.order.status != SalesOrderStatus.CANCELLED


@pytest.mark.parametrize("body, content_type, status", ODD_BODIES)
def test_process_ignores_any_body_and_queues_the_order_once(
    key_client, records, body, content_type, status, django_capture_on_commit_callbacks
):
    pending = SalesOrder.objects.get(pk=records.order.pk)
    pending.status = SalesOrderStatus.PENDING
    pending.save()
    with django_capture_on_commit_callbacks() as queued:
        response = send(key_client, "POST", f"{ORDERS}{pending.pk}/process/", body, content_type)
    assert (response.status_code, response.json()) == (202, {"queued": [pending.pk]})
    assert len(queued) == 1


def test_a_nul_character_in_a_filter_is_400_not_a_database_error(key_client):
    for path in (
        "/api/v1/products/?sku=a%00b",
        "/api/v1/inventory/?sku=%00",
        "/api/v1/warehouses/?search=%00",
    ):
        response = key_client.get(path)
        assert response.status_code == 400, path
        assert list(errors(response).values()) == [["null_characters_not_allowed"]]


def test_a_filter_of_the_wrong_type_is_400(key_client):
    assert errors(key_client.get("/api/v1/job-runs/?channel=²")) == {"channel": ["invalid"]}
    assert errors(key_client.get("/api/v1/inventory/?warehouse=x")) == {"warehouse": ["invalid"]}
    assert errors(key_client.get("/api/v1/channels/?kind=")) == {"kind": ["invalid_choice"]}
    assert errors(key_client.get("/api/v1/audit-log/?since=0001-01-01T00:00:00%2B14:00"))


@pytest.mark.parametrize(
    "values, field, code",
    [
        ({"length": "99999999"}, "length", "max_whole_digits"),
        ({"weight": "1e30"}, "weight", "max_whole_digits"),
        ({"description": "x" * 10_001}, "description", "max_length"),
        ({"name": "a\x00b"}, "name", "null_characters_not_allowed"),
        ({"is_active": 0}, "is_active", "invalid_type"),
        ({"price": "123456789012.5"}, "price", "max_digits"),
    ],
)
def test_a_product_out_of_bounds_is_refused_and_not_stored(key_client, values, field, code):
    response = key_client.post(
        "/api/v1/products/", {"sku": "NEW", "name": "New", **values}, content_type="application/json"
    )
    assert response.status_code == 400
    assert errors(response) == {field: [code]}
    assert not Product.objects.filter(sku="NEW").exists()


def test_the_largest_product_accepted_in_inches_is_read_back_in_centimetres(key_client, records):
    account = records.account
    account.size_unit, account.volume_unit = "in", "in3"
    account.save()
    body = {
        "sku": "TALL",
        "name": "Tall",
        "length": "9999999.999",
        "width": "9999999.999",
        "height": "9999999.999",
    }
    assert key_client.post("/api/v1/products/", body, content_type="application/json").status_code == 201
    account.size_unit, account.volume_unit = "cm", "cm3"
    account.save()
    assert key_client.get("/api/v1/products/?sku=TALL").json()["results"][0]["length"] == "25400000.00"


def test_a_stock_change_that_would_leave_the_storable_range_is_refused(key_client, records):
    adjustment = {"product": records.product.pk, "warehouse": records.world.warehouses["ACME-US-1"].pk}
    response = key_client.post(
        "/api/v1/inventory/adjustments/",
        {**adjustment, "quantity": 2**31 - 1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert errors(response) == {"quantity": ["out_of_range"]}
    assert (
        InventoryLevel.objects.get(product=records.product, warehouse=adjustment["warehouse"]).on_hand == 10
    )


def test_channel_settings_out_of_bounds_are_refused(key_client, records):
    path = f"/api/v1/channels/{records.shop.pk}/"
    assert errors(
        key_client.patch(path, {"buffer_stock": 2**31, "version": 1}, content_type="application/json")
    ) == {"buffer_stock": ["max_value"]}
    assert errors(
        key_client.patch(path, {"credentials": {"api_key": 5}}, content_type="application/json")
    ) == {"credentials": ["invalid_type"]}
    records.shop.refresh_from_db()
    assert (records.shop.buffer_stock, records.shop.version) == (0, 1)


def test_a_page_or_size_that_is_not_a_whole_number_from_1_is_400_and_a_large_size_is_cut(key_client, records):
    assert errors(key_client.get("/api/v1/products/?page_size=0")) == {"page_size": ["min_value"]}
    assert errors(key_client.get("/api/v1/products/?page_size=x")) == {"page_size": ["invalid"]}
    assert errors(key_client.get("/api/v1/products/?page=")) == {"page": ["invalid"]}
    assert key_client.get("/api/v1/products/?page=2").status_code == 404
    Product.objects.bulk_create(Product(account=records.account, sku=f"P{n}", name="P") for n in range(210))
    assert len(key_client.get("/api/v1/products/?page_size=500").json()["results"]) == 200


@pytest.mark.parametrize("depth", [33, 100_000])
@pytest.mark.parametrize(
    "method, path",
    [("post", "/api/v1/sales-orders/"), ("patch", "/api/v1/account/"), ("post", "/api/v1/products/")],
)
def test_a_body_nested_too_deeply_is_a_400_on_every_write(key_client, records, method, path, depth):
    body = '{"lines": ' + "[" * depth + "]" * depth + "}"
    response = send(key_client, method, path, body)
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "parse_error"
    assert "nested deeper than 32 levels" in response.json()["message"]
    assert not SalesOrder.objects.filter(account=records.account).exclude(pk__in=[records.order.pk]).exists()
