"""The order workflows' steps on the orders themselves, one implementation for the
automatic path and for a person or REST client processing orders by hand: validate,
allocate (units reserved in the ledger at the order's warehouse), hold with a reason,
mark sent, cancel. Sending itself is a channel job run by the engine
(automations.workflows), so every send is a JobRun in the job log.

Each step is recorded as a SalesOrderEvent / PurchaseOrderEvent naming who or what did it.
Cancel applies to documents the portal still holds (not yet sent); a sales order's
reservation then goes back to available through the ledger.
"""

from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, User
from catalog.models import AdjustmentReason, AdjustmentSource, InventoryLevel
from catalog.services import LedgerContext, adjust_inventory, products_by_sku
from channels.connectors import connector_class, connector_for
from channels.connectors.base import Connector, ConnectorError
from channels.models import WarehouseMapping
from channels.platforms import ChannelKind

from .models import (
    EventAction,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderStatus,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
    SalesOrderStatus,
)

# A held order is processed again once its cause is fixed; an allocated one whose send
# never happened (worker lost mid-way) is sent.
PROCESSABLE_STATUSES = (SalesOrderStatus.PENDING, SalesOrderStatus.ON_HOLD, SalesOrderStatus.ALLOCATED)
SO_WORKFLOW = "Automatic Sales Order Workflow"
PO_WORKFLOW = "Automatic Purchase Order Workflow"


# A sent order is the warehouse's to ship (unless its connector cancels it there first, see
# cancel_sales_order), and a shipped one is gone: otherwise only orders still in the
# portal's hands are cancelled here.
CANCELLABLE_STATUSES = (SalesOrderStatus.PENDING, SalesOrderStatus.ON_HOLD, SalesOrderStatus.ALLOCATED)


class WorkflowConflict(Exception):
    """The document's state does not allow the step asked for (a person's stale page, an
    API call on a sent order); the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who processes: a person (user set), a REST client, or the automatic workflow."""

    name: str
    user: User | None = None
    # The Automatic Sales/Purchase Order Workflow, as opposed to someone processing by hand.
    automatic: bool = False

    @property
    def ledger_source(self) -> str:
        if self.automatic:
            return AdjustmentSource.SYSTEM
        return AdjustmentSource.MANUAL if self.user else AdjustmentSource.API


def automatic_workflow(name: str) -> Actor:
    return Actor(name, automatic=True)


def fulfillment_routes(account: Account) -> dict[int, object]:
    """Warehouse id → the active fulfillment channel mapping it (the oldest channel if
    several do, so the choice is stable)."""
    routes = {}
    for mapping in (
        WarehouseMapping.objects.filter(
            channel__account=account, channel__kind=ChannelKind.FULFILLMENT, channel__is_active=True
        )
        .select_related("channel")
        .order_by("channel_id")
    ):
        routes.setdefault(mapping.warehouse_id, mapping.channel)
    return routes


# Sales orders ------------------------------------------------------------------------------


def record_sales_workflow_off(order_ids) -> None:
    """New orders of an account whose Automatic Sales Order Workflow is off: their history
    says why nothing happens to them (one INSERT however many an import brought)."""
    detail = "Off for this account: the order waits in Pending until someone processes it."
    SalesOrderEvent.objects.bulk_create(
        SalesOrderEvent(order_id=pk, action=EventAction.WAITING, actor_name=SO_WORKFLOW, detail=detail)
        for pk in order_ids
    )


