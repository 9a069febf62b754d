"""Signals accounts sends, for apps above it that derive state from account settings.

The automations reconciler listens here, so accounts need not import automations.
"""

from django.dispatch import Signal

# Sent on commit with account_id and fields (names of changed settings).
account_settings_changed = Signal()

# Sent with account_id inside the transaction that changes the Master Product Source or
# Channel, before it commits: receivers realign what follows the source, and an exception
# they raise rolls the change back (send, not send_robust, so it reaches the caller).
master_product_source_changed = Signal()
