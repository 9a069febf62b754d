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


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    kind: str
    stability: str
    supports_product_import: bool
    supports_webhooks: bool
    supports_fetch_by_id: bool


PLATFORMS = {
    p.key: p
    for p in (
        Platform(
            "sandbox_marketplace",
            "Sandbox Marketplace",
            ChannelKind.SALES,
            Stability.STABLE,
            True,
            True,
            True,
        ),
        Platform(
            "sandbox_marketplace_beta",
            "Sandbox Marketplace Beta",
            ChannelKind.SALES,
            Stability.BETA,
            True,
            True,
            True,
        ),
        Platform("sandbox_3pl", "Sandbox 3PL", ChannelKind.FULFILLMENT, Stability.STABLE, False, False, True),
        Platform(
            "sandbox_3pl_beta",
            "Sandbox 3PL Beta",
            ChannelKind.FULFILLMENT,
            Stability.BETA,
            False,
            False,
            True,
        ),
    )
}
PLATFORM_CHOICES = [(p.key, p.label) for p in PLATFORMS.values()]


def platforms_supporting_product_import(kind: str) -> list[str]:
    return [p.key for p in PLATFORMS.values() if p.kind == kind and p.supports_product_import]
