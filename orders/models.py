"""Sales orders (with customer PII), purchase orders, shipments and receipts."""

import re

from django.db import models


class OrderSource(models.TextChoices):
    CHANNEL = "channel", "Sales Channel"
    API = "api", "API"
    MANUAL = "manual", "Manual"
    IMPORT = "import", "Import"


class SalesOrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On Hold"
    ALLOCATED = "allocated", "Allocated"
    SENT = "sent", "Sent to Fulfillment"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially Shipped"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


# Orders a fulfillment channel may still be sent (Send Orders).
def pk_from_reference(reference: str, prefix: str) -> int | None:
    """The portal id in a reference a fulfillment channel was given (SO-n, PO-n)."""
    match = re.fullmatch(rf"{prefix}-(\d+)", reference or "")
    return int(match[1]) if match else None


SENDABLE_STATUSES = (SalesOrderStatus.PENDING, SalesOrderStatus.ALLOCATED)
PII_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_address1",
    "ship_address2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
)


class CarrierFields(models.Model):
    """Carrier and service codes, checked against the carrier catalogue on arrival."""

    carrier_code = models.CharField("Carrier code", max_length=32, blank=True)
    service_code = models.CharField("Service code", max_length=48, blank=True)
    # API validation rules at Warning: the warnings stay on the record.
    validation_warnings = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True


