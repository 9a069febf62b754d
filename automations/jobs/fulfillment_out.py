"""Fulfillment channel jobs that send documents to the warehouse: Send Orders and Send
Purchase Orders. A document the warehouse accepted is marked sent with its history entry
in one transaction (orders.workflow; Send Orders marks a batch of SEND_BATCH orders in
one); one it refused is held (orders) or noted (POs)."""

from django.db.models import Q

from channels.connectors.base import FulfillmentRequest, Line, PurchaseOrderRequest
from channels.platforms import JobType
from orders.models import (
    SENDABLE_STATUSES,
    EventAction,
    PurchaseOrder,
    PurchaseOrderStatus,
    SalesOrder,
    SalesOrderStatus,
)
from orders.workflow import (
    PO_WORKFLOW,
    SO_WORKFLOW,
    hold_sales_order,
    mark_purchase_order_sent,
    mark_sales_orders_sent,
    record_purchase_event,
)

from ..actors import job_actor
from .common import count_waiting, reference_pks
from .runner import JobContext, handles

# Orders read, sent and marked sent at a time: a run holds no more than these, and the
# marks of a batch are one transaction.
SEND_BATCH = 100


@handles(JobType.SEND_ORDERS)
def send_orders(ctx: JobContext) -> None:
    mapped = ctx.warehouse_to_location()
    default_warehouse = ctx.account.default_warehouse_id
    unsent = SalesOrder.objects.filter(account=ctx.account, fulfillment_channel__isnull=True).filter(
        Q(warehouse_id__in=list(mapped)) | Q(warehouse__isnull=True)
    )
    if ctx.account.auto_sales_order_workflow:
        statuses = SENDABLE_STATUSES
    else:
        # With the workflow off a new order waits in Pending for a person (the documents'
        # order workflow): only orders someone processed (validated and allocated) go.
        statuses = (SalesOrderStatus.ALLOCATED,)
        if ctx.ids is None:
            count_waiting(ctx, unsent.filter(status=SalesOrderStatus.PENDING), "order", SO_WORKFLOW)
    candidates = unsent.filter(status__in=statuses).order_by("ordered_at", "pk")
    if ctx.ids is not None:
        # The order workflows (automations.workflows) send exactly the orders they allocated.
        candidates = candidates.filter(pk__in=reference_pks(ctx.ids, "SO"))
    actor = job_actor(ctx.run)
    ids = list(candidates.values_list("pk", flat=True))
    for start in range(0, len(ids), SEND_BATCH):
        chunk = candidates.filter(pk__in=ids[start : start + SEND_BATCH]).prefetch_related("lines")
        if not _send_batch(ctx, chunk, mapped, default_warehouse, statuses, actor):
            break


def _send_batch(ctx: JobContext, orders, mapped: dict, default_warehouse, statuses, actor) -> bool:
    """Send these orders and mark those accepted as sent; False when the platform failed
    part-way (the run stops there: what was done counts)."""
    requests, sending = [], {}
    for order in orders:
        warehouse_id = order.warehouse_id or default_warehouse
        if warehouse_id not in mapped:
            continue
        lines = list(order.lines.all())
        unknown = [li.sku for li in lines if li.product_id is None]
        if unknown:
            reason = f"Unknown SKU {', '.join(unknown)}: create the product, then release the order."
            hold_sales_order(order, reason, actor)
            ctx.report.counts["held"] += 1
            ctx.report.note(f"Order {order.number} is on hold: unknown SKU {', '.join(unknown)}.")
            continue
        sending[order.reference] = (order, warehouse_id)
        requests.append(_fulfillment_request(order, mapped[warehouse_id], lines))
    if not requests:
        return True
    pushed = ctx.connector.send_orders(requests)
    ctx.report.absorb(pushed)
    accepted = []
    for outcome in pushed.outcomes:
        order, warehouse_id = sending[outcome.key]
        if not outcome.ok:
            hold_sales_order(order, f"{ctx.channel.name} refused the order: {outcome.error}", actor)
            ctx.report.counts["held"] += 1
            ctx.report.note(f"Order {order.number} is on hold: {outcome.error}")
            continue
        accepted.append((order, outcome, warehouse_id))
    marked = mark_sales_orders_sent(
        [(order, o.external_id, warehouse_id, _sent_detail(ctx, o)) for order, o, warehouse_id in accepted],
        statuses,
        ctx.channel,
        actor,
    )
    for order, outcome, _ in accepted:
        _count_sent(ctx, order.pk in marked, f"Order {order.number}", outcome)
    return not pushed.stopped_by


