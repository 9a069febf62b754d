"""Signals sent after account settings commit, for apps that derive state from them.

The automations reconciler listens here, so accounts need not import automations.
"""

from django.dispatch import Signal

# Sent on commit with account_id and fields (names of changed settings).
account_settings_changed = Signal()
