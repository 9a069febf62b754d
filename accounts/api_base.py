"""The one base of every account-scoped REST endpoint, for viewsets and plain views alike:
the request's account (the API key's, or the session's current one), read-only for
Account Users, querysets starting from the account so another tenant's ids answer 404,
one page-number pagination, and the services' own errors in the API's envelope.

Services raise Django's ValidationError and PermissionDenied, which the API's exception
handler (oms.api_errors) renders with their codes kept; this base adds the domain errors
of accounts.services that mean a conflict (409).
"""

from dataclasses import asdict, is_dataclass

from rest_framework import exceptions, permissions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.viewsets import GenericViewSet

from .api_auth import request_access
from .services import ConfirmationRequired, StaleVersionError


def _whole_number(request, name: str) -> int | None:
    """A query parameter that must be a whole number from 1 (400 naming it otherwise)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return serializers.IntegerField(min_value=1).run_validation(raw)
    except serializers.ValidationError as error:
        raise serializers.ValidationError({name: error.detail}) from None


class StrictPageSizeMixin:
    """`?page_size=` is a whole number from 1 or refused (400), as the schema says, rather
    than silently replaced by the default; sizes above the maximum are cut to it."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        size = _whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: {self.page_size} unless given, at most {self.max_page_size}."
                )
        return parameters


class Page(StrictPageSizeMixin, PageNumberPagination):
    """The one page-number pagination of the API: `?page=` and `?page_size=` (at most 200:
    a page of orders carries their lines and history, docs/decisions.md)."""

    last_page_strings = ()  # `?page=last` is no integer, which the schema says a page is

    def get_page_number(self, request, paginator):
        return _whole_number(request, self.page_query_param) or 1


class VersionConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stale_version"

    def __init__(self, error: StaleVersionError):
        super().__init__(str(error))
        self.extra = {"current_version": error.current_version}


class ConfirmationNeeded(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "confirmation_required"

    def __init__(self, question: ConfirmationRequired):
        super().__init__(
            "Changing the Master Product Source of an account with products can duplicate "
            "products: read the preflight, then send the same PATCH with ?confirm=1."
        )
        # Read only now, after the service's transaction rolled back: the preflight may
        # fetch the master channel's catalogue, which must not hold the account's row lock.
        preflight = question.preflight
        self.extra = {"preflight": asdict(preflight) if is_dataclass(preflight) else preflight}


# The bases below carry no docstring: drf-spectacular would show it as the description
# of every endpoint that has none of its own.
class AccountScopedMixin:
    # `self.account`, `self.access` (what the caller may do there) and `self.actor`.

    pagination_class = Page
    permission_classes = [permissions.IsAuthenticated]
    read_only_message = "Account Users have read-only access."

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.access = request_access(request)
        self.account = self.access.account
        if request.method not in permissions.SAFE_METHODS and not self.access.can_edit_settings:
            raise exceptions.PermissionDenied(self.read_only_message)

    @property
    def actor(self):
        """Who acts, for permissions and the audit log: a person or an API key."""
        return self.request.user

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "account": getattr(self, "account", None)}

    def filters(self, serializer_class) -> dict:
        """The query string, validated by `serializer_class` (400 naming the parameter)."""
        # A plain dict, not the QueryDict: DRF reads an empty form value as "not given",
        # but `?sku=` is an empty filter the schema does not allow, so it is refused.
        query = serializer_class(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return query.validated_data

    def handle_exception(self, exc):
        if isinstance(exc, StaleVersionError):
            exc = VersionConflict(exc)
        elif isinstance(exc, ConfirmationRequired):
            exc = ConfirmationNeeded(exc)
        return super().handle_exception(exc)


class AccountScopedView(AccountScopedMixin, GenericAPIView):
    pass  # a plain endpoint (get, patch, … methods)


class AccountScopedViewSet(AccountScopedMixin, GenericViewSet):
    pass  # a viewset; list and retrieve start from `get_queryset()`
