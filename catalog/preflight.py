"""What changing an account's Master Product Source would do, before anything changes.

The documents warn that changing it on a live account can duplicate products and leave
product jobs misaligned; the preflight page shows the real numbers so a person confirms
knowingly: how many products exist, which of the master channel's SKUs already exist
here from another source, and which product jobs become hidden or offered.
"""

from dataclasses import dataclass, field

from accounts.models import Account, MasterProductSource
from channels.connectors import connector_for
from channels.connectors.base import ConnectorError
from channels.models import Channel
from channels.platforms import PRODUCT_JOBS, JobType
from channels.selectors import product_job_allowed

from .models import Product
from .services import products_by_sku

SAMPLE_SIZE = 20


@dataclass
class MasterSourcePreflight:
    products: int
    master_skus: int | None = None
    collisions: int = 0
    collision_sample: list[str] = field(default_factory=list)
    fetch_error: str = ""
    becoming_hidden: list[str] = field(default_factory=list)
    becoming_offered: list[str] = field(default_factory=list)


def needs_preflight(account: Account, new_source: str) -> bool:
    return new_source != account.master_product_source and Product.objects.filter(account=account).exists()


def master_source_preflight(
    account: Account, new_source: str, new_channel: Channel | None, http=None
) -> MasterSourcePreflight:
    report = MasterSourcePreflight(products=Product.objects.filter(account=account).count())
    if new_source != MasterProductSource.TECHOMS and new_channel is not None:
        _count_collisions(account, new_channel, report, http)
    after = Account(
        pk=account.pk,
        master_product_source=new_source,
        master_product_channel_id=new_channel.pk if new_channel else None,
    )
    for channel in Channel.objects.filter(account=account, is_active=True).order_by("name"):
        for job_type in PRODUCT_JOBS:
            if job_type not in channel.platform_info.job_types:
                continue
            was = product_job_allowed(account, channel.pk, job_type)
            will = product_job_allowed(after, channel.pk, job_type)
            label = f"{JobType(job_type).label} on {channel.name}"
            if was and not will:
                report.becoming_hidden.append(label)
            elif will and not was:
                report.becoming_offered.append(label)
    return report


def _count_collisions(account: Account, channel: Channel, report: MasterSourcePreflight, http) -> None:
    """SKUs of the master channel that already exist here from another source: the
    products an import would report as collisions instead of creating twice."""
    try:
        fetched = connector_for(channel, http=http).import_products()
    except ConnectorError as error:
        report.fetch_error = f"The master channel's catalogue could not be read: {error}"
        return
    skus = {p.sku for p in fetched.items if p.sku}
    report.master_skus = len(skus)
    colliding = sorted(
        product.sku
        for product in products_by_sku(account, skus).values()
        if product.source_channel_id != channel.pk
    )
    report.collisions = len(colliding)
    report.collision_sample = colliding[:SAMPLE_SIZE]