def validate_and_allocate(account: Account, order_id: int, actor: Actor, routes: dict, counts: Counter):
    """The fulfillment channel to send the order to, once allocated; None if it was held
    or is not processable. One transaction: an order is held or allocated, never half."""
    with transaction.atomic():
        order = (
            SalesOrder.objects.select_for_update()
            .filter(account=account, pk=order_id, status__in=PROCESSABLE_STATUSES)
            .first()
        )
        if order is None:
            counts["skipped"] += 1
            return None
        lines = list(order.lines.select_for_update(of=("self",)).select_related("product"))
        if order.status == SalesOrderStatus.ALLOCATED and order.warehouse_id in routes:
            return routes[order.warehouse_id]
        _release(order, lines, actor)
        problems = _problems(account, order, lines)
        if problems:
            return _hold(order, " ".join(problems), actor, counts)
        record_sales_event(order, EventAction.VALIDATED, actor, "Lines, quantities and address are complete.")
        warehouse = _warehouse_for(order)
        if warehouse is None:
            return _hold(order, "No warehouse: set the account's default warehouse.", actor, counts)
        channel = routes.get(warehouse.pk)
        if channel is None:
            reason = f"No active fulfillment channel maps warehouse {warehouse.code}."
            return _hold(order, reason, actor, counts)
        shortage = _shortage(warehouse, lines)
        if shortage:
            return _hold(order, f"Insufficient stock at {warehouse.code}: {shortage}.", actor, counts)
        ledger = LedgerContext(
            AdjustmentReason.ALLOCATION, actor.ledger_source, actor=actor.user, note=f"Order {order.number}"
        )
        # Product order, as _shortage locked them: two orders never wait on each other.
        for line in sorted(lines, key=lambda li: li.product_id):
            adjust_inventory(line.product, warehouse, 0, ledger, reserved=line.quantity)
            line.quantity_reserved = line.quantity
        SalesOrderLine.objects.bulk_update(lines, ["quantity_reserved"])
        order.status = SalesOrderStatus.ALLOCATED
        order.warehouse = warehouse
        order.hold_reason = ""
        order.save(update_fields=["status", "warehouse", "hold_reason", "updated_at"])
        reserved = ", ".join(f"{li.sku} × {li.quantity}" for li in lines)
        record_sales_event(order, EventAction.ALLOCATED, actor, f"Reserved {reserved} at {warehouse.code}.")
        return channel


def _problems(account: Account, order: SalesOrder, lines: list[SalesOrderLine]) -> list[str]:
    problems = []
    if not lines:
        problems.append("The order has no lines.")
    # A product created since the order arrived counts: link its lines now.
    unlinked = [li for li in lines if li.product_id is None]
    products = products_by_sku(account, [li.sku for li in unlinked])
    for line in unlinked:
        line.product = products.get(line.sku.upper())
        if line.product:
            SalesOrderLine.objects.filter(pk=line.pk).update(product=line.product)
    unknown = [li.sku for li in lines if li.product is None]
    if unknown:
        problems.append(f"Unknown SKU {', '.join(unknown)}: create the product, then process the order.")
    zero = [li.sku for li in lines if li.quantity <= 0]
    if zero:
        problems.append(f"Quantity 0 on {', '.join(zero)}.")
    missing = [
        label
        for label, value in (
            ("address", order.ship_address1),
            ("city", order.ship_city),
            ("country", order.ship_country),
        )
        if not value.strip()
    ]
    if missing:
        problems.append(f"Shipping address incomplete: no {', '.join(missing)}.")
    return problems


def _warehouse_for(order: SalesOrder):
    """The order's own warehouse; else the one its sales channel maps (the account's
    default if it is among them, otherwise the first by location); else the default."""
    if order.warehouse_id:
        return order.warehouse
    default = order.account.default_warehouse
    if order.channel_id:
        mapped = [m.warehouse for m in order.channel.warehouse_mappings.select_related("warehouse")]
        if mapped:
            return default if default in mapped else mapped[0]
    return default


def _shortage(warehouse, lines: list[SalesOrderLine]) -> str:
    needed = Counter()
    for line in lines:
        needed[line.product_id] += line.quantity
    levels = {
        lv.product_id: lv
        for lv in InventoryLevel.objects.select_for_update()
        .filter(warehouse=warehouse, product_id__in=list(needed))
        .order_by("product_id")
    }
    short = []
    for product_id, quantity in needed.items():
        level = levels.get(product_id)
        available = level.on_hand - level.reserved if level else 0
        if quantity > available:
            sku = next(li.sku for li in lines if li.product_id == product_id)
            short.append(f"{sku} needs {quantity}, {max(available, 0)} available")
    return "; ".join(short)


