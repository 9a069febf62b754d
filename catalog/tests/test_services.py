"""Level changes in a batch (adjust_inventory_many): the ledger as if made one by one."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import AdjustmentReason, AdjustmentSource, InventoryAdjustment, InventoryLevel, Product
from catalog.services import LedgerContext, LevelChange, adjust_inventory, adjust_inventory_many
from catalog.signals import inventory_changed

pytestmark = pytest.mark.django_db

CONTEXT = LedgerContext(AdjustmentReason.SHIPMENT, AdjustmentSource.CHANNEL, note="Order 1")


@pytest.fixture
def stock(world):
    account = world.acme_us
    products = [Product.objects.create(account=account, sku=sku, name=sku) for sku in ("A", "B")]
    return products, world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]


def ledger() -> list[tuple]:
    return list(
        InventoryAdjustment.objects.order_by("id").values_list(
            "product__sku",
            "warehouse__code",
            "quantity",
            "reserved_quantity",
            "on_hand_after",
            "reserved_after",
        )
    )


def test_a_batch_writes_each_change_with_its_running_level_as_one_after_another_would(stock):
    (a, b), wh1, wh2 = stock
    adjust_inventory(a, wh1, 10, CONTEXT)
    entries = adjust_inventory_many(
        [
            LevelChange(a, wh1, 0, CONTEXT, reserved=-2),
            LevelChange(a, wh1, -2, CONTEXT),
            LevelChange(b, wh1, 0, CONTEXT),  # nothing changes: no entry
            LevelChange(b, wh2, 4, CONTEXT),
            LevelChange(a, wh1, -3, CONTEXT),
        ]
    )
    assert entries[2] is None and all(e.pk for n, e in enumerate(entries) if n != 2)
    assert ledger() == [
        ("A", "WH1", 10, 0, 10, 0),
        ("A", "WH1", 0, -2, 10, -2),
        ("A", "WH1", -2, 0, 8, -2),
        ("B", "WH2", 4, 0, 4, 0),
        ("A", "WH1", -3, 0, 5, -2),
    ]
    levels = {
        (lv.product.sku, lv.warehouse.code): (lv.on_hand, lv.reserved) for lv in InventoryLevel.objects.all()
    }
    assert levels == {("A", "WH1"): (5, -2), ("B", "WH2"): (4, 0)}


def test_a_batch_announces_its_changes_once_per_warehouse(stock, django_capture_on_commit_callbacks):
    (a, b), wh1, wh2 = stock
    heard = []

    def hear(sender, account_id, product_ids, warehouse_ids, **kwargs):
        heard.append((sorted(product_ids), tuple(warehouse_ids)))

    inventory_changed.connect(hear)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            adjust_inventory_many(
                [
                    LevelChange(a, wh1, 1, CONTEXT),
                    LevelChange(b, wh1, 2, CONTEXT),
                    LevelChange(a, wh2, 3, CONTEXT),
                ]
            )
    finally:
        inventory_changed.disconnect(hear)
    assert sorted(heard, key=lambda h: h[1]) == [(sorted([a.pk, b.pk]), (wh1.pk,)), ([a.pk], (wh2.pk,))]


def test_a_batch_with_a_change_out_of_range_stores_none_of_it(stock):
    (a, b), wh1, _ = stock
    adjust_inventory(a, wh1, 2**31 - 2, CONTEXT)
    with pytest.raises(ValidationError):
        adjust_inventory_many([LevelChange(b, wh1, 5, CONTEXT), LevelChange(a, wh1, 5, CONTEXT)])
    assert ledger() == [("A", "WH1", 2**31 - 2, 0, 2**31 - 2, 0)]
    assert not InventoryLevel.objects.filter(product=b).exists()
    assert InventoryLevel.objects.get(product=a).on_hand == 2**31 - 2
