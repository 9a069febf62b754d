"""Bounds every REST API input meets before a service sees it, so that what is stored can
always be read back, on SQLite as on PostgreSQL.

SQLite stores what it is given (an integer past 32 bits, a decimal past its digits, a
string past its length) and only a later read fails, for every reader of the list; PostgreSQL
refuses the write with a 500 instead, and NUL characters too. One mechanism bounds them
all: API serializers derive from `ApiSerializer`/`ApiModelSerializer`, whose fields get
the bounds below, and the API's parser accepts only a JSON object as a body.
"""

from datetime import date, datetime

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.utils.deconstruct import deconstructible
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from .json_bounds import MAX_JSON_DEPTH, nesting_depth

# PostgreSQL's `integer`, which IntegerField and PositiveIntegerField are there; SQLite
# would take 64 bits, so the API holds both to the narrower range.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Strings the database leaves unbounded (TextField, query filters): long enough for any
# description or note a person writes, short enough to keep one request small.
MAX_TEXT_LENGTH = 10_000
# Items of one list in a body (lines of a document): far above any real order.
MAX_ITEMS = 1_000
# Dates and instants the portal accepts (docs/decisions.md): a year 1 or 9999 instant
# overflows when shown in a zone far from UTC, and no order of ours is that old or late.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100


@deconstructible
class YearRangeValidator:
    message = f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}."
    code = "date_out_of_range"

    def __call__(self, value):
        if isinstance(value, date | datetime) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise serializers.ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, YearRangeValidator)


class IdField(serializers.IntegerField):
    """The id of a row (64-bit, like the primary keys), not a quantity."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


def bound_field(field: serializers.Field) -> None:
    """Give one writable field the bounds the database would not enforce (idempotent).

    Nested serializers bound their own fields (they derive from the bases below); only a
    list of them is capped here.
    """
    if field.read_only:
        return
    if isinstance(field, serializers.ListSerializer):
        if field.max_length is None:
            field.max_length = MAX_ITEMS
        return
    if isinstance(field, serializers.ListField | serializers.DictField):
        if isinstance(field, serializers.ListField) and field.max_length is None:
            field.max_length = MAX_ITEMS
            field.validators.append(MaxLengthValidator(MAX_ITEMS))
        if not isinstance(field.child, serializers.BaseSerializer):
            bound_field(field.child)
        return
    if isinstance(field, IdField):
        return
    if isinstance(field, serializers.IntegerField):
        _bound_integer(field)
    elif isinstance(field, serializers.CharField) and field.max_length is None:
        # DRF's CharField already refuses NUL characters and lone surrogates.
        field.max_length = MAX_TEXT_LENGTH
        field.validators.append(MaxLengthValidator(MAX_TEXT_LENGTH))
    elif isinstance(field, serializers.DateTimeField | serializers.DateField) and not any(
        isinstance(v, YearRangeValidator) for v in field.validators
    ):
        field.validators.append(YearRangeValidator())


def _bound_integer(field: serializers.IntegerField) -> None:
    if field.max_value is None or field.max_value > INT32_MAX:
        field.max_value = INT32_MAX
        message = field.error_messages["max_value"].format(max_value=INT32_MAX)
        field.validators.append(MaxValueValidator(INT32_MAX, message=message))
    if field.min_value is None or field.min_value < INT32_MIN:
        field.min_value = INT32_MIN
        message = field.error_messages["min_value"].format(min_value=INT32_MIN)
        field.validators.append(MinValueValidator(INT32_MIN, message=message))


def json_type_error(field: serializers.Field, value) -> str | None:
    """Why a JSON value is not of the type the schema publishes for `field`, or None.

    DRF converts what it can (`"5"` or `5.0` to 5, `0` to false, `5` to "5"); a body
    must match its schema, so what the schema would refuse the API refuses.
    """
    if value is None or isinstance(field, serializers.BaseSerializer):
        return None  # null is the field's own rule; a nested serializer checks its fields
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Expected true or false."
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if whole and not isinstance(value, bool) else "Expected a whole number."
    if isinstance(field, serializers.DecimalField):
        number = isinstance(value, str | int | float) and not isinstance(value, bool)
        return None if number else "Expected a number or a string of digits."
    if isinstance(field, serializers.ChoiceField):
        # DRF matches a choice by its text ("15" for 15); the schema's enum does not.
        kinds = {type(choice) for choice in field.choices}
        return None if type(value) in kinds else "Expected one of the listed values."
    text = serializers.CharField | serializers.DateField | serializers.DateTimeField
    if isinstance(field, text):
        return None if isinstance(value, str) else "Expected a string."
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return "Expected a list."
        return next(filter(None, (json_type_error(field.child, item) for item in value)), None)
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return "Expected an object."
        return next(filter(None, (json_type_error(field.child, item) for item in value.values())), None)
    return None


# The bases below carry no docstring: drf-spectacular would show it as the description
# of every serializer that has none of its own.
class BoundedInputMixin:
    # Every field of the serializer bounded by `bound_field`; with `json_types`, every
    # value of the type its field publishes.
    json_types = True

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            bound_field(field)
        return fields

    def to_internal_value(self, data):
        if self.json_types and isinstance(data, dict):
            errors = {
                name: [serializers.ErrorDetail(problem, code="invalid_type")]
                for name, field in self.fields.items()
                if not field.read_only
                and field.field_name in data
                and (problem := json_type_error(field, data[field.field_name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ApiSerializer(BoundedInputMixin, serializers.Serializer):
    pass  # the base of the API's plain serializers (bodies)


class ApiModelSerializer(BoundedInputMixin, serializers.ModelSerializer):
    pass  # the base of the API's model serializers


class ApiQuerySerializer(ApiSerializer):
    json_types = False  # a query string's values are all strings: each field reads its own


class JSONObjectParser(JSONParser):
    """A body is a JSON object: a number, string or list where every endpoint expects an
    object is refused here (400 `validation_error`, code `not_an_object`) rather than
    reaching code that reads it as a dict."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        if nesting_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        if not isinstance(data, dict):
            kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
                type(data), "a number"
            )
            message = f"The request body must be a JSON object ({{…}}), not {kind}."
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [serializers.ErrorDetail(message, code="not_an_object")]}
            )
        return data
