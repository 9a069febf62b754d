"""What every account-scoped REST viewset of channels, catalog and orders shares: the
request's account, read-only for Account Users, 404 outside it, service errors as 400."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, permissions, viewsets
from rest_framework.pagination import PageNumberPagination

from .selectors import request_account


class Page(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AccountScopedViewSet(viewsets.GenericViewSet):
    """`self.account` is the API key's account or the session's current account;
    querysets start from it, so another tenant's ids are simply not found (404)."""

    pagination_class = Page
    permission_classes = [permissions.IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.account, self.can_write = request_account(request)
        if request.method not in permissions.SAFE_METHODS and not self.can_write:
            raise exceptions.PermissionDenied("Account Users have read-only access.")

    @property
    def actor(self):
        """Who acts, for permissions and the audit log: a person or an API key."""
        return self.request.user

    @staticmethod
    def call(service, *args, **kwargs):
        """Run a service, turning its Django errors into the API's field-by-field errors."""
        try:
            return service(*args, **kwargs)
        except DjangoValidationError as error:
            detail = (
                error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            )
            raise exceptions.ValidationError(detail) from None
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
