"""oms.ids: what counts as an id from a query string or a form."""

import pytest
from django.http import Http404

from accounts.models import Warehouse
from oms.ids import BIGINT_MAX, get_by_id_or_404, parse_id


@pytest.mark.parametrize("value", ["1", "42", str(BIGINT_MAX), 7])
def test_ids_are_positive_decimal_numbers_within_bigint(value):
    assert parse_id(value) == int(value)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "²", "١٢", "-1", "0", "1.5", " 1", "1e3", str(BIGINT_MAX + 1), "9" * 400, None, True, 0],
)
def test_anything_else_is_no_id(value):
    assert parse_id(value) is None


@pytest.mark.django_db
def test_a_value_that_is_no_id_is_a_404_not_a_query(world):
    with pytest.raises(Http404):
        get_by_id_or_404(Warehouse.objects.all(), "²")
    warehouse = Warehouse.objects.first()
    assert get_by_id_or_404(Warehouse.objects.all(), str(warehouse.pk)) == warehouse


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/sales-orders/{}/", "/channels/{}/", "/organizations/{}/", "/api/v1/warehouses/{}/"]
)
def test_an_id_past_bigint_in_a_url_is_a_404(client, world, path):
    client.force_login(world.org_admin)
    assert client.get(path.format(BIGINT_MAX + 1)).status_code == 404
    assert client.get(path.format("0")).status_code == 404
