"""News of channels for the apps above; the automations engine listens."""

from django.dispatch import Signal

# kwargs: channel_id, event_id (the WebhookEvent's primary key)
# Sent on commit when a verified webhook event is stored.
webhook_event_received = Signal()
# Sent inside the transaction that changed what a webhook-capable platform must be told
# (a new or changed channel, a rotated secret): the engine sends channels.tasks.
# register_webhook through its outbox, so a broker away delays the call but loses nothing.
# kwargs: channel_id
webhook_registration_due = Signal()
