"""JSON errors for the REST API: field by field, with stable codes, never a trace.

Every error answers `{"code": ..., "message": ..., "errors": {field: [{"code", "message"}]}}`,
`errors` only for invalid input. Nested fields are named by dotted paths
(`validation_rules.sales_orders.missing_carrier_code`), so a client reads one flat map.
The schema declares these responses on every operation (oms.api_schema).
"""

import logging

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("oms.api")

VALIDATION_MESSAGE = "The request has invalid fields; nothing was changed."


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: `invalid_choice`, `required`, …")
    message = serializers.CharField(help_text="For people; wording may change.")


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (documented in the schema)."""

    code = serializers.CharField(
        help_text="Stable: `validation_error`, `not_authenticated`, `authentication_failed`, "
        "`permission_denied`, `not_found`, `method_not_allowed`, `unsupported_media_type`, "
        "`parse_error`, `stale_version`, `confirmation_required`, `invalid_state`, `throttled`, "
        "`server_error`, …"
    )
    message = serializers.CharField()
    errors = serializers.DictField(
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="Only for `validation_error`: every invalid field with its errors, each with "
        "the rule's own code (`required`, `max_length`, `invalid_carrier_code`, …).",
    )
    current_version = serializers.IntegerField(
        required=False, help_text="Only for `stale_version`: the version to read again."
    )
    preflight = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="Only for `confirmation_required`: what the change would do.",
    )


ERROR_DESCRIPTIONS = {
    400: "Invalid input, field by field (or a body that is not a JSON object); nothing was changed.",
    401: "No API key, or an invalid or revoked one.",
    403: "The caller may read but not change this (or CSRF failed for a session).",
    404: "Not found in the caller's account (another tenant's ids answer the same).",
    409: "The version sent is stale, or the object's state refuses the action; nothing was changed.",
    415: "The body is not JSON.",
    429: "Too many requests for this key; see Retry-After.",
}


def error_responses(*statuses: int, description: str | None = None) -> dict:
    """Error responses for `extend_schema(responses=...)`, described by `description` or
    by the usual text of each status."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_details(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif not isinstance(exc, exceptions.APIException):
        # Unexpected: logged in full for us, nothing of the internals for the client.
        logger.exception("Unhandled error in API view %s", type(context.get("view")).__name__)
        exc = _ServerError()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "validation_error",
            "message": VALIDATION_MESSAGE,
            "errors": _flatten(exc.get_full_details()),
        }
    else:
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else exc.default_code,
            "message": str(exc.detail),
            **getattr(exc, "extra", {}),
        }
    return response


class _ServerError(exceptions.APIException):
    default_detail = "Something went wrong on our side; nothing was changed. Try again later."
    default_code = "server_error"


def _django_details(exc: DjangoValidationError) -> dict:
    """Service errors (Django's ValidationError) in DRF's shape, their codes kept."""
    error_dict = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): [
            exceptions.ErrorDetail(message, code=error.code or "invalid")
            for error in errors
            for message in error.messages
        ]
        for field, errors in error_dict.items()
    }


def _flatten(details, path: str = "") -> dict[str, list[dict]]:
    """Nested serializer errors as one map of dotted field paths."""
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return {path or api_settings.NON_FIELD_ERRORS_KEY: [details]}
    flat: dict[str, list[dict]] = {}
    if isinstance(details, dict):
        items = details.items()
    else:
        leaves = [d for d in details if isinstance(d, dict) and set(d) == {"message", "code"}]
        if len(leaves) == len(details):
            return {path or api_settings.NON_FIELD_ERRORS_KEY: leaves}
        items = ((str(i), d) for i, d in enumerate(details))
    for key, value in items:
        for field, errors in _flatten(value, f"{path}.{key}" if path else str(key)).items():
            flat.setdefault(field, []).extend(errors)
    return flat
