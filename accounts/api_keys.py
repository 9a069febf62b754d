"""API keys: high-entropy secrets stored as a lookup prefix plus a SHA-256 hash.

A slow KDF is unnecessary for 256-bit random keys (no dictionary to attack) and would
cost every request; SHA-256 with a constant-time comparison is the usual choice.
"""

import hashlib
import hmac
import secrets

KEY_PREFIX = "toms"


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (full key shown once, lookup prefix, hash to store)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


def key_matches(key: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(hash_api_key(key), stored_hash)


def masked(prefix: str) -> str:
    return f"{KEY_PREFIX}_{prefix}_…" if prefix else "—"
