"""Pages of the current account's sales orders (read-only for now; the workflows that
act on them arrive with the account workflows)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .models import SalesOrder, SalesOrderStatus

PAGE_SIZE = 100


@login_required
def sales_order_list(request):
    if request.account is None:
        return render(request, "accounts/select_account.html")
    orders = SalesOrder.objects.filter(account=request.account).select_related(
        "channel", "fulfillment_channel"
    )
    status = request.GET.get("status")
    if status in SalesOrderStatus.values:
        orders = orders.filter(status=status)
    return render(
        request,
        "orders/sales_order_list.html",
        {"orders": orders[:PAGE_SIZE], "statuses": SalesOrderStatus.choices, "status": status},
    )


@login_required
def sales_order_detail(request, order_id):
    if request.account is None:
        raise Http404("Select an account first.")
    order = get_object_or_404(
        SalesOrder.objects.select_related("channel", "warehouse"), account=request.account, pk=order_id
    )
    return render(
        request,
        "orders/sales_order_detail.html",
        {"order": order, "lines": order.lines.all(), "shipments": order.shipments.prefetch_related("lines")},
    )
