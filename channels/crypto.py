"""Encryption at rest for channel secrets (platform credentials, webhook signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from CHANNEL_SECRETS_KEY, which
defaults to SECRET_KEY: a database dump alone never reveals a channel's credentials.
"""

import base64
import hashlib
import json

from django.conf import settings


class SecretUnreadable(Exception):
    """The stored value was encrypted with another key (the key changed)."""


def _fernet():
    # Imported on first use: OpenSSL's bindings add ~11 MB to every process, and beat,
    # the dispatcher and most pages never touch a secret.
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(f"techoms-channel-secrets:{settings.CHANNEL_SECRETS_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted (CHANNEL_SECRETS_KEY changed): enter it again."
        ) from None


def encrypt_json(data: dict) -> str:
    return encrypt(json.dumps(data, sort_keys=True)) if data else ""


def decrypt_json(token: str) -> dict:
    return json.loads(decrypt(token)) if token else {}
