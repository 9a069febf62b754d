"""REST endpoints of sales orders, purchase orders, shipments and receipts of the account."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api_base import AccountScopedViewSet
from accounts.models import User, Warehouse
from automations import tasks
from automations.outbox import send_on_commit
from oms.api_errors import error_responses
from oms.api_input import ApiModelSerializer, ApiSerializer

from . import services, workflow
from .models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
)
from .workflow import PROCESSABLE_STATUSES


class SalesOrderLineSerializer(ApiModelSerializer):
    class Meta:
        model = SalesOrderLine
        fields = ["line_number", "product", "sku", "name", "quantity", "quantity_shipped", "unit_price"]
        read_only_fields = ["line_number", "product", "quantity_shipped"]


class SalesOrderEventSerializer(ApiModelSerializer):
    class Meta:
        model = SalesOrderEvent
        fields = ["at", "actor_name", "action", "detail"]
        read_only_fields = fields


class PurchaseOrderEventSerializer(ApiModelSerializer):
    class Meta:
        model = PurchaseOrderEvent
        fields = ["at", "actor_name", "action", "detail"]
        read_only_fields = fields


class SalesOrderSerializer(ApiModelSerializer):
    lines = SalesOrderLineSerializer(many=True)
    # The workflow's history: who or what validated, allocated, sent or held it, and why.
    history = SalesOrderEventSerializer(source="events", many=True, read_only=True)

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "number",
            "channel",
            "source",
            "external_id",
            "status",
            "hold_reason",
            "ordered_at",
            "currency",
            "total",
            "customer_name",
            "customer_email",
            "customer_phone",
            "ship_address1",
            "ship_address2",
            "ship_city",
            "ship_region",
            "ship_postal_code",
            "ship_country",
            "carrier_code",
            "service_code",
            "validation_warnings",
            "warehouse",
            "fulfillment_channel",
            "sent_at",
            "lines",
            "history",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "channel",
            "source",
            "external_id",
            "status",
            "hold_reason",
            "total",
            "validation_warnings",
            "warehouse",
            "fulfillment_channel",
            "sent_at",
            "created_at",
        ]
        extra_kwargs = {"ordered_at": {"required": False}}


class ScopedRelationsMixin:
    """Related documents and warehouses offered to a write: this account's only."""

    scoped = {}

    def get_fields(self):
        fields = super().get_fields()
        account = getattr(self.context.get("view"), "account", None)
        for name, model in self.scoped.items():
            fields[name] = serializers.PrimaryKeyRelatedField(
                queryset=model.objects.filter(account=account) if account else model.objects.none(),
                required=fields[name].required,
                allow_null=fields[name].allow_null,
            )
        return fields


class PurchaseOrderLineSerializer(ApiModelSerializer):
    class Meta:
        model = PurchaseOrderLine
        fields = ["line_number", "product", "sku", "quantity", "quantity_received"]
        read_only_fields = ["line_number", "product", "quantity_received"]


class PurchaseOrderSerializer(ScopedRelationsMixin, ApiModelSerializer):
    lines = PurchaseOrderLineSerializer(many=True)
    history = PurchaseOrderEventSerializer(source="events", many=True, read_only=True)
    scoped = {"warehouse": Warehouse}

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "supplier",
            "warehouse",
            "status",
            "expected_at",
            "carrier_code",
            "service_code",
            "validation_warnings",
            "fulfillment_channel",
            "sent_at",
            "lines",
            "history",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "validation_warnings",
            "fulfillment_channel",
            "sent_at",
            "created_at",
        ]
        validators = []


