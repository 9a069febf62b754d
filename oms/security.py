"""Safe defaults for the whole site: the production SECRET_KEY rule read by the settings,
and the Content-Security-Policy every response carries."""

import secrets

from django.conf import settings

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


# Scripts and styles only from the portal's own files (a per-request nonce for the one
# inline script Swagger UI needs), no plugins, no framing, forms posting only here.
# Inline event handlers and style attributes are refused, so pages keep none.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        # data: for the blank favicon and Swagger UI's inline SVG icons.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY with every response; `request.csp_nonce` is the nonce
    that a template's inline <script nonce="…"> must carry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        # Django's own debug pages (DEBUG on, an error answer) are inline scripts and
        # styles; development keeps them readable.
        if not (settings.DEBUG and response.status_code >= 400):
            response.headers.setdefault(
                "Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=request.csp_nonce)
            )
        return response
