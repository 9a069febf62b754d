"""Celery tasks of channels: small, loading what they need by id, safe to run twice."""

import logging

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from .connectors import connector_for
from .connectors.base import ConnectorError
from .models import Channel

log = logging.getLogger(__name__)


@shared_task(
    queue="jobs",
    autoretry_for=(ConnectorError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def register_webhook(channel_id: int) -> None:
    """Tell the platform the channel's inbound URL and current secret (idempotent PUT).

    Retried with backoff: on the first run of the demo the sandbox may still be starting.
    """
    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None or not channel.platform_info.supports_webhooks or not channel.has_credentials:
        return
    url = settings.PORTAL_URL.rstrip("/") + reverse("channel_webhook", args=[channel.webhook_token])
    connector_for(channel).register_webhook(url, channel.webhook_secret)
    log.info("webhook of channel %s registered at %s", channel.pk, url)