class ShipmentLineSerializer(ApiModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = ["sku", "product", "quantity"]
        read_only_fields = ["product"]


class ShipmentSerializer(ScopedRelationsMixin, ApiModelSerializer):
    lines = ShipmentLineSerializer(many=True)
    scoped = {"sales_order": SalesOrder, "warehouse": Warehouse}

    class Meta:
        model = Shipment
        fields = [
            "id",
            "sales_order",
            "channel",
            "external_id",
            "warehouse",
            "carrier_code",
            "service_code",
            "tracking_number",
            "shipped_at",
            "tracking_exported_at",
            "validation_warnings",
            "lines",
        ]
        read_only_fields = ["id", "channel", "external_id", "tracking_exported_at", "validation_warnings"]
        extra_kwargs = {"shipped_at": {"required": False}}


class ReceiptLineSerializer(ApiModelSerializer):
    class Meta:
        model = ReceiptLine
        fields = ["sku", "product", "quantity"]
        read_only_fields = ["product"]


class ReceiptSerializer(ScopedRelationsMixin, ApiModelSerializer):
    lines = ReceiptLineSerializer(many=True)
    scoped = {"purchase_order": PurchaseOrder, "warehouse": Warehouse}

    class Meta:
        model = Receipt
        fields = [
            "id",
            "purchase_order",
            "channel",
            "external_id",
            "warehouse",
            "carrier_code",
            "service_code",
            "tracking_number",
            "received_at",
            "validation_warnings",
            "lines",
        ]
        read_only_fields = ["id", "channel", "external_id", "validation_warnings"]
        extra_kwargs = {
            "received_at": {"required": False},
            "purchase_order": {"required": True, "allow_null": False},
            "warehouse": {"required": False},
        }


def workflow_actor(actor) -> workflow.Actor:
    """A person is named in the history; an API key is "API" (it is no person)."""
    return workflow.Actor(actor.email, actor) if isinstance(actor, User) else workflow.Actor("API")


def enqueue_on_commit(task, account_id: int, ids: list[int], actor) -> None:
    """A person is named in the history; an API key is "API" (it is no person)."""
    user_id = actor.pk if isinstance(actor, User) else None
    name = "" if user_id else "API"
    send_on_commit(task, account_id, ids, user_id, name)


class StateConflict(exceptions.APIException):
    """The document's state refuses the action (already sent, cancelled, …)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "invalid_state"


QUEUED = inline_serializer(
    "Queued", {"queued": serializers.ListField(child=serializers.IntegerField(), help_text="Ids queued.")}
)
STATE_CONFLICT = error_responses(
    409, description="The document's state refuses the action (`invalid_state`); nothing was changed."
)


class CancelSerializer(ApiSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=workflow.REASON_MAX, help_text="Kept in the history."
    )


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    model = None
    related = ()

    def cancel_with(self, cancel):
        """Cancel this document through `cancel` (a workflow service) and answer it."""
        document = self.get_object()
        # The reason is optional: a bare POST (no body, no content type) cancels too.
        has_body = int(self.request.META.get("CONTENT_LENGTH") or 0) > 0
        serializer = CancelSerializer(data=self.request.data if has_body else {})
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "")
        try:
            document = cancel(document, workflow_actor(self.actor), reason)
        except workflow.WorkflowConflict as refusal:
            raise StateConflict(str(refusal)) from None
        return Response(self.get_serializer(document).data)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.filter(account=self.account).prefetch_related(*self.related)


class CreateDocumentMixin:
    """POST stores one document through its service; API validation rules apply (Error →
    400 naming the field with the rule's code, nothing stored; Warning → stored, and the
    warnings are in the response and on the record)."""

    create_service = None

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = type(self).create_service(self.account, serializer.validated_data, **self.service_kwargs())
        return Response(self.get_serializer(document).data, status=status.HTTP_201_CREATED)

    def service_kwargs(self) -> dict:
        return {}


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "An order of two lines",
                value={
                    "number": "WEB-1001",
                    "ordered_at": "2026-03-03T12:00:00Z",
                    "currency": "USD",
                    "customer_name": "Jane Doe",
                    "ship_address1": "1 Main St",
                    "ship_city": "Newark",
                    "ship_postal_code": "07102",
                    "ship_country": "US",
                    "carrier_code": "UPS",
                    "service_code": "03",
                    "lines": [
                        {"sku": "SKU-1", "quantity": 2, "unit_price": "9.99"},
                        {"sku": "GIFT-CARD", "name": "Gift card", "quantity": 1, "unit_price": "25.00"},
                    ],
                },
                request_only=True,
            )
        ]
    )
)
class SalesOrderViewSet(CreateDocumentMixin, ScopedReadViewSet):
    """Sales orders; POST creates one (API validation rules apply)."""

    model = SalesOrder
    related = ("lines", "events")
    serializer_class = SalesOrderSerializer
    create_service = services.create_sales_order

    @extend_schema(request=None, responses={202: QUEUED, **STATE_CONFLICT})
    @action(detail=True, methods=["post"])
    def process(self, request, pk=None):
        """Validate, allocate and send this order in the background (as the Automatic
        Sales Order Workflow would); 202, its history tells the outcome. 409 unless it is
        Pending, On Hold or Allocated."""
        order = self.get_object()
        if order.status not in PROCESSABLE_STATUSES:
            raise StateConflict(f"A {order.get_status_display()} order is not processed again.")
        enqueue_on_commit(tasks.process_sales_orders, self.account.pk, [order.pk], self.actor)
        return Response({"queued": [order.pk]}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=CancelSerializer, responses={200: SalesOrderSerializer, **STATE_CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel this Pending, On Hold or Allocated order: its reserved units become
        available again (and are pushed to sales channels with real-time updates on). A
        Sent order is cancelled at its fulfillment channel first when that channel can
        (Tryton, before it is picked); otherwise 409: only the channel can stop it then."""
        return self.cancel_with(workflow.cancel_sales_order)


class PurchaseOrderViewSet(CreateDocumentMixin, ScopedReadViewSet):
    """Purchase orders; POST creates one for a warehouse of the account (Send Purchase Orders
    sends it; API validation rules apply)."""

    model = PurchaseOrder
    related = ("lines", "events")
    serializer_class = PurchaseOrderSerializer
    create_service = services.create_purchase_order

    @extend_schema(request=None, responses={202: QUEUED, **STATE_CONFLICT})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Send this Open purchase order to its warehouse's fulfillment channel in the
        background; 202, its history tells the outcome. 409 once it was sent."""
        po = self.get_object()
        if not po.sendable:
            raise StateConflict(f"A {po.get_status_display()} purchase order is not sent again.")
        enqueue_on_commit(tasks.send_purchase_orders, self.account.pk, [po.pk], self.actor)
        return Response({"queued": [po.pk]}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=CancelSerializer, responses={200: PurchaseOrderSerializer, **STATE_CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel this purchase order while it is Open and not sent; 409 once it was sent
        (the warehouse expects the goods)."""
        return self.cancel_with(workflow.cancel_purchase_order)


class ShipmentViewSet(CreateDocumentMixin, ScopedReadViewSet):
    """Shipments; POST records one of a sales order of the account (API validation rules apply)."""

    model = Shipment
    related = ("lines",)
    serializer_class = ShipmentSerializer
    create_service = services.create_shipment

    def service_kwargs(self) -> dict:
        return {"actor": self.actor}


class ReceiptViewSet(CreateDocumentMixin, ScopedReadViewSet):
    """Receipts; POST records one of a purchase order of the account (API validation rules apply)."""

    model = Receipt
    related = ("lines",)
    serializer_class = ReceiptSerializer
    create_service = services.create_receipt

    def service_kwargs(self) -> dict:
        return {"actor": self.actor}