class SalesOrder(CarrierFields):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="sales_orders")
    channel = models.ForeignKey(
        "channels.Channel",
        verbose_name="Sales channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_orders",
    )
    source = models.CharField("Source", max_length=10, choices=OrderSource.choices)
    external_id = models.CharField("Channel order id", max_length=100, blank=True)
    number = models.CharField("Order number", max_length=64)
    status = models.CharField(
        "Status", max_length=20, choices=SalesOrderStatus.choices, default=SalesOrderStatus.PENDING
    )
    hold_reason = models.CharField("Hold reason", max_length=255, blank=True)
    ordered_at = models.DateTimeField("Ordered at")
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    customer_name = models.CharField("Customer name", max_length=200, blank=True)
    customer_email = models.CharField("Customer email", max_length=254, blank=True)
    customer_phone = models.CharField("Customer phone", max_length=40, blank=True)
    ship_address1 = models.CharField("Address", max_length=255, blank=True)
    ship_address2 = models.CharField("Address line 2", max_length=255, blank=True)
    ship_city = models.CharField("City", max_length=120, blank=True)
    ship_region = models.CharField("Region", max_length=120, blank=True)
    ship_postal_code = models.CharField("Postal code", max_length=20, blank=True)
    ship_country = models.CharField("Country", max_length=2, blank=True)
    pii_redacted_at = models.DateTimeField(null=True, blank=True)
    # Where it is fulfilled: the warehouse and the fulfillment channel it was sent to.
    warehouse = models.ForeignKey(
        "accounts.Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fulfillment_channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="fulfilled_orders"
    )
    fulfillment_external_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints = [
            # Import Orders run twice stores each channel order once.
            models.UniqueConstraint(
                "channel",
                "external_id",
                name="sales_order_unique_per_channel",
                condition=models.Q(channel__isnull=False),
            ),
            # An API client retrying after a timeout sends the same order again: its
            # number decides, even when the two requests race.
            models.UniqueConstraint(
                "account",
                "number",
                name="sales_order_number_unique_per_account",
                condition=models.Q(channel__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="sales_order_status"),
            models.Index(fields=["account", "ordered_at"], name="sales_order_ordered"),
            # PII retention's batches: only orders not yet redacted, so each batch starts
            # at the next pending order instead of stepping over the redacted ones.
            models.Index(
                fields=["account", "ordered_at"],
                name="sales_order_pii_pending",
                condition=models.Q(pii_redacted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def reference(self) -> str:
        """The id a fulfillment channel is given for this order, stable across resends."""
        return f"SO-{self.pk}"


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField("Name", max_length=255, blank=True)
    quantity = models.PositiveIntegerField("Quantity")
    quantity_shipped = models.PositiveIntegerField("Shipped", default=0)
    # Units this line holds reserved in the order's warehouse (allocation), released when
    # the order is held or as the units ship, so the ledger's reserved returns to zero.
    quantity_reserved = models.PositiveIntegerField("Reserved", default=0)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        ordering = ["line_number"]
        constraints = [models.UniqueConstraint("order", "line_number", name="sales_order_line_number")]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class PurchaseOrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    SENT = "sent", "Sent to Fulfillment"
    PARTIALLY_RECEIVED = "partially_received", "Partially Received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(CarrierFields):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="purchase_orders")
    number = models.CharField("PO number", max_length=64)
    supplier = models.CharField("Supplier", max_length=200, blank=True)
    warehouse = models.ForeignKey("accounts.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        "Status", max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.OPEN
    )
    expected_at = models.DateField("Expected", null=True, blank=True)
    fulfillment_channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    fulfillment_external_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint("account", "number", name="po_number_unique_per_account")]

    def __str__(self):
        return self.number

    @property
    def reference(self) -> str:
        return f"PO-{self.pk}"

    @property
    def sendable(self) -> bool:
        """Open and never sent: the only purchase orders a send (or a cancel) applies to."""
        return self.status == PurchaseOrderStatus.OPEN and self.fulfillment_channel_id is None


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField("SKU", max_length=64)
    quantity = models.PositiveIntegerField("Quantity")
    quantity_received = models.PositiveIntegerField("Received", default=0)

    class Meta:
        ordering = ["line_number"]
        constraints = [models.UniqueConstraint("purchase_order", "line_number", name="po_line_number")]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class Shipment(CarrierFields):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="shipments")
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="shipments")
    channel = models.ForeignKey(
        "channels.Channel",
        verbose_name="Fulfillment channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shipments",
    )
    external_id = models.CharField(max_length=100, blank=True)
    warehouse = models.ForeignKey(
        "accounts.Warehouse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tracking_number = models.CharField("Tracking number", max_length=100, blank=True)
    shipped_at = models.DateTimeField("Shipped at")
    # Set once Export Tracking told the sales channel.
    tracking_exported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "channel",
                "external_id",
                name="shipment_unique_per_channel",
                condition=models.Q(channel__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Shipment {self.pk} of {self.sales_order}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        SalesOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField("SKU", max_length=64)
    # Zero is a real answer from a warehouse (nothing could be shipped), kept as such.
    quantity = models.PositiveIntegerField("Quantity")

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class Receipt(CarrierFields):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="receipts")
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts"
    )
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    external_id = models.CharField(max_length=100, blank=True)
    warehouse = models.ForeignKey("accounts.Warehouse", on_delete=models.PROTECT, related_name="+")
    tracking_number = models.CharField("Tracking number", max_length=100, blank=True)
    received_at = models.DateTimeField("Received at")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "channel",
                "external_id",
                name="receipt_unique_per_channel",
                condition=models.Q(channel__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Receipt {self.pk}"


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField("SKU", max_length=64)
    quantity = models.PositiveIntegerField("Quantity")

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class EventAction(models.TextChoices):
    VALIDATED = "validated", "Validated"
    ALLOCATED = "allocated", "Allocated"
    SENT = "sent", "Sent to fulfillment"
    HELD = "held", "Put on hold"
    NOT_SENT = "not_sent", "Not sent"
    RELEASED = "released", "Reservation released"
    CANCELLED = "cancelled", "Cancelled"
    # The automatic workflow is off: the document waits for a person, and says so.
    WAITING = "waiting", "Waiting for a person"


class DocumentEvent(models.Model):
    """One step of an order workflow: who or what did it (a person, the API, or the
    automatic workflow) and why. `actor_name` is kept as written so the history still
    reads right after the person's account is gone."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField("By", max_length=254)
    action = models.CharField("Action", max_length=16, choices=EventAction.choices)
    detail = models.CharField("Detail", max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]


class SalesOrderEvent(DocumentEvent):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="events")

    def __str__(self):
        return f"{self.order} {self.action}"


class PurchaseOrderEvent(DocumentEvent):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="events")

    def __str__(self):
        return f"{self.purchase_order} {self.action}"