def _release(order: SalesOrder, lines: list[SalesOrderLine], actor: Actor) -> None:
    """Give back what the order holds reserved (before a hold or a new allocation)."""
    held = [li for li in lines if li.quantity_reserved and li.product_id]
    if not held or order.warehouse_id is None:
        return
    ledger = LedgerContext(
        AdjustmentReason.ALLOCATION,
        actor.ledger_source,
        actor=actor.user,
        note=f"Order {order.number} released",
    )
    for line in sorted(held, key=lambda li: li.product_id):
        adjust_inventory(line.product, order.warehouse, 0, ledger, reserved=-line.quantity_reserved)
        line.quantity_reserved = 0
    SalesOrderLine.objects.bulk_update(held, ["quantity_reserved"])
    released = ", ".join(f"{li.sku} × {li.quantity}" for li in held)
    record_sales_event(order, EventAction.RELEASED, actor, f"Released {released} at {order.warehouse.code}.")


def _hold(order: SalesOrder, reason: str, actor: Actor, counts: Counter) -> None:
    if hold_sales_order(order, reason, actor):
        counts["held"] += 1


def hold_sales_order(order: SalesOrder, reason: str, actor: Actor) -> bool:
    """Put the order On Hold and say why in its history; not if it was cancelled
    meanwhile (a cancelled order stays cancelled). The one way an order is held, by the
    workflow or by Send Orders."""
    with transaction.atomic():
        held = (
            SalesOrder.objects.filter(pk=order.pk)
            .exclude(status=SalesOrderStatus.CANCELLED)
            .update(status=SalesOrderStatus.ON_HOLD, hold_reason=reason[:255], updated_at=timezone.now())
        )
        if held:
            order.status, order.hold_reason = SalesOrderStatus.ON_HOLD, reason[:255]
            record_sales_event(order, EventAction.HELD, actor, reason)
    return bool(held)


def record_sales_event(order: SalesOrder, action: str, actor: Actor, detail: str) -> None:
    SalesOrderEvent.objects.create(
        order=order, action=action, actor=actor.user, actor_name=actor.name, detail=detail[:500]
    )


def settle_after_send(order_id: int, channel_name: str, failure: str, actor: Actor, counts: Counter) -> None:
    """After a send run of an allocated order: count it sent, or give back the stock of
    one the channel refused (Send Orders held it) or never received (held here)."""
    with transaction.atomic():
        # Lock the order only: warehouse is nullable (an outer join), which PostgreSQL
        # refuses to lock.
        order = (
            SalesOrder.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=order_id)
        )
        if order.status == SalesOrderStatus.SENT:
            counts["sent"] += 1  # Send Orders wrote it into the history as it sent it
            return
        if order.status == SalesOrderStatus.CANCELLED:
            # Cancelled by someone while the send was on its way: Send Orders left it
            # out, and the cancel already gave its stock back.
            counts["cancelled"] += 1
            return
        lines = list(order.lines.select_for_update(of=("self",)).select_related("product"))
        if order.status == SalesOrderStatus.ON_HOLD:
            # Send Orders held it (the channel refused it) and said why: free the stock.
            counts["held"] += 1
            _release(order, lines, actor)
            return
        # Still allocated: the run never reached the channel (failed or skipped).
        reason = f"{channel_name} could not be reached: {failure or 'the send did not run'}"
        _release(order, lines, actor)
        _hold(order, reason, actor, counts)


