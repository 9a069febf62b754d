"""REST endpoints of one account: its settings, warehouses, people and audit log.

"The account" is the API key's account, or for a signed-in browser session the account
selected in the portal. Changes go through accounts.services, exactly as the pages'.
"""

from dataclasses import asdict

from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api_errors import error_responses
from oms.api_input import ApiQuerySerializer

from . import services
from .api_base import AccountScopedView, StrictPageSizeMixin
from .models import ORGANIZATION_ROLES, RoleAssignment
from .serializers import (
    AccountSerializer,
    AccountUserFilterSerializer,
    AccountUserSerializer,
    AuditEntryFilterSerializer,
    AuditEntrySerializer,
    ValidationRulesSerializer,
    WarehouseFilterSerializer,
    WarehouseSerializer,
)


class AccountChangeOptionsSerializer(ApiQuerySerializer):
    dry_run = serializers.BooleanField(default=False, help_text="Validate and preview; save nothing.")
    confirm = serializers.BooleanField(default=False, help_text="Confirm a Master Product Source change.")


class DryRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    account = AccountSerializer(help_text="The account as it would be; nothing was saved.")
    preflight = serializers.JSONField(
        allow_null=True, help_text="What a Master Product Source change would do; null without one."
    )


class AccountView(AccountScopedView):
    """The settings of the caller's account: the portal's Main and API Validation Rules tabs."""

    serializer_class = AccountSerializer
    read_only_message = "Account Users may read the settings, not change them."

    @extend_schema(summary="The account's settings and API validation rules")
    def get(self, request):
        return Response(self.get_serializer(self.account).data)

    @extend_schema(
        summary="Change settings and/or API validation rules (all or nothing)",
        description=(
            "Same rules as the portal's Save: send only what changes plus the `version` you "
            "read (`validation_rules_version` for rules). Organization and License Type are "
            "for organization-level roles only. `?dry_run=1` validates the settings and answers "
            "the would-be account and the Master Product Source preflight without saving. "
            "Changing Master Product Source on an account with products answers 409 "
            "`confirmation_required` with the preflight unless `?confirm=1` is sent."
        ),
        parameters=[AccountChangeOptionsSerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="AccountOrDryRun",
                serializers=[AccountSerializer, DryRunSerializer],
                resource_type_field_name=None,
            ),
            **error_responses(
                409,
                description="The version sent is stale (`stale_version`), or a Master Product Source "
                "change awaits `?confirm=1` (`confirmation_required`, with the preflight); "
                "nothing was changed.",
            ),
        },
    )
    def patch(self, request):
        options = self.filters(AccountChangeOptionsSerializer)
        serializer = self.get_serializer(self.account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        settings = AccountSerializer.settings_changes(data)
        if "version" in data and options["dry_run"]:
            return self._dry_run(request, settings, data["version"])
        # A stale version answers 409 `stale_version`, an unconfirmed Master Product Source
        # change 409 `confirmation_required` with its preflight (accounts.api_base).
        with transaction.atomic():
            if "version" in data:
                services.update_account_settings(
                    request.user, self.account, settings, data["version"], confirm=options["confirm"]
                )
            if "validation_rules" in data:
                services.update_validation_rules(
                    request.user,
                    self.account,
                    ValidationRulesSerializer.as_service_rules(data["validation_rules"]),
                    data["validation_rules_version"],
                )
        self.account.refresh_from_db()
        return Response(self.get_serializer(self.account).data)

    def _dry_run(self, request, settings: dict, version: int) -> Response:
        """Validate without saving and say what a Master Product Source change would do."""
        preview = services.preview_account_settings(request.user, self.account, settings, version)
        return Response(
            {
                "dry_run": True,
                "account": self.get_serializer(preview.account).data,
                "preflight": _as_dict(preview.preflight),
            }
        )


def _as_dict(preflight) -> dict | None:
    return asdict(preflight) if preflight is not None else None


class AuditLogPagination(StrictPageSizeMixin, CursorPagination):
    # Entries keep arriving while a client pages; a cursor neither skips nor repeats.
    ordering = ("-at", "-id")


class WarehouseListView(AccountScopedView):
    """The account's warehouses: read with any key or role, add with organization-level roles."""

    serializer_class = WarehouseSerializer

    def get_queryset(self):
        return self.account.warehouses.order_by("name", "id")

    @extend_schema(
        summary="The account's warehouses",
        parameters=[WarehouseFilterSerializer],
        responses=WarehouseSerializer(many=True),
    )
    def get(self, request):
        filters = self.filters(WarehouseFilterSerializer)
        warehouses = self.get_queryset()
        if "is_active" in filters:
            warehouses = warehouses.filter(is_active=filters["is_active"])
        if filters.get("code"):
            warehouses = warehouses.filter(code__iexact=filters["code"])
        if filters.get("search"):
            term = filters["search"]
            warehouses = warehouses.filter(Q(name__icontains=term) | Q(code__icontains=term))
        page = self.paginate_queryset(warehouses)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add a warehouse (organization-level roles only)", responses={201: WarehouseSerializer}
    )
    def post(self, request):
        if not self.access.can_manage_warehouses:
            raise exceptions.PermissionDenied("Only organization-level roles manage warehouses.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        active = fields.pop("is_active", True)
        with transaction.atomic():
            warehouse = services.create_warehouse(request.user, self.account, **fields)
            if not active:
                services.set_warehouse_active(request.user, warehouse, False)
        return Response(self.get_serializer(warehouse).data, status=status.HTTP_201_CREATED)


class WarehouseDetailView(AccountScopedView):
    """One warehouse of the account; another account's ids answer 404."""

    serializer_class = WarehouseSerializer

    def get_object(self):
        return get_object_or_404(self.account.warehouses, pk=self.kwargs["pk"])

    @extend_schema(summary="One warehouse")
    def get(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Edit, deactivate or reactivate a warehouse (organization-level roles only)")
    def patch(self, request, pk):
        warehouse = self.get_object()
        if not self.access.can_manage_warehouses:
            raise exceptions.PermissionDenied("Only organization-level roles manage warehouses.")
        serializer = self.get_serializer(warehouse, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        active = fields.pop("is_active", None)
        with transaction.atomic():
            if fields:
                warehouse = services.update_warehouse(request.user, warehouse, **fields)
            if active is not None:
                warehouse = services.set_warehouse_active(request.user, warehouse, active)
        return Response(self.get_serializer(warehouse).data)


class AccountUserListView(AccountScopedView):
    """People with a role at the account: its own roles and its organization's."""

    serializer_class = AccountUserSerializer

    @extend_schema(
        summary="Who has which role at the account (read-only)",
        parameters=[AccountUserFilterSerializer],
        responses=AccountUserSerializer(many=True),
    )
    def get(self, request):
        filters = self.filters(AccountUserFilterSerializer)
        roles = (
            RoleAssignment.objects.filter(
                Q(account=self.account)
                | Q(organization_id=self.account.organization_id, role__in=ORGANIZATION_ROLES)
            )
            .select_related("user")
            .order_by("user__email", "id")
        )
        if filters.get("role"):
            roles = roles.filter(role=filters["role"])
        page = self.paginate_queryset(roles)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AuditLogView(AccountScopedView):
    """The account's audit log: who changed which field when, old and new value."""

    serializer_class = AuditEntrySerializer
    pagination_class = AuditLogPagination

    @extend_schema(
        summary="Every saved change of the account, newest first (read-only)",
        description="Readable by API keys and organization-level roles. Secrets are never logged.",
        parameters=[AuditEntryFilterSerializer],
        responses={200: AuditEntrySerializer(many=True), **error_responses(403)},
    )
    def get(self, request):
        if not self.access.can_read_audit_log:
            raise exceptions.PermissionDenied("Only organization-level roles read the audit log.")
        filters = self.filters(AuditEntryFilterSerializer)
        entries = self.account.audit_entries.all()
        if filters.get("action"):
            entries = entries.filter(action=filters["action"])
        if filters.get("since"):
            entries = entries.filter(at__gte=filters["since"])
        if filters.get("until"):
            entries = entries.filter(at__lt=filters["until"])
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class NotFoundView(APIView):
    """Unknown paths under the API answer JSON too, whoever asks."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("No such endpoint. Paths end with '/'; see /api/v1/docs/.")
