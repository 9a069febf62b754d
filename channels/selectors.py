"""Reads of channels scoped to the actor, and what the channel page needs to know."""

from django.http import Http404

from accounts.models import Account, MasterProductSource
from oms.ids import parse_id

from . import crypto
from .connectors import connector_class
from .models import Channel, SyncCursor
from .platforms import JobType


def channel_for(account: Account, channel_id) -> Channel:
    """A channel of this account, or 404 (ids of other tenants' channels leak nothing)."""
    pk = parse_id(channel_id)
    channel = Channel.objects.select_related("account").filter(account=account, pk=pk).first() if pk else None
    if channel is None:
        raise Http404("No such channel.")
    return channel


def product_job_allowed(account: Account, channel_id: int, job_type: str) -> bool:
    """The master-channel rule, the one place it is written: Import Products runs only
    against the Master Product Channel, Export Products only to the other channels."""
    is_master = (
        account.master_product_source != MasterProductSource.TECHOMS
        and account.master_product_channel_id == channel_id
    )
    if job_type == JobType.IMPORT_PRODUCTS:
        return is_master
    if job_type == JobType.EXPORT_PRODUCTS:
        return not is_master
    return True


def product_job_warning(channel: Channel, job_type: str) -> str:
    """Why a product job contradicts the account's Master Product Source, or ''."""
    account = channel.account
    if product_job_allowed(account, channel.pk, job_type):
        return ""
    if job_type == JobType.EXPORT_PRODUCTS:
        return "This channel is the Master Product Channel: products come from it, not to it."
    if account.master_product_source == MasterProductSource.TECHOMS:
        return (
            "Import Products runs only against the Master Product Channel; "
            "the Master Product Source is techOMS."
        )
    return "Import Products runs only against the Master Product Channel; this channel is not it."


def sync_cursor(channel: Channel, job_type: str) -> str | None:
    """Where the channel's recurring read of this job type resumes; None the first time."""
    return (
        SyncCursor.objects.filter(channel=channel, job_type=job_type)
        .values_list("position", flat=True)
        .first()
    )


def public_credentials(channel: Channel) -> dict[str, str]:
    """The channel's credential values that are not secret (a base URL, a user name), to
    show in its form; {} when the stored credentials cannot be read."""
    try:
        stored = channel.credentials
    except crypto.SecretUnreadable:
        return {}
    return {
        f.name: stored[f.name]
        for f in connector_class(channel.platform).credential_fields
        if not f.secret and f.name in stored
    }
