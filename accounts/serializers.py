"""REST representations of accounts, warehouses, people and the audit log.

They parse and render only: every rule of a change lives in accounts.services, which
the API calls exactly as the pages do.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms.api_input import ApiModelSerializer, ApiQuerySerializer, ApiSerializer, IdField

from . import services
from .api_keys import masked
from .models import (
    Account,
    AuditEntry,
    EnforcementStatus,
    Role,
    RoleAssignment,
    ValidationCheck,
    ValidationDocument,
    Warehouse,
)
from .selectors import validation_rules


class StrictSerializer(ApiSerializer):
    """Refuses fields it does not know, so that a misspelt setting is not silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        field: [serializers.ErrorDetail("This field does not exist.", code="unknown_field")]
                        for field in unknown
                    }
                )
        return super().to_internal_value(data)


class RelatedIdField(IdField):
    """The id of a related object; the service resolves it inside the actor's scope.

    A PrimaryKeyRelatedField would look ids up across all tenants and so answer
    differently for another tenant's existing object than for a missing one.
    """

    def get_attribute(self, instance):
        return getattr(instance, f"{self.source}_id")


DocumentRulesSerializer = type(
    "DocumentRulesSerializer",
    (StrictSerializer,),
    {
        "__module__": __name__,
        "__doc__": "Enforcement status of each check for one document type.",
        **{
            check: serializers.ChoiceField(choices=EnforcementStatus.choices, required=False, help_text=label)
            for check, label in ValidationCheck.choices
        },
    },
)


class ValidationRulesSerializer(StrictSerializer):
    """API Validation Rules tab: per document and check, `warning` (default) or `error`."""

    sales_orders = DocumentRulesSerializer(required=False)
    shipments = DocumentRulesSerializer(required=False)
    purchase_orders = DocumentRulesSerializer(required=False)
    receipts = DocumentRulesSerializer(required=False)

    def get_attribute(self, instance):
        return instance

    def to_representation(self, account):
        rules: dict[str, dict[str, str]] = {document: {} for document in ValidationDocument.values}
        for (document, check), status in validation_rules(account).items():
            rules[document][check] = status
        return rules

    @staticmethod
    def as_service_rules(data: dict) -> dict[tuple[str, str], str]:
        return {
            (document, check): status for document, checks in data.items() for check, status in checks.items()
        }


class ApiKeyInfoSerializer(serializers.Serializer):
    prefix = serializers.SerializerMethodField(help_text="The key's visible part; the key is shown once.")
    created_at = serializers.DateTimeField(source="api_key_created_at", read_only=True)
    last_used_at = serializers.DateTimeField(
        source="api_key_last_used_at", read_only=True, help_text="Recorded to the minute."
    )

    @extend_schema_field(OpenApiTypes.STR)
    def get_prefix(self, account):
        return masked(account.api_key_prefix)


class AccountSerializer(StrictSerializer, ApiModelSerializer):
    """The Main tab's settings and the API Validation Rules of the account.

    To change settings send the `version` you read (and `validation_rules_version` to
    change rules); a stale one is refused with 409 and nothing is saved.
    """

    organization = RelatedIdField(help_text="Organization-level roles only; an API key cannot move it.")
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    code = serializers.CharField(max_length=32, help_text="Unique, `[A-Z0-9_-]{2,32}`, stored upper-case.")
    master_product_channel = RelatedIdField(
        allow_null=True, required=False, help_text="Required when the source is a channel."
    )
    default_warehouse = RelatedIdField(
        allow_null=True, required=False, help_text="An active warehouse of this account."
    )
    api_key = ApiKeyInfoSerializer(source="*", read_only=True)
    version = serializers.IntegerField(
        help_text="The settings' version as read; required to change any setting."
    )
    validation_rules = ValidationRulesSerializer(required=False)
    validation_rules_version = serializers.IntegerField(
        required=False, help_text="The rules' version as read; required to change any rule."
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "organization_name",
            *services.ACCOUNT_SETTINGS_FIELDS,
            "api_key",
            "version",
            "validation_rules",
            "validation_rules_version",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]

    def validate(self, data):
        settings = self.settings_changes(data)
        if settings and "version" not in data:
            raise serializers.ValidationError(
                {"version": [serializers.ErrorDetail("Send the version you read.", code="required")]}
            )
        if "validation_rules" in data and "validation_rules_version" not in data:
            raise serializers.ValidationError(
                {
                    "validation_rules_version": [
                        serializers.ErrorDetail("Send the rules' version you read.", code="required")
                    ]
                }
            )
        return data

    @staticmethod
    def settings_changes(data: dict) -> dict:
        versions = {"version", "validation_rules", "validation_rules_version"}
        return {field: value for field, value in data.items() if field not in versions}


class WarehouseSerializer(StrictSerializer, ApiModelSerializer):
    is_default = serializers.SerializerMethodField(help_text="The account's Default Warehouse.")

    class Meta:
        model = Warehouse
        fields = ["id", "name", "code", "address", "is_active", "is_default", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "code": {"help_text": "Unique within the account, stored upper-case."},
            "is_active": {"required": False, "help_text": "Inactive warehouses are kept, not deleted."},
        }

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_default(self, warehouse):
        return self.context["account"].default_warehouse_id == warehouse.pk


class WarehouseFilterSerializer(ApiQuerySerializer):
    is_active = serializers.BooleanField(required=False)
    code = serializers.CharField(required=False, help_text="Exact code, ignoring case.")
    search = serializers.CharField(required=False, help_text="Part of the name or the code.")


class AccountUserSerializer(ApiModelSerializer):
    """One role of one person at this account (organization roles included)."""

    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)
    role_label = serializers.CharField(source="get_role_display", read_only=True)
    scope = serializers.SerializerMethodField(help_text="`organization` or `account`.")

    class Meta:
        model = RoleAssignment
        fields = ["id", "email", "name", "role", "role_label", "scope", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["organization", "account"]))
    def get_scope(self, assignment):
        return "account" if assignment.account_id else "organization"


class AccountUserFilterSerializer(ApiQuerySerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)


class AuditEntrySerializer(ApiModelSerializer):
    actor = serializers.CharField(
        source="actor_label", read_only=True, help_text="A person's email, an API key, or system."
    )

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "field", "old_value", "new_value"]
        read_only_fields = fields


class AuditEntryFilterSerializer(ApiQuerySerializer):
    action = serializers.CharField(required=False, help_text="e.g. `account_settings_changed`.")
    since = serializers.DateTimeField(required=False, help_text="Entries at or after this instant.")
    until = serializers.DateTimeField(required=False, help_text="Entries before this instant.")
