"""Pages of the current account's products (in its units) and inventory with its ledger."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import InventoryAdjustment, InventoryLevel, Product

PAGE_SIZE = 200


@login_required
def product_list(request):
    if request.account is None:
        return render(request, "accounts/select_account.html")
    account = request.account
    products = Product.objects.filter(account=account).select_related("source_channel")[:PAGE_SIZE]
    rows = [(p, p.dimensions_in(account)) for p in products]
    return render(request, "catalog/product_list.html", {"rows": rows, "account": account})


@login_required
def inventory(request):
    if request.account is None:
        return render(request, "accounts/select_account.html")
    account = request.account
    levels = InventoryLevel.objects.filter(product__account=account).select_related("product", "warehouse")
    ledger = InventoryAdjustment.objects.filter(account=account).select_related(
        "product", "warehouse", "channel", "actor"
    )[:50]
    return render(request, "catalog/inventory.html", {"levels": levels[:PAGE_SIZE], "ledger": ledger})
