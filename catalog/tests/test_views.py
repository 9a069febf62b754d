"""Product and inventory pages: the account's units, its own stock and ledger only."""

import pytest

from catalog.models import AdjustmentReason, AdjustmentSource, Product
from catalog.services import LedgerContext, adjust_inventory

pytestmark = pytest.mark.django_db


def test_products_are_shown_in_the_accounts_units(client_for, world):
    account = world.acme_us
    account.size_unit, account.volume_unit, account.weight_unit = "in", "in3", "oz"
    account.save()
    Product.objects.create(
        account=account, sku="BOX", name="Box", length_mm=254, width_mm=254, height_mm=254, weight_g=283.5
    )
    page = client_for(world.account_user, account).get("/products/").content.decode()
    assert "10.00 × 10.00 × 10.00" in page and "1000.00" in page and "10.00" in page and "Ounce" in page


def test_inventory_shows_only_this_accounts_levels_and_ledger(client_for, world):
    mine = Product.objects.create(account=world.acme_us, sku="MINE", name="m")
    theirs = Product.objects.create(account=world.globex_jp, sku="THEIRS", name="t")
    context = LedgerContext(AdjustmentReason.MANUAL, AdjustmentSource.MANUAL, note="first count")
    adjust_inventory(mine, world.warehouses["ACME-US-1"], 4, context)
    adjust_inventory(theirs, world.warehouses["GLOBEX-1"], 9, context)
    page = client_for(world.account_user, world.acme_us).get("/inventory/").content.decode()
    assert "MINE" in page and "first count" in page and "THEIRS" not in page