def mark_sales_orders_sent(accepted: list[tuple], statuses, channel, actor: Actor) -> set[int]:
    """Mark orders the fulfillment channel accepted as Sent, each with its history entry,
    in one transaction; `accepted`: (order, external id, warehouse id, history detail)
    each. Only orders still in `statuses` are marked (one cancelled while the request was
    on its way stays Cancelled); the ids of those marked."""
    if not accepted:
        return set()
    now = timezone.now()
    with transaction.atomic():
        still = set(
            SalesOrder.objects.select_for_update()
            .filter(pk__in=[order.pk for order, *_ in accepted], status__in=statuses)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        marked = [item for item in accepted if item[0].pk in still]
        # What all share in one UPDATE, each order's own id at the channel and warehouse
        # in another (bulk_update's CASE per order and field costs more than the writes).
        shared = {"status": SalesOrderStatus.SENT, "hold_reason": "", "sent_at": now, "updated_at": now}
        SalesOrder.objects.filter(pk__in=still).update(fulfillment_channel=channel, **shared)
        for order, external_id, warehouse_id, _ in marked:
            order.fulfillment_channel, order.fulfillment_external_id = channel, external_id
            order.warehouse_id = warehouse_id
            for name, value in shared.items():
                setattr(order, name, value)
        SalesOrder.objects.bulk_update(
            [order for order, *_ in marked], ["fulfillment_external_id", "warehouse"]
        )
        SalesOrderEvent.objects.bulk_create(
            SalesOrderEvent(
                order=order,
                action=EventAction.SENT,
                actor=actor.user,
                actor_name=actor.name,
                detail=detail[:500],
            )
            for order, _, _, detail in marked
        )
    return still


def mark_purchase_order_sent(po: PurchaseOrder, channel, external_id: str, actor: Actor, detail: str) -> bool:
    """The same for a purchase order still Open."""
    with transaction.atomic():
        sent = _mark_sent(
            PurchaseOrder.objects.filter(pk=po.pk, status=PurchaseOrderStatus.OPEN),
            channel,
            external_id,
            status=PurchaseOrderStatus.SENT,
        )
        if sent:
            record_purchase_event(po, EventAction.SENT, actor, detail)
    return sent


def _mark_sent(still_as_read, channel, external_id: str, **changes) -> bool:
    now = timezone.now()
    return bool(
        still_as_read.update(
            fulfillment_channel=channel,
            fulfillment_external_id=external_id,
            sent_at=now,
            updated_at=now,
            **changes,
        )
    )


REASON_MAX = 255


def cancel_sales_order(order: SalesOrder, actor: Actor, reason: str = "") -> SalesOrder:
    """Cancel an order still in the portal's hands (`order` already scoped by the caller),
    or a sent one whose fulfillment channel cancels it first (not yet picked there).
    What it holds reserved goes back to available through the ledger, which announces the
    change, so Inventory Real-Time Updates push the new quantity like any other change."""
    reason = _checked_reason(reason)
    order = SalesOrder.objects.select_related("fulfillment_channel").get(pk=order.pk)
    statuses, at_channel = CANCELLABLE_STATUSES, ""
    if order.status == SalesOrderStatus.SENT and channel_cancels(order):
        # Outside the row lock: the platform's answer may take seconds.
        at_channel = _cancel_at_channel(order)
        statuses = (SalesOrderStatus.SENT,)
    with transaction.atomic():
        order = (
            SalesOrder.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=order.pk)
        )
        if order.status not in statuses:
            if at_channel:
                raise WorkflowConflict(
                    f"{at_channel}, but order {order.number} became {order.get_status_display()} "
                    "here meanwhile: it stays so."
                )
            raise WorkflowConflict(_not_cancellable(order))
        _release(order, list(order.lines.select_for_update(of=("self",)).select_related("product")), actor)
        order.status = SalesOrderStatus.CANCELLED
        order.hold_reason = ""
        order.save(update_fields=["status", "hold_reason", "updated_at"])
        detail = reason or "Cancelled; no reason given."
        if at_channel:
            detail = f"{at_channel} and here: {detail}"
        record_sales_event(order, EventAction.CANCELLED, actor, detail)
    return order


def channel_cancels(order: SalesOrder) -> bool:
    """The order was sent to a channel whose connector can cancel it there."""
    channel = order.fulfillment_channel
    if channel is None:
        return False
    return connector_class(channel.platform).cancel_fulfillment is not Connector.cancel_fulfillment


