"""REST authentication by per-account API key (`Authorization: Api-Key <key>`)."""

from rest_framework.authentication import BaseAuthentication


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        return None
