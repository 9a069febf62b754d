"""Products as a channel's catalogue knows them: imported from the Master Product
Channel (created or updated by SKU, never over a product of another source) and the
values Export Products sends."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from accounts.models import Account

from .models import Product

# The product values a channel's catalogue carries, both ways.
CHANNEL_VALUE_FIELDS = (
    "name",
    "description",
    "barcode",
    "price",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_g",
)


def import_channel_product(
    account: Account, channel, existing: Product | None, sku: str, external_id: str, values: dict
) -> tuple[str, str]:
    """Create or update the product of `sku` from the channel's catalogue; (outcome, note)
    with outcome created / updated / unchanged / collision, and a note for a collision.
    `existing`: the account's product of this SKU, if any (read by the caller in bulk)."""
    if existing is None:
        try:
            with transaction.atomic():
                Product.objects.create(
                    account=account, sku=sku, source_channel=channel, external_id=external_id, **values
                )
        except IntegrityError:
            return "collision", f"SKU {sku} was created meanwhile by someone else; left unchanged."
        return "created", ""
    if existing.source_channel_id != channel.pk:
        origin = (
            "created in techOMS" if existing.source_channel_id is None else "imported from another channel"
        )
        return "collision", f"SKU {sku} already exists ({origin}); left unchanged."
    if not any(_differs(getattr(existing, f), v) for f, v in values.items()):
        return "unchanged", ""
    for f, v in values.items():
        setattr(existing, f, v)
    existing.save()
    return "updated", ""


def _differs(current, incoming) -> bool:
    if isinstance(current, Decimal) or isinstance(incoming, Decimal):
        as_decimal = lambda v: None if v is None else Decimal(v)  # noqa: E731
        return as_decimal(current) != as_decimal(incoming)
    return (current or "") != (incoming or "")