def sales_order_cancellable(order: SalesOrder) -> bool:
    """Whether Cancel is offered: still in the portal's hands, or sent to a channel that
    may still cancel it (the channel decides when asked)."""
    return order.status in CANCELLABLE_STATUSES or (
        order.status == SalesOrderStatus.SENT and channel_cancels(order)
    )


def _cancel_at_channel(order: SalesOrder) -> str:
    """Cancel the order at its fulfillment channel; the history's words for it, or
    WorkflowConflict saying why it could not be."""
    channel = order.fulfillment_channel
    shipment = order.fulfillment_external_id
    try:
        cancelled = connector_for(channel).cancel_fulfillment(order.reference, shipment)
    except ConnectorError as error:
        raise WorkflowConflict(f"{channel.name} could not cancel order {order.number}: {error}") from None
    if not cancelled:
        raise WorkflowConflict(
            f"{channel.name} already picked order {order.number} (shipment {shipment}): it can no "
            f"longer be cancelled, and stays Sent here. Its reservation is released as its shipment arrives."
        )
    return f"Cancelled at {channel.name} (shipment {shipment})"


def _not_cancellable(order: SalesOrder) -> str:
    if order.status == SalesOrderStatus.SENT:
        channel = order.fulfillment_channel.name if order.fulfillment_channel_id else "fulfillment"
        return (
            f"Order {order.number} was sent to {channel}, which may already be picking it: only "
            f"{channel} can stop it now. Its reservation is released as its shipment arrives."
        )
    return f"A {order.get_status_display()} order cannot be cancelled."


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"Enter at most {REASON_MAX} characters ({len(reason)} given)."]})
    return reason


# Purchase orders ----------------------------------------------------------------------------


def record_purchase_workflow_off(po_ids) -> None:
    """New purchase orders of an account whose Automatic Purchase Order Workflow is off."""
    detail = "Off for this account: the purchase order waits, Open, until someone sends it."
    PurchaseOrderEvent.objects.bulk_create(
        PurchaseOrderEvent(
            purchase_order_id=pk, action=EventAction.WAITING, actor_name=PO_WORKFLOW, detail=detail
        )
        for pk in po_ids
    )


def cancel_purchase_order(po: PurchaseOrder, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Cancel a purchase order not yet sent (`po` already scoped by the caller). Nothing is
    reserved for a purchase order, so the ledger does not change."""
    reason = _checked_reason(reason)
    with transaction.atomic():
        po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
        if not po.sendable:
            raise WorkflowConflict(_po_not_cancellable(po))
        po.status = PurchaseOrderStatus.CANCELLED
        po.save(update_fields=["status", "updated_at"])
        record_purchase_event(po, EventAction.CANCELLED, actor, reason or "Cancelled; no reason given.")
    return po


def _po_not_cancellable(po: PurchaseOrder) -> str:
    if po.fulfillment_channel_id and po.status == PurchaseOrderStatus.SENT:
        # The warehouse expects the goods: receipts would still arrive and add stock.
        return (
            f"Purchase order {po.number} was sent to {po.fulfillment_channel.name}, which expects "
            f"the goods: only {po.fulfillment_channel.name} can cancel it now."
        )
    return f"A {po.get_status_display()} purchase order cannot be cancelled."


def record_purchase_event(po: PurchaseOrder, action: str, actor: Actor, detail: str) -> None:
    PurchaseOrderEvent.objects.create(
        purchase_order=po, action=action, actor=actor.user, actor_name=actor.name, detail=detail[:500]
    )


# Shipments -------------------------------------------------------------------------------


def release_shipped(order: SalesOrder, order_line: SalesOrderLine, quantity: int) -> int:
    """Units shipped no longer need their reservation: how many of what the line holds
    at the order's warehouse to give back for `quantity` shipped, taken off the line (the
    caller saves the line and writes the release to the ledger)."""
    release = min(quantity, order_line.quantity_reserved)
    if release and order_line.product_id and order.warehouse_id:
        order_line.quantity_reserved -= release
        return release
    return 0
