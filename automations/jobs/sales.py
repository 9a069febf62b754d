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
from orders.services import announce_sales_orders, mark_tracking_exported, store_sales_order
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
    fetched = ctx.connector.import_orders(ctx.ids, since=ctx.since)
    ctx.report.absorb(fetched)
    known = set(
        SalesOrder.objects.filter(
            channel=ctx.channel, external_id__in=[o.external_id for o in fetched.items]
        ).values_list("external_id", flat=True)
    )
    products = products_by_sku(ctx.account, {line.sku for o in fetched.items for line in o.lines})
    # Orders an earlier attempt stored but never announced (its worker died before the
    # end of the run): still Pending with no history at all, so no workflow heard of them.
    created = list(
        SalesOrder.objects.filter(
            channel=ctx.channel, external_id__in=known, status=SalesOrderStatus.PENDING, events__isnull=True
        ).values_list("pk", flat=True)
    )
    for order in ctx.track(fetched.items):
        if order.cancelled:
            _cancelled_at_channel(ctx, order, known)
            continue
        if order.external_id in known:
            ctx.report.counts["already_imported"] += 1
            continue
        check = carrier_check(ctx, ValidationDocument.SALES_ORDERS, order, f"Order {order.number}")
        if check is None:
            continue
        lines = [
            {"sku": li.sku, "name": li.name, "quantity": li.quantity, "unit_price": li.unit_price}
            for li in order.lines
        ]
        try:
            with transaction.atomic():
                stored = store_sales_order(
                    ctx.account,
                    lines,
                    products,
                    channel=ctx.channel,
                    source=OrderSource.CHANNEL,
                    external_id=order.external_id,
                    validation_warnings=check.warnings_for_record(),
                    **{f: getattr(order, f) for f in ORDER_FIELDS},
                )
        except IntegrityError:
            # Another run stored it between our read and this write.
            ctx.report.counts["already_imported"] += 1
            continue
        except ValidationError as refusal:
            ctx.report.counts["rejected"] += 1
            ctx.report.note(f"Order {order.number} was refused: {' '.join(refusal.messages)}")
            continue
        created.append(stored.pk)
        ctx.report.counts["imported"] += 1
        unknown = [line.sku for line in order.lines if line.sku.upper() not in products]
        if unknown:
            ctx.report.note(f"Order {order.number}: unknown SKU {', '.join(unknown)}.")
    announce_sales_orders(ctx.account.pk, created)
    ctx.keep_cursor(fetched)


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
