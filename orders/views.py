"""Pages of the current account's sales orders: list, detail with history, and the
Process buttons (one order or the selected ones) of the sales order workflow."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.middleware import current_account_access

from .models import SalesOrder, SalesOrderStatus
from .workflow import PROCESSABLE_STATUSES

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
        {
            "orders": orders[:PAGE_SIZE],
            "statuses": SalesOrderStatus.choices,
            "status": status,
            "processable": PROCESSABLE_STATUSES,
            "can_process": request.account_access.can_edit_settings,
        },
    )


@login_required
def sales_order_detail(request, order_id):
    access = current_account_access(request)
    order = get_object_or_404(
        SalesOrder.objects.select_related("channel", "warehouse"), account=access.account, pk=order_id
    )
    return render(
        request,
        "orders/sales_order_detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "shipments": order.shipments.prefetch_related("lines"),
            "events": order.events.all(),
            "can_process": order.status in PROCESSABLE_STATUSES and access.can_edit_settings,
        },
    )


@login_required
@require_POST
def process_sales_orders(request):
    """Process the posted orders (`order` repeated) in the background, as the automatic
    workflow would; ids of other accounts are not found (404), like their pages."""
    if not current_account_access(request).can_edit_settings:
        raise PermissionDenied("Account Users have read-only access.")
    try:
        wanted = {int(v) for v in request.POST.getlist("order")}
    except ValueError:
        raise Http404("Unknown order.") from None
    ids = list(SalesOrder.objects.filter(account=request.account, pk__in=wanted).values_list("pk", flat=True))
    if not wanted or len(ids) != len(wanted):
        raise Http404("Unknown order.")
    from .tasks import process_sales_orders as task

    account_id, user = request.account.pk, request.user
    transaction.on_commit(lambda: task.delay(account_id, ids, user.pk))
    messages.success(request, f"{len(ids)} order(s) queued for processing; their history shows the outcome.")
    if len(ids) == 1 and request.POST.get("next") == "detail":
        return redirect("sales_order_detail", ids[0])
    return redirect("sales_order_list")
