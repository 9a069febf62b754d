"""Settings of the benchmark servers: the portal's own, plus DRF's token authentication
as the baseline that API-key authentication is measured against."""

from oms.settings import *  # noqa: F403
from oms.settings import INSTALLED_APPS, REST_FRAMEWORK

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "bench.token_baseline.TokenBaselineAuthentication",
    ],
    # Throttling costs both kinds of request the same and is not authentication.
    "DEFAULT_THROTTLE_CLASSES": [],
}
