"""REST endpoints of sales orders, purchase orders, shipments and receipts of the account."""

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts.models import Warehouse
from channels.api_support import AccountScopedViewSet

from . import services
from .models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
)


class SalesOrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesOrderLine
        fields = ["line_number", "product", "sku", "name", "quantity", "quantity_shipped", "unit_price"]
        read_only_fields = ["line_number", "product", "quantity_shipped"]


class SalesOrderSerializer(serializers.ModelSerializer):
    lines = SalesOrderLineSerializer(many=True)

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


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = PurchaseOrderLine
        fields = ["line_number", "product", "sku", "quantity", "quantity_received"]
        read_only_fields = ["line_number", "product", "quantity_received"]


class PurchaseOrderSerializer(serializers.ModelSerializer):
    lines = PurchaseOrderLineSerializer(many=True)

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

    def get_fields(self):
        fields = super().get_fields()
        account = getattr(self.context.get("view"), "account", None)
        fields["warehouse"] = serializers.PrimaryKeyRelatedField(
            queryset=Warehouse.objects.filter(account=account) if account else Warehouse.objects.none()
        )
        return fields


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = ["sku", "product", "quantity"]


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)

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


class ReceiptLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReceiptLine
        fields = ["sku", "product", "quantity"]


class ReceiptSerializer(serializers.ModelSerializer):
    lines = ReceiptLineSerializer(many=True, read_only=True)

    class Meta:
        model = Receipt
        fields = ["id", "purchase_order", "channel", "external_id", "warehouse", "received_at", "lines"]


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    model = None
    related = ()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.filter(account=self.account).prefetch_related(*self.related)


class SalesOrderViewSet(ScopedReadViewSet):
    """Sales orders; POST creates one (API validation rules apply: Error → 400, Warning → kept)."""

    model = SalesOrder
    related = ("lines",)
    serializer_class = SalesOrderSerializer

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = self.call(services.create_sales_order, self.account, serializer.validated_data)
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)


class PurchaseOrderViewSet(ScopedReadViewSet):
    """Purchase orders; POST creates one for a warehouse of the account (Send Purchase Orders sends it)."""

    model = PurchaseOrder
    related = ("lines",)
    serializer_class = PurchaseOrderSerializer

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        po = self.call(services.create_purchase_order, self.account, serializer.validated_data)
        return Response(self.get_serializer(po).data, status=status.HTTP_201_CREATED)


class ShipmentViewSet(ScopedReadViewSet):
    model = Shipment
    related = ("lines",)
    serializer_class = ShipmentSerializer


class ReceiptViewSet(ScopedReadViewSet):
    model = Receipt
    related = ("lines",)
    serializer_class = ReceiptSerializer
