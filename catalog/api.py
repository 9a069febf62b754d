"""REST endpoints of products (in the account's units), inventory levels and the
adjustments ledger. Writes go through catalog.services."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts.api_base import AccountScopedViewSet
from accounts.models import Warehouse
from oms.api_input import ApiModelSerializer, ApiQuerySerializer

from . import services
from .models import AdjustmentReason, AdjustmentSource, InventoryAdjustment, InventoryLevel, Product

UNIT_HELP = "In the account's Unit of Measure (Account › Size / Weight)"
# Whole digits a measure may be sent with so that it fits its column in every unit once
# converted: lengths are stored in mm with 9 whole digits (9,999,999 in = 253,999,975 mm),
# weights in g with 11 (99,999,999 kg = 99,999,999,000 g).
LENGTH_DIGITS, WEIGHT_DIGITS = 7, 8


class MeasureField(serializers.DecimalField):
    """A dimension or weight in the account's units, stored in millimetres and grams.

    No digit pattern is published: what is shown depends on the account's unit (a length
    sent in inches has one more whole digit in centimetres), so the bound on input is
    checked here and stated in the help text.
    """

    def __init__(self, measure: str, whole_digits: int | None = None, **kwargs):
        kwargs.setdefault("required", False)
        help_text = UNIT_HELP + (f"; at most {whole_digits} whole digits." if whole_digits else ".")
        super().__init__(
            source="*", max_digits=None, decimal_places=3, allow_null=True, help_text=help_text, **kwargs
        )
        self.measure = measure
        self.whole_digits = whole_digits

    def validate_precision(self, value):
        # Before DRF rounds the value: a 30-digit one would overflow the rounding itself.
        if self.whole_digits is not None and value.adjusted() >= self.whole_digits:
            self.fail("max_whole_digits", max_whole_digits=self.whole_digits)
        return super().validate_precision(value)

    def to_representation(self, product):
        value = product.dimensions_in(self.parent.context["view"].account)[self.measure]
        return None if value is None else str(value)

    def run_validation(self, data=serializers.empty):
        if data is None:
            return {self.measure: None}
        return {self.measure: super().run_validation(data)}


class ProductSerializer(ApiModelSerializer):
    length = MeasureField("length", LENGTH_DIGITS)
    width = MeasureField("width", LENGTH_DIGITS)
    height = MeasureField("height", LENGTH_DIGITS)
    volume = MeasureField("volume", read_only=True)
    weight = MeasureField("weight", WEIGHT_DIGITS)
    units = serializers.SerializerMethodField()
    source_channel = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "barcode",
            "price",
            "length",
            "width",
            "height",
            "volume",
            "weight",
            "units",
            "is_active",
            "source_channel",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # SKU uniqueness is the service's (case-insensitive) rule, reported on the field.
        validators = []

    def get_units(self, product) -> dict:
        account = self.context["view"].account
        return {"size": account.size_unit, "volume": account.volume_unit, "weight": account.weight_unit}


class SkuFilterSerializer(ApiQuerySerializer):
    sku = serializers.CharField(required=False, max_length=64, help_text="Exact SKU, ignoring case.")


@extend_schema_view(
    list=extend_schema(parameters=[SkuFilterSerializer]),
    create=extend_schema(
        examples=[
            OpenApiExample(
                "A product with its dimensions",
                value={
                    "sku": "MUG-12",
                    "name": "Mug",
                    "price": "9.90",
                    "length": "12",
                    "width": "9",
                    "height": "10",
                },
                request_only=True,
            )
        ]
    ),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    serializer_class = ProductSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        queryset = Product.objects.filter(account=self.account)
        if self.action == "list":
            sku = self.filters(SkuFilterSerializer).get("sku")
            return queryset.filter(sku__iexact=sku) if sku else queryset
        return queryset

    def _save(self, product=None, partial=False):
        serializer = self.get_serializer(product, data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return services.save_product(self.account, dict(serializer.validated_data), product)

    def create(self, request):
        product = self._save()
        return Response(self.get_serializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        return Response(self.get_serializer(self._save(self.get_object(), partial=True)).data)


class InventoryLevelSerializer(ApiModelSerializer):
    sku = serializers.CharField(source="product.sku")
    warehouse_code = serializers.CharField(source="warehouse.code")
    available = serializers.IntegerField()

    class Meta:
        model = InventoryLevel
        fields = [
            "id",
            "product",
            "sku",
            "warehouse",
            "warehouse_code",
            "on_hand",
            "reserved",
            "available",
            "updated_at",
        ]


class InventoryFilterSerializer(SkuFilterSerializer):
    warehouse = serializers.IntegerField(required=False, help_text="A warehouse's id.")


@extend_schema_view(list=extend_schema(parameters=[InventoryFilterSerializer]))
class InventoryViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """Stock per product and warehouse; filter with ?sku= and ?warehouse=<id>."""

    serializer_class = InventoryLevelSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InventoryLevel.objects.none()
        queryset = InventoryLevel.objects.filter(product__account=self.account).select_related(
            "product", "warehouse"
        )
        filters = self.filters(InventoryFilterSerializer)
        if filters.get("sku"):
            queryset = queryset.filter(product__sku__iexact=filters["sku"])
        if "warehouse" in filters:
            queryset = queryset.filter(warehouse_id=filters["warehouse"])
        return queryset


class AdjustmentSerializer(ApiModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    actor = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = InventoryAdjustment
        fields = [
            "id",
            "product",
            "sku",
            "warehouse",
            "quantity",
            "reserved_quantity",
            "on_hand_after",
            "reserved_after",
            "reason",
            "source",
            "channel",
            "job_run",
            "actor",
            "note",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "reserved_quantity",
            "on_hand_after",
            "reserved_after",
            "source",
            "channel",
            "job_run",
            "created_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        account = getattr(self.context.get("view"), "account", None)
        fields["product"] = serializers.PrimaryKeyRelatedField(
            queryset=Product.objects.filter(account=account) if account else Product.objects.none()
        )
        fields["warehouse"] = serializers.PrimaryKeyRelatedField(
            queryset=Warehouse.objects.filter(account=account) if account else Warehouse.objects.none()
        )
        fields["reason"] = serializers.ChoiceField(
            choices=AdjustmentReason.choices, default=AdjustmentReason.MANUAL
        )
        return fields


class AdjustmentViewSet(mixins.ListModelMixin, AccountScopedViewSet):
    """The inventory ledger, newest first; POST records a manual adjustment."""

    serializer_class = AdjustmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InventoryAdjustment.objects.none()
        return InventoryAdjustment.objects.filter(account=self.account).select_related("product", "actor")

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = services.manual_adjustment(
            self.actor,
            self.account,
            product=data["product"],
            warehouse=data["warehouse"],
            quantity=data["quantity"],
            reason=data["reason"],
            note=data.get("note", ""),
            source=AdjustmentSource.API,
        )
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)
