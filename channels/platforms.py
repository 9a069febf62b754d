"""The catalogue of channel platforms and what each one's connector can do.

Connectors declare their capabilities here so that pages and validation rules can ask
"does this channel support product import?" without importing a connector.
"""

from dataclasses import dataclass

from django.db import models


class ChannelKind(models.TextChoices):
    SALES = "sales", "Sales Channel"
    FULFILLMENT = "fulfillment", "Fulfillment Channel"


class Stability(models.TextChoices):
    STABLE = "stable", "Stable"
    BETA = "beta", "Beta"


class JobType(models.TextChoices):
    IMPORT_ORDERS = "import_orders", "Import Orders"
    EXPORT_INVENTORY = "export_inventory", "Export Inventory"
    EXPORT_TRACKING = "export_tracking", "Export Tracking"
    SEND_ORDERS = "send_orders", "Send Orders"
    RECEIVE_SHIPMENTS = "receive_shipments", "Receive Shipments"
    IMPORT_INVENTORY = "import_inventory", "Import Inventory"
    SEND_PURCHASE_ORDERS = "send_purchase_orders", "Send Purchase Orders"
    RECEIVE_RECEIPTS = "receive_receipts", "Receive Receipts"
    IMPORT_PRODUCTS = "import_products", "Import Products"
    EXPORT_PRODUCTS = "export_products", "Export Products"


# The jobs the Master Product Source decides about (channels.selectors.product_job_allowed).
PRODUCT_JOBS = (JobType.IMPORT_PRODUCTS, JobType.EXPORT_PRODUCTS)

SALES_JOB_TYPES = (
    JobType.IMPORT_ORDERS,
    JobType.EXPORT_INVENTORY,
    JobType.EXPORT_TRACKING,
    JobType.IMPORT_PRODUCTS,
    JobType.EXPORT_PRODUCTS,
)
FULFILLMENT_JOB_TYPES = (
    JobType.SEND_ORDERS,
    JobType.RECEIVE_SHIPMENTS,
    JobType.IMPORT_INVENTORY,
    JobType.SEND_PURCHASE_ORDERS,
    JobType.RECEIVE_RECEIPTS,
    JobType.IMPORT_PRODUCTS,
    JobType.EXPORT_PRODUCTS,
)
# The sandbox 3PL keeps an item master it is sent but is no product source of its own.
SANDBOX_3PL_JOB_TYPES = tuple(t for t in FULFILLMENT_JOB_TYPES if t != JobType.IMPORT_PRODUCTS)
# Tryton is a warehouse and an item master: every fulfillment job, products both ways.
TRYTON_JOB_TYPES = FULFILLMENT_JOB_TYPES


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    kind: str
    stability: str
    supports_product_import: bool
    supports_webhooks: bool
    supports_fetch_by_id: bool
    job_types: tuple[str, ...]


PLATFORMS = {
    p.key: p
    for p in (
        Platform(
            key="sandbox_marketplace",
            label="Sandbox Marketplace",
            kind=ChannelKind.SALES,
            stability=Stability.STABLE,
            supports_product_import=True,
            supports_webhooks=True,
            supports_fetch_by_id=True,
            job_types=SALES_JOB_TYPES,
        ),
        Platform(
            key="sandbox_marketplace_beta",
            label="Sandbox Marketplace Beta",
            kind=ChannelKind.SALES,
            stability=Stability.BETA,
            supports_product_import=True,
            supports_webhooks=True,
            supports_fetch_by_id=True,
            job_types=SALES_JOB_TYPES,
        ),
        Platform(
            key="medusa",
            label="Medusa",
            kind=ChannelKind.SALES,
            stability=Stability.STABLE,
            supports_product_import=True,
            # Medusa sends none itself; our plugin (peers/medusa/plugin) posts its events.
            supports_webhooks=True,
            supports_fetch_by_id=True,
            job_types=SALES_JOB_TYPES,
        ),
        # The same connector as a beta platform: channels of their own Mode (Webhook mode
        # through our plugin's events, Recurring Job By ID), as the sandbox pair offers.
        Platform(
            key="medusa_beta",
            label="Medusa Beta",
            kind=ChannelKind.SALES,
            stability=Stability.BETA,
            supports_product_import=True,
            supports_webhooks=True,
            supports_fetch_by_id=True,
            job_types=SALES_JOB_TYPES,
        ),
        Platform(
            key="sandbox_3pl",
            label="Sandbox 3PL",
            kind=ChannelKind.FULFILLMENT,
            stability=Stability.STABLE,
            supports_product_import=False,
            supports_webhooks=False,
            supports_fetch_by_id=True,
            job_types=SANDBOX_3PL_JOB_TYPES,
        ),
        Platform(
            key="sandbox_3pl_beta",
            label="Sandbox 3PL Beta",
            kind=ChannelKind.FULFILLMENT,
            stability=Stability.BETA,
            supports_product_import=False,
            supports_webhooks=False,
            supports_fetch_by_id=True,
            job_types=SANDBOX_3PL_JOB_TYPES,
        ),
        Platform(
            key="tryton",
            label="Tryton",
            kind=ChannelKind.FULFILLMENT,
            stability=Stability.STABLE,
            supports_product_import=True,
            supports_webhooks=False,
            supports_fetch_by_id=True,
            job_types=TRYTON_JOB_TYPES,
        ),
    )
}
PLATFORM_CHOICES = [(p.key, p.label) for p in PLATFORMS.values()]


def platforms_supporting_product_import(kind: str) -> list[str]:
    return [p.key for p in PLATFORMS.values() if p.kind == kind and p.supports_product_import]


def platforms_of_kind(kind: str) -> list[Platform]:
    return [p for p in PLATFORMS.values() if p.kind == kind]