def _fulfillment_request(order: SalesOrder, location: str, lines) -> FulfillmentRequest:
    return FulfillmentRequest(
        reference=order.reference,
        location=location,
        lines=tuple(Line(sku=li.sku, quantity=li.quantity, name=li.name) for li in lines),
        carrier_code=order.carrier_code,
        service_code=order.service_code,
        ship_to={
            "name": order.customer_name,
            "phone": order.customer_phone,
            "address1": order.ship_address1,
            "address2": order.ship_address2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postal_code": order.ship_postal_code,
            "country": order.ship_country,
        },
    )


def _sent_detail(ctx: JobContext, outcome) -> str:
    return f"Sent to {ctx.channel.name} as {outcome.external_id} (job run {ctx.run.pk})."


def _count_sent(ctx: JobContext, sent: bool, label: str, outcome) -> None:
    if sent:
        ctx.report.counts["sent"] += 1
    else:
        # Cancelled while the request was on its way: it stays Cancelled here.
        ctx.report.note(
            f"{label} was cancelled while {ctx.channel.name} received it "
            f"(as {outcome.external_id}): cancel it there too."
        )


@handles(JobType.SEND_PURCHASE_ORDERS)
def send_purchase_orders(ctx: JobContext) -> None:
    mapped = ctx.warehouse_to_location()
    candidates = PurchaseOrder.objects.filter(
        account=ctx.account,
        status=PurchaseOrderStatus.OPEN,
        fulfillment_channel__isnull=True,
        warehouse_id__in=list(mapped),
    ).prefetch_related("lines")
    if ctx.ids is not None:
        # The purchase order workflow sends exactly the purchase orders it was given.
        candidates = candidates.filter(pk__in=reference_pks(ctx.ids, "PO"))
    elif not ctx.account.auto_purchase_order_workflow:
        # With the workflow off a purchase order waits until a person sends it, which
        # names it (ids above): a purchase order has no "processed" state to wait in.
        count_waiting(ctx, candidates, "purchase order", PO_WORKFLOW)
        candidates = candidates.none()
    actor = job_actor(ctx.run)
    pos = {po.reference: po for po in candidates}
    pushed = ctx.connector.send_purchase_orders(
        [
            PurchaseOrderRequest(
                reference=po.reference,
                number=po.number,
                location=mapped[po.warehouse_id],
                lines=tuple(Line(sku=li.sku, quantity=li.quantity) for li in po.lines.all()),
                expected_at=po.expected_at,
                carrier_code=po.carrier_code,
                service_code=po.service_code,
            )
            for po in pos.values()
        ]
    )
    ctx.report.absorb(pushed)
    for outcome in pushed.outcomes:
        po = pos[outcome.key]
        if outcome.ok:
            sent = mark_purchase_order_sent(
                po, ctx.channel, outcome.external_id, actor, _sent_detail(ctx, outcome)
            )
            _count_sent(ctx, sent, f"Purchase order {po.number}", outcome)
        else:
            ctx.report.counts["rejected"] += 1
            ctx.report.note(f"Purchase order {po.number} was refused: {outcome.error}")
            if ctx.ids is None:  # the purchase order workflow says why it did not send
                record_purchase_event(po, EventAction.NOT_SENT, actor, f"{ctx.channel.name}: {outcome.error}")
