"""Sales channel jobs: Import Orders brings orders in; Export Inventory and Export
Tracking tell the channel what it can sell and what was shipped."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.models import ValidationDocument
from catalog.selectors import available_stock
from catalog.services import products_by_sku
from channels.connectors.base import Line, TrackingUpdate
from channels.platforms import JobType
from orders.models import PII_FIELDS, OrderSource, SalesOrder, SalesOrderStatus, Shipment
from orders.services import (
    announce_sales_orders,
    mark_tracking_exported,
    prepare_sales_order,
    save_sales_orders,
)
from orders.workflow import WorkflowConflict, cancel_sales_order

from ..actors import job_actor
from .common import carrier_check
from .runner import JobContext, handles

# The order fields a platform's order record carries as they are: the customer's (PII)
# and the rest.
ORDER_FIELDS = (
    *PII_FIELDS,
    "number",
    "ordered_at",
    "currency",
    "ship_country",
    "carrier_code",
    "service_code",
)


@handles(JobType.IMPORT_ORDERS)
def import_orders(ctx: JobContext) -> None:
    """Page by page as the platform hands them on: each page stored, announced to the
    workflows and its cursor kept before the next is taken, so a read that fails later
    keeps what was done and memory holds a few pages (the one stored, those read ahead)."""
    for page in ctx.track_pages(ctx.connector.import_order_pages(ctx.ids, since=ctx.since)):
        ctx.report.absorb(page)
        _import_page(ctx, page.items)
        ctx.keep_cursor(page)


def _import_page(ctx: JobContext, orders: list) -> None:
    known = set(
        SalesOrder.objects.filter(
            channel=ctx.channel, external_id__in=[o.external_id for o in orders]
        ).values_list("external_id", flat=True)
    )
    products = products_by_sku(ctx.account, {line.sku for o in orders for line in o.lines})
    # Orders an earlier attempt stored but never announced (its worker died before the
    # end of the run): still Pending with no history at all, so no workflow heard of them.
    unannounced = list(
        SalesOrder.objects.filter(
            channel=ctx.channel, external_id__in=known, status=SalesOrderStatus.PENDING, events__isnull=True
        ).values_list("pk", flat=True)
    )
    prepared, cancelled = [], []
    for order in orders:
        if order.cancelled:
            cancelled.append(order)  # once the orders before it are stored
        elif order.external_id in known:
            ctx.report.counts["already_imported"] += 1
        else:
            new = _prepared(ctx, order, products)
            if new is not None:
                prepared.append((order, new))
                known.add(order.external_id)
    stored = _store(ctx, prepared, unannounced)
    ctx.report.counts["imported"] += len(stored)
    for order, _ in prepared:
        unknown = [line.sku for line in order.lines if line.sku.upper() not in products]
        if unknown and order.external_id in stored:
            ctx.report.note(f"Order {order.number}: unknown SKU {', '.join(unknown)}.")
    for order in cancelled:
        _cancelled_at_channel(ctx, order, known)


def _prepared(ctx: JobContext, order, products: dict):
    """The portal's order and lines for a channel order, unsaved; None when the API
    validation rules or the amounts refuse it (counted and noted)."""
    check = carrier_check(ctx, ValidationDocument.SALES_ORDERS, order, f"Order {order.number}")
    if check is None:
        return None
    lines = [
        {"sku": li.sku, "name": li.name, "quantity": li.quantity, "unit_price": li.unit_price}
        for li in order.lines
    ]
    try:
        return prepare_sales_order(
            ctx.account,
            lines,
            products,
            channel=ctx.channel,
            source=OrderSource.CHANNEL,
            external_id=order.external_id,
            validation_warnings=check.warnings_for_record(),
            **{f: getattr(order, f) for f in ORDER_FIELDS},
        )
    except ValidationError as refusal:
        ctx.report.counts["rejected"] += 1
        ctx.report.note(f"Order {order.number} was refused: {' '.join(refusal.messages)}")
        return None


def _store(ctx: JobContext, prepared: list, unannounced: list[int]) -> set[str]:
    """Save a page's new orders in one transaction and announce them (with the page's
    orders a dead attempt stored) once it commits; the external ids stored. When another
    run stored one of them between our read and this write, the page is saved order by
    order instead, each in its own transaction, and the taken ones are counted as known."""
    try:
        with transaction.atomic():
            saved = save_sales_orders([new for _, new in prepared])
            announce_sales_orders(ctx.account.pk, [*unannounced, *(o.pk for o in saved)])
        return {o.external_id for o in saved}
    except IntegrityError:
        pass
    stored = set()
    for order, new in prepared:
        _unsaved(new)
        try:
            with transaction.atomic():
                saved = save_sales_orders([new])
        except IntegrityError:
            ctx.report.counts["already_imported"] += 1
            continue
        stored.add(order.external_id)
        unannounced.append(saved[0].pk)
    announce_sales_orders(ctx.account.pk, unannounced)
    return stored


def _unsaved(prepared) -> None:
    """Forget the ids a rolled-back insert may have given the objects."""
    order, lines = prepared
    order.pk = None
    for line in lines:
        line.pk = None


def _cancelled_at_channel(ctx: JobContext, incoming, known: set[str]) -> None:
    """An order cancelled at the channel: the portal's order is cancelled through the
    orders workflow (its reservation released, its history told); a cancelled order
    never seen before is not imported."""
    if incoming.external_id not in known:
        ctx.report.counts["cancelled_before_import"] += 1
        return
    order = SalesOrder.objects.get(channel=ctx.channel, external_id=incoming.external_id)
    if order.status == SalesOrderStatus.CANCELLED:
        ctx.report.counts["already_cancelled"] += 1
        return
    try:
        cancel_sales_order(order, job_actor(ctx.run), f"Cancelled in {ctx.channel.name}.")
    except WorkflowConflict as refusal:
        ctx.report.note(f"Order {order.number} was cancelled in {ctx.channel.name}, but not here: {refusal}")
        return
    ctx.report.counts["cancelled"] += 1


@handles(JobType.EXPORT_INVENTORY)
def export_inventory(ctx: JobContext) -> None:
    pushed = ctx.connector.export_inventory(available_stock(ctx.channel))
    ctx.report.absorb(pushed)
    ctx.report.counts.update(pushed.counts)
    for outcome in pushed.outcomes:
        if outcome.result == "rejected":
            ctx.report.note(f"{outcome.key}: {outcome.error}")


@handles(JobType.EXPORT_TRACKING)
def export_tracking(ctx: JobContext) -> None:
    shipments = list(
        Shipment.objects.filter(sales_order__channel=ctx.channel, tracking_exported_at__isnull=True)
        .exclude(tracking_number="")
        .annotate(units=Sum("lines__quantity"))
        .filter(units__gt=0)
        .select_related("sales_order")
        .prefetch_related("lines")
    )
    updates = {
        f"SH-{s.pk}": (
            s,
            TrackingUpdate(
                reference=f"SH-{s.pk}",
                order_external_id=s.sales_order.external_id,
                carrier_code=s.carrier_code,
                service_code=s.service_code,
                tracking_number=s.tracking_number,
                lines=tuple(Line(sku=li.sku, quantity=li.quantity) for li in s.lines.all() if li.quantity),
            ),
        )
        for s in shipments
    }
    pushed = ctx.connector.export_tracking([u for _, u in updates.values()])
    ctx.report.absorb(pushed)
    exported = []
    for outcome in pushed.outcomes:
        shipment = updates[outcome.key][0]
        if outcome.ok:
            exported.append(shipment.pk)
            ctx.report.counts["exported" if outcome.result == "created" else "already_known"] += 1
        else:
            ctx.report.counts["rejected"] += 1
            ctx.report.note(f"Tracking of order {shipment.sales_order.number} was refused: {outcome.error}")
    mark_tracking_exported(exported)
