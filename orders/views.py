"""Pages of the current account's sales and purchase orders: lists, details with history,
the Process buttons (one document or the selected ones) of the order workflows, and Cancel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.middleware import current_account_access
from automations import progress, tasks
from automations.models import ProgressKind
from automations.outbox import send_on_commit
from automations.progress_views import watched_url
from oms.ids import parse_id

from .models import PurchaseOrder, PurchaseOrderStatus, SalesOrder, SalesOrderStatus
from .workflow import (
    PROCESSABLE_STATUSES,
    Actor,
    WorkflowConflict,
    cancel_purchase_order,
    cancel_sales_order,
    sales_order_cancellable,
)

PAGE_SIZE = 100


def _editor(request):
    """The current account's access if this person may process orders; 403 otherwise."""
    access = current_account_access(request)
    if not access.can_edit_settings:
        raise PermissionDenied("Account Users have read-only access.")
    return access


def _posted_ids(request, field: str, queryset) -> list[int]:
    """The posted ids (`field` repeated), all of them in `queryset` (the account's);
    an id of another account is not found (404), like its page."""
    wanted = {parse_id(v) for v in request.POST.getlist(field)}
    if None in wanted:
        raise Http404("Unknown document.")
    ids = list(queryset.filter(pk__in=wanted).values_list("pk", flat=True))
    if not wanted or len(ids) != len(wanted):
        raise Http404("Unknown document.")
    return ids


def _queue(request, task, ids: list[int], noun: str, kind: ProgressKind) -> str:
    """Send the task with a Progress row its page watches; the query string that shows it."""
    account_id, user_id = request.account.pk, request.user.pk
    watched = progress.start(request.account, kind, len(ids), "Queued")
    send_on_commit(task, account_id, ids, user_id, "", watched.pk)
    messages.success(request, f"{len(ids)} {noun}(s) queued for processing; their history shows the outcome.")
    return f"?progress={watched.token}"


def _cancel(request, cancel, document) -> None:
    """Run a cancel service for the signed-in person; refusals become page messages."""
    actor = Actor(request.user.email, request.user)
    try:
        cancel(document, actor, request.POST.get("reason", ""))
    except WorkflowConflict as refusal:
        messages.error(request, str(refusal))
    except ValidationError as invalid:
        messages.error(request, " ".join(m for ms in invalid.message_dict.values() for m in ms))
    else:
        messages.success(request, f"{document.number} is cancelled.")


# Sales orders -----------------------------------------------------------------------------


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
            "progress_url": watched_url(request),
        },
    )


@login_required
def sales_order_detail(request, order_id):
    access = current_account_access(request)
    order = get_object_or_404(
        SalesOrder.objects.select_related("channel", "warehouse", "fulfillment_channel"),
        account=access.account,
        pk=order_id,
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
            "can_cancel": sales_order_cancellable(order) and access.can_edit_settings,
        },
    )


@login_required
@require_POST
def process_sales_orders(request):
    """Process the posted orders (`order` repeated) in the background, as the automatic
    workflow would."""
    access = _editor(request)
    ids = _posted_ids(request, "order", SalesOrder.objects.filter(account=access.account))
    watch = _queue(request, tasks.process_sales_orders, ids, "order", ProgressKind.SALES_ORDERS)
    if len(ids) == 1 and request.POST.get("next") == "detail":
        return redirect("sales_order_detail", ids[0])
    return redirect(reverse("sales_order_list") + watch)


@login_required
@require_POST
def cancel_sales_order_view(request, order_id):
    access = _editor(request)
    order = get_object_or_404(SalesOrder, account=access.account, pk=order_id)
    _cancel(request, cancel_sales_order, order)
    return redirect("sales_order_detail", order.pk)


# Purchase orders --------------------------------------------------------------------------


def _filtered_purchase_orders(request, account):
    """The account's purchase orders narrowed by the list's filters; unknown values are
    ignored (the filter shows All), like the sales order list's status."""
    pos = PurchaseOrder.objects.filter(account=account).select_related("warehouse", "fulfillment_channel")
    filters = {}
    status = request.GET.get("status")
    if status in PurchaseOrderStatus.values:
        pos, filters["status"] = pos.filter(status=status), status
    warehouse = parse_id(request.GET.get("warehouse"))
    if warehouse and account.warehouses.filter(pk=warehouse).exists():
        pos, filters["warehouse"] = pos.filter(warehouse_id=warehouse), warehouse
    number = request.GET.get("q", "").strip()
    if number:
        pos, filters["q"] = pos.filter(number__icontains=number), number
    return pos, filters


@login_required
def purchase_order_list(request):
    if request.account is None:
        return render(request, "accounts/select_account.html")
    pos, filters = _filtered_purchase_orders(request, request.account)
    return render(
        request,
        "orders/purchase_order_list.html",
        {
            "purchase_orders": pos[:PAGE_SIZE],
            "filters": filters,
            "statuses": PurchaseOrderStatus.choices,
            "warehouses": request.account.warehouses.order_by("code"),
            "can_process": request.account_access.can_edit_settings,
            "progress_url": watched_url(request),
        },
    )


@login_required
def purchase_order_detail(request, po_id):
    access = current_account_access(request)
    po = get_object_or_404(
        PurchaseOrder.objects.select_related("warehouse", "fulfillment_channel"),
        account=access.account,
        pk=po_id,
    )
    sendable = po.sendable and access.can_edit_settings
    return render(
        request,
        "orders/purchase_order_detail.html",
        {
            "po": po,
            "lines": po.lines.all(),
            "receipts": po.receipts.select_related("warehouse", "channel").prefetch_related("lines"),
            "events": po.events.all(),
            "can_process": sendable,
            "can_cancel": sendable,
        },
    )


@login_required
@require_POST
def process_purchase_orders(request):
    """Send the posted purchase orders (`purchase_order` repeated) in the background, as
    the Automatic Purchase Order Workflow would."""
    access = _editor(request)
    ids = _posted_ids(request, "purchase_order", PurchaseOrder.objects.filter(account=access.account))
    watch = _queue(request, tasks.send_purchase_orders, ids, "purchase order", ProgressKind.PURCHASE_ORDERS)
    if len(ids) == 1 and request.POST.get("next") == "detail":
        return redirect("purchase_order_detail", ids[0])
    return redirect(reverse("purchase_order_list") + watch)


@login_required
@require_POST
def cancel_purchase_order_view(request, po_id):
    access = _editor(request)
    po = get_object_or_404(PurchaseOrder, account=access.account, pk=po_id)
    _cancel(request, cancel_purchase_order, po)
    return redirect("purchase_order_detail", po.pk)
