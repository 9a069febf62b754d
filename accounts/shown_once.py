"""Secrets shown once (a new API key, a webhook signing secret, a new person's one-time
password), carried from the POST that makes them to the page that shows them.

Pages answer a POST with a redirect, so that reloading the page does not make a second
secret; the secret waits for that next page in the session, encrypted (Fernet, a key
derived from SECRET_KEY for this purpose alone) and for minutes at most. A session row or
a cookie read without the key reveals nothing; the messages framework, whose cookie is only
signed, never carries one.
"""

import base64
import json
import time

from django.utils.crypto import salted_hmac

SESSION_PREFIX = "shown_once:"
# Long enough for a slow redirect; a secret not fetched by then was never shown and the
# person makes a new one.
TTL_SECONDS = 10 * 60

# The clock, replaced by tests.
clock = time.time


def _fernet():
    # Imported on first use, like channels.crypto: OpenSSL's bindings add ~11 MB to every
    # process, and most pages never make a secret.
    from cryptography.fernet import Fernet

    digest = salted_hmac("techoms-shown-once", "fernet-key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def keep(request, slot: str, value) -> None:
    """Keep `value` (JSON-serialisable) encrypted for the next page that takes `slot`."""
    token = _fernet().encrypt_at_time(json.dumps(value).encode(), int(clock()))
    request.session[SESSION_PREFIX + slot] = token.decode()


def take(request, slot: str):
    """The value kept for `slot`, once: None if nothing was kept, it was already taken,
    or it waited too long (or SECRET_KEY changed since)."""
    token = request.session.pop(SESSION_PREFIX + slot, None)
    if not isinstance(token, str):
        return None
    from cryptography.fernet import InvalidToken

    try:
        plain = _fernet().decrypt_at_time(token.encode(), TTL_SECONDS, int(clock()))
    except InvalidToken:
        return None
    return json.loads(plain)
