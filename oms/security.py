"""Safe defaults for the whole site: the production SECRET_KEY rule read by the settings,
and the Content-Security-Policy every response carries."""

# A key anyone can read (in this repository, in Django's project template, in tutorials)
# signs sessions and password-reset links for anyone: refused in production.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105
WELL_KNOWN_SECRET_KEYS = {DEVELOPMENT_SECRET_KEY, "x", "changeme", "secret"}
WELL_KNOWN_PREFIXES = ("django-insecure-",)
# Django's own check --deploy rule (security.W009): at least 50 characters, 5 distinct.
MIN_SECRET_KEY_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5
NEW_KEY_HINT = "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"


def secret_key_problem(key: str) -> str | None:
    """Why `key` must not sign anything in production, or None when it will do."""
    if not key:
        return f"SECRET_KEY must be set when DEBUG is off. {NEW_KEY_HINT}"
    if key in WELL_KNOWN_SECRET_KEYS or key.lower().startswith(WELL_KNOWN_PREFIXES):
        return f"SECRET_KEY is a well-known value (published keys are refused with DEBUG off). {NEW_KEY_HINT}"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return (
            f"SECRET_KEY is {len(key)} characters long; with DEBUG off it must have at least "
            f"{MIN_SECRET_KEY_LENGTH}. {NEW_KEY_HINT}"
        )
    if len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"SECRET_KEY repeats fewer than {MIN_UNIQUE_CHARACTERS} distinct characters. {NEW_KEY_HINT}"
    return None
