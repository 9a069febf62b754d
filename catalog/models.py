"""Products, inventory levels per warehouse with their adjustments ledger, and the
carrier catalogue (carriers with their service codes)."""

import uuid

from django.db import models
from django.db.models.functions import Upper

from . import units


class Product(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="products")
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField("Name", max_length=255)
    description = models.TextField("Description", blank=True)
    barcode = models.CharField("Barcode", max_length=64, blank=True)
    price = models.DecimalField("Price", max_digits=12, decimal_places=2, null=True, blank=True)
    # Canonical units: millimetres and grams, whatever the account shows.
    length_mm = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    width_mm = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    height_mm = models.DecimalField(max_digits=10, decimal_places=1, null=True, blank=True)
    weight_g = models.DecimalField(max_digits=12, decimal_places=1, null=True, blank=True)
    is_active = models.BooleanField("Active", default=True)
    # The channel a product was imported from; None for products created here or by the API.
    source_channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            # SKUs differing only in case are the same SKU to a warehouse worker.
            models.UniqueConstraint("account", Upper("sku"), name="product_sku_unique_per_account"),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"

    def dimensions_in(self, account) -> dict:
        """Dimensions, volume and weight in the account's Unit of Measure."""
        return {
            "length": units.from_mm(self.length_mm, account.size_unit),
            "width": units.from_mm(self.width_mm, account.size_unit),
            "height": units.from_mm(self.height_mm, account.size_unit),
            "volume": units.volume_from_mm(
                self.length_mm, self.width_mm, self.height_mm, account.volume_unit
            ),
            "weight": units.from_g(self.weight_g, account.weight_unit),
        }


class InventoryLevel(models.Model):
    """Stock of one product in one warehouse. Available = on hand − reserved."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inventory_levels")
    warehouse = models.ForeignKey("accounts.Warehouse", on_delete=models.CASCADE, related_name="+")
    on_hand = models.IntegerField("On hand", default=0)
    reserved = models.IntegerField("Reserved", default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product__sku", "warehouse__name"]
        constraints = [
            models.UniqueConstraint("product", "warehouse", name="one_level_per_product_and_warehouse"),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.warehouse.code}: {self.on_hand}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class AdjustmentReason(models.TextChoices):
    MANUAL = "manual", "Manual Adjustment"
    CYCLE_COUNT = "cycle_count", "Cycle Count"
    DAMAGE = "damage", "Damaged"
    CHANNEL_IMPORT = "channel_import", "Inventory Import"
    RECEIPT = "receipt", "Receipt"
    SHIPMENT = "shipment", "Shipment"
    ALLOCATION = "allocation", "Allocation"
    RETURN = "return", "Return"


class AdjustmentSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    API = "api", "API"
    CHANNEL = "channel", "Channel"
    SYSTEM = "system", "System"


class InventoryAdjustment(models.Model):
    """One change of a level, append-only: what changed, why, from where and by whom."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="adjustments")
    warehouse = models.ForeignKey("accounts.Warehouse", on_delete=models.CASCADE, related_name="+")
    quantity = models.IntegerField("Quantity", help_text="Change of the on-hand quantity (+/−).")
    reserved_quantity = models.IntegerField("Reserved change", default=0)
    on_hand_after = models.IntegerField("On hand after")
    reserved_after = models.IntegerField("Reserved after", default=0)
    reason = models.CharField("Reason", max_length=20, choices=AdjustmentReason.choices)
    source = models.CharField("Source", max_length=10, choices=AdjustmentSource.choices)
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job_run = models.ForeignKey(
        "automations.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField("Note", max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="adjustment_account_recent")]

    def __str__(self):
        return f"{self.product.sku} {self.quantity:+d} ({self.get_reason_display()})"


class Carrier(models.Model):
    code = models.CharField("Carrier code", max_length=32, unique=True)
    name = models.CharField("Name", max_length=120)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CarrierService(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="services")
    code = models.CharField("Service code", max_length=48)
    name = models.CharField("Name", max_length=120)

    class Meta:
        ordering = ["carrier__name", "name"]
        constraints = [models.UniqueConstraint("carrier", "code", name="service_code_unique_per_carrier")]

    def __str__(self):
        return f"{self.carrier.code} {self.code}"


class PendingPush(models.Model):
    """A product whose available quantity a sales channel has not been told since it
    changed (Inventory Real-Time Updates). One row per (channel, product) whatever the
    number of changes: that is the coalescing."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    # Renewed by every change: a push deletes only the versions it read, so a change
    # committed while the push was in flight stays pending for the next one.
    version = models.UUIDField(default=uuid.uuid4)

    class Meta:
        constraints = [
            models.UniqueConstraint("channel", "product", name="one_pending_push_per_channel_product"),
        ]

    def __str__(self):
        return f"push of product {self.product_id} to channel {self.channel_id}"


class ChannelPush(models.Model):
    """Real-time push state of one sales channel: whether a push task is scheduled (so a
    burst of changes enqueues one task, not one each), whether a push is running (one at
    a time, so an older push never lands after a newer one), when the last one started
    (pushes are spaced by a minimum interval) and its job run."""

    channel = models.OneToOneField(
        "channels.Channel", on_delete=models.CASCADE, related_name="inventory_push"
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(
        "automations.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"real-time push of channel {self.channel_id}"
