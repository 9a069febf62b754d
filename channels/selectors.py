"""Reads of channels scoped to the actor, and what the channel page needs to know."""

from django.http import Http404

from accounts.api_auth import request_access
from accounts.models import Account, MasterProductSource

from .models import Channel
from .platforms import JobType


def channel_for(account: Account, channel_id) -> Channel:
    """A channel of this account, or 404 (ids of other tenants' channels leak nothing)."""
    try:
        return Channel.objects.select_related("account").get(account=account, pk=int(channel_id))
    except (TypeError, ValueError, Channel.DoesNotExist):
        raise Http404("No such channel.") from None


def request_account(request) -> tuple[Account, bool]:
    """The account a REST request acts on, and whether it may write (see request_access)."""
    access = request_access(request)
    return access.account, access.can_edit_settings


def product_job_warning(channel: Channel, job_type: str) -> str:
    """Why a product job contradicts the account's Master Product Source, or ''."""
    if job_type not in (JobType.IMPORT_PRODUCTS, JobType.EXPORT_PRODUCTS):
        return ""
    account = channel.account
    is_master = (
        account.master_product_source != MasterProductSource.TECHOMS
        and account.master_product_channel_id == channel.pk
    )
    if job_type == JobType.IMPORT_PRODUCTS and not is_master:
        return "Import Products runs only against the Master Product Channel; this channel is not it."
    if job_type == JobType.EXPORT_PRODUCTS and is_master:
        return "This channel is the Master Product Channel: products come from it, not to it."
    return ""
