"""How the OpenAPI schema describes the API beyond what drf-spectacular infers, so that
it tells a client (and the schema-driven tests) everything the API answers and accepts."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from .api_errors import error_responses


class ApiAutoSchema(AutoSchema):
    """- Every operation declares the errors it can give: 401, 404 and 429 everywhere; 400
      where there is a body or a query parameter; 403 and 415 for writes. A view declares
      what only it answers (409) with `error_responses`.
    - A list of nested objects publishes its maximum length.
    - A decimal is shown as a string, and may be sent as a JSON number too.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        has_query = any(p["in"] == "query" for p in operation.get("parameters", ()))
        statuses = [401, 404, 429]
        if "requestBody" in operation or has_query:
            statuses.append(400)
        if self.method not in SAFE_METHODS:
            statuses += [403, 415]
        responses = operation["responses"]
        for status in statuses:
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_responses(status)[status], str(status)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not schema:
            return schema
        # DRF checks a list of nested objects' max_length itself, not by a validator, so
        # drf-spectacular would not publish it.
        if is_list_serializer(field) and getattr(field, "max_length", None):
            schema["maxItems"] = field.max_length
        if direction == "request" and isinstance(field, serializers.DecimalField):
            schema = _string_or_number(field, schema)
        return schema


def _string_or_number(field: serializers.DecimalField, schema: dict) -> dict:
    """DRF reads a decimal from a JSON number as from a string; say so, with its bounds."""
    outer = {k: schema.pop(k) for k in ("description", "nullable", "readOnly", "writeOnly") if k in schema}
    number: dict = {"type": "number"}
    if field.max_whole_digits is not None:
        number |= {"maximum": 10**field.max_whole_digits, "exclusiveMaximum": True}
        number |= {"minimum": -(10**field.max_whole_digits), "exclusiveMinimum": True}
    if field.decimal_places is not None:
        number["multipleOf"] = float(f"1e-{field.decimal_places}")
    return {"oneOf": [schema, number], **outer}
