"""Product jobs: Import Products from the Master Product Channel, Export Products to the
other channels (the master-channel rule decides which runs where)."""

from catalog.channel_products import CHANNEL_VALUE_FIELDS, import_channel_product
from catalog.models import Product
from catalog.services import products_by_sku
from channels.connectors.base import ChannelProduct
from channels.platforms import JobType

from .runner import JobContext, handles


@handles(JobType.IMPORT_PRODUCTS)
def import_products(ctx: JobContext) -> None:
    fetched = ctx.connector.import_products(ctx.ids, since=ctx.since)
    ctx.report.absorb(fetched)
    existing = products_by_sku(ctx.account, {p.sku for p in fetched.items})
    seen: set[str] = set()
    for incoming in ctx.track(fetched.items):
        key = incoming.sku.upper()
        if not incoming.sku or key in seen:
            ctx.report.counts["collisions"] += 1
            ctx.report.note(
                f"SKU {incoming.sku!r} appears more than once in the channel's catalogue; imported once."
            )
            continue
        seen.add(key)
        outcome, note = import_channel_product(
            ctx.account,
            ctx.channel,
            existing.get(key),
            incoming.sku,
            incoming.external_id,
            {f: getattr(incoming, f) for f in CHANNEL_VALUE_FIELDS},
        )
        ctx.report.counts["collisions" if outcome == "collision" else outcome] += 1
        if note:
            ctx.report.note(note)
    ctx.keep_cursor(fetched)


@handles(JobType.EXPORT_PRODUCTS)
def export_products(ctx: JobContext) -> None:
    products = Product.objects.filter(account=ctx.account, is_active=True).order_by("sku")
    pushed = ctx.connector.export_products(
        [
            ChannelProduct(
                external_id=p.external_id, sku=p.sku, **{f: getattr(p, f) for f in CHANNEL_VALUE_FIELDS}
            )
            for p in products
        ]
    )
    ctx.report.absorb(pushed)
    ctx.report.counts.update(pushed.counts)
    for outcome in pushed.outcomes:
        if not outcome.ok:
            ctx.report.note(f"Product {outcome.key} was refused: {outcome.error}")
