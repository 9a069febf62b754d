"""Sales and fulfillment channels of an account, their warehouse mappings, and the
inbound webhook events they receive."""

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from . import crypto
from .platforms import PLATFORM_CHOICES, PLATFORMS, ChannelKind


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Channel(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="channels")
    name = models.CharField("Name", max_length=120)
    kind = models.CharField("Kind", max_length=16, choices=ChannelKind.choices)
    platform = models.CharField("Platform", max_length=40, choices=PLATFORM_CHOICES)
    is_active = models.BooleanField("Active", default=True)
    # Encrypted JSON of the connector's credential fields; never rendered back.
    credentials_encrypted = models.TextField(blank=True, default="")
    buffer_stock = models.PositiveIntegerField(
        "Buffer stock",
        default=0,
        help_text="Units held back per SKU and location when available quantities are sent to the channel.",
    )
    pii_retention_days = models.PositiveIntegerField(
        "PII retention days",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Overrides the account's value for this channel's orders. Blank uses the account's value.",
    )
    # The token names the channel in its inbound webhook URL; the secret signs the bodies.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    webhook_secret_encrypted = models.TextField(blank=True, default="")
    webhook_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking of the settings form, as on the account page.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("account", "name", name="channel_name_unique_per_account"),
        ]

    def __str__(self):
        return self.name

    @property
    def platform_info(self):
        return PLATFORMS[self.platform]

    @property
    def credentials(self) -> dict:
        return crypto.decrypt_json(self.credentials_encrypted)

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_encrypted)

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class WarehouseMapping(models.Model):
    """A location as the channel names it, and the account's warehouse it stands for."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="warehouse_mappings")
    location = models.CharField("Channel location", max_length=64)
    warehouse = models.ForeignKey(
        "accounts.Warehouse", verbose_name="Warehouse", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["location"]
        constraints = [
            models.UniqueConstraint("channel", "location", name="mapping_location_unique_per_channel"),
            models.UniqueConstraint("channel", "warehouse", name="mapping_warehouse_unique_per_channel"),
        ]

    def __str__(self):
        return f"{self.location} ↔ {self.warehouse}"


class WebhookEvent(models.Model):
    """One verified inbound webhook, waiting for the automations engine to act on it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events")
    event_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=100)
    entity_ids = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    job_run = models.ForeignKey(
        "automations.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            # A replayed or retried delivery of one event is stored once.
            models.UniqueConstraint("channel", "event_id", name="webhook_event_unique_per_channel"),
        ]
        indexes = [models.Index(fields=["channel", "processed_at"], name="webhook_event_pending")]

    def __str__(self):
        return f"{self.topic} {self.event_id}"


class SyncCursor(models.Model):
    """Where a channel's recurring read of one job type resumes: the position the
    connector returned after the last read whose records were all handled (Fetched.cursor).
    Moved only forward by channels.services.advance_cursor, never by a failed run."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sync_cursors")
    job_type = models.CharField(max_length=32)
    position = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("channel", "job_type", name="sync_cursor_unique_per_channel_job"),
        ]

    def __str__(self):
        return f"{self.channel} {self.job_type} @ {self.position}"
