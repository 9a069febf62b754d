"""Inbound webhooks: POST /webhooks/<channel token>/.

The request is verified (HMAC-SHA256 of the raw body with the channel's secret, a
timestamp within WEBHOOK_TOLERANCE_SECONDS, at most WEBHOOK_MAX_BODY_BYTES) and the
event stored once per event id; the answer is 202 at once. What the event triggers is
the automations engine's business: `webhook_event_received` (sent on commit) arms the
channel's webhook jobs, whose runs take the waiting events.
"""

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .connectors import connector_class
from .connectors.base import ConnectorProtocolError
from .models import Channel, WebhookEvent
from .signals import webhook_event_received

SIGNATURE_HEADER = "HTTP_X_TECHOMS_SIGNATURE"
TIMESTAMP_HEADER = "HTTP_X_TECHOMS_TIMESTAMP"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _refuse(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_POST
def receive_webhook(request, token: str):
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_large = _refuse(413, "body_too_large", f"The body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return too_large
    # Read past the limit by one byte to catch a body whose length was not declared.
    body = request.read(limit + 1)
    if len(body) > limit:
        return too_large

    channel = Channel.objects.filter(webhook_token=token, is_active=True).first()
    if channel is None or not channel.platform_info.supports_webhooks:
        return _refuse(404, "unknown_channel", "No active channel has this webhook URL.")

    try:
        sent_at = int(request.META.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return _refuse(401, "missing_timestamp", "The X-Techoms-Timestamp header is missing or not a number.")
    if abs(time.time() - sent_at) > settings.WEBHOOK_TOLERANCE_SECONDS:
        return _refuse(401, "stale_timestamp", "The timestamp is more than 5 minutes away from now.")
    given = request.META.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(given.encode(), signature(channel.webhook_secret, body).encode()):
        return _refuse(
            401, "invalid_signature", "The signature does not match the body and the channel's secret."
        )

    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError
        notice = connector_class(channel.platform).parse_webhook(payload)
    except (ValueError, ConnectorProtocolError):
        return _refuse(400, "invalid_body", "The body is not an event this channel's platform sends.")

    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                channel=channel,
                event_id=notice.event_id[:200],
                topic=notice.topic[:100],
                entity_ids=list(notice.entity_ids),
            )
            transaction.on_commit(
                lambda: webhook_event_received.send(
                    sender=WebhookEvent, channel_id=channel.pk, event_id=event.pk
                )
            )
    except IntegrityError:
        return _refuse(409, "duplicate_event", "This event id was received before; it is not stored again.")
    return JsonResponse({"status": "accepted", "event": event.pk}, status=202)
