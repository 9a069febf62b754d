"""Inbound webhooks: POST /webhooks/<channel token>/.

How a platform signs a delivery (the same for every platform, the sandbox and our Medusa
plugin):

- `X-Techoms-Timestamp`: when it was sent, in whole Unix seconds (ASCII digits only);
- `X-Techoms-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the channel's
  signing secret, of the bytes `<timestamp>.<raw body>`.

Signing the timestamp with the body means a captured delivery cannot be sent again later
under a fresh timestamp. The timestamp is read first and refused (401 `missing_timestamp`
or `stale_timestamp`) unless it is a short run of digits within WEBHOOK_TOLERANCE_SECONDS
of now; then the body (at most WEBHOOK_MAX_BODY_BYTES, else 413), the channel (404), the
signature (401 `invalid_signature`), and the JSON (400 `invalid_body`, also when nested
deeper than MAX_JSON_DEPTH). The event is stored once per event id (409 for a repeat); the
answer is 202 at once. What the event triggers is the automations engine's business:
`webhook_event_received` (sent on commit) arms the channel's webhook jobs, whose runs take
the waiting events.
"""

import hashlib
import hmac
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oms import json_bounds

from .connectors import connector_class
from .connectors.base import ConnectorProtocolError
from .models import Channel, WebhookEvent
from .signals import webhook_event_received

SIGNATURE_HEADER = "HTTP_X_TECHOMS_SIGNATURE"
TIMESTAMP_HEADER = "HTTP_X_TECHOMS_TIMESTAMP"
# Unix seconds have 10 digits until the year 2286; anything longer is not "now", and is
# never handed to int() (whose cost grows with the digits) or float arithmetic.
MAX_TIMESTAMP_DIGITS = 12


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Techoms-Signature value of a delivery sent at `timestamp` (the header's text)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _refuse(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _timestamp_refusal(value: str) -> JsonResponse | None:
    """Why the timestamp header is refused, or None when it is a time near now."""
    if not (value.isascii() and value.isdigit()):
        return _refuse(
            401, "missing_timestamp", "The X-Techoms-Timestamp header is missing or not whole Unix seconds."
        )
    tolerance = settings.WEBHOOK_TOLERANCE_SECONDS
    if len(value) > MAX_TIMESTAMP_DIGITS or abs(time.time() - int(value)) > tolerance:
        return _refuse(
            401, "stale_timestamp", f"The timestamp is more than {tolerance} seconds away from now."
        )
    return None


def _parse_body(body: bytes) -> dict:
    """The JSON object of a verified body; ValueError when it is not one."""
    payload = json_bounds.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    return payload


@csrf_exempt
@require_POST
def receive_webhook(request, token: str):
    sent_at = request.META.get(TIMESTAMP_HEADER, "")
    if (refusal := _timestamp_refusal(sent_at)) is not None:
        return refusal
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

    given = request.META.get(SIGNATURE_HEADER, "")
    expected = signature(channel.webhook_secret, sent_at, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _refuse(
            401,
            "invalid_signature",
            "The signature does not match the timestamp, the body and the channel's secret.",
        )

    try:
        notice = connector_class(channel.platform).parse_webhook(_parse_body(body))
        # PostgreSQL text cannot hold NUL: refused here rather than failing the insert.
        if "\x00" in "".join((notice.event_id, notice.topic, *notice.entity_ids)):
            raise ValueError("NUL in the event")
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
