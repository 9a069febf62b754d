"""Sent on commit when a verified webhook event is stored; the automations engine listens."""

from django.dispatch import Signal

# kwargs: channel_id, event_id (the WebhookEvent's primary key)
webhook_event_received = Signal()
