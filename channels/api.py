"""REST endpoints of channels: settings, warehouse mappings, webhook secret rotation,
manual synchronization and recent runs. Writes go through channels.services."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api_base import AccountScopedViewSet
from automations.models import JobRun
from automations.services import request_sync
from oms.api_errors import error_responses
from oms.api_input import ApiModelSerializer, ApiQuerySerializer, ApiSerializer

from . import services
from .models import Channel, WarehouseMapping
from .platforms import PLATFORMS, ChannelKind, JobType


class WarehouseMappingSerializer(ApiModelSerializer):
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = WarehouseMapping
        fields = ["id", "location", "warehouse", "warehouse_code", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        view = self.context.get("view")
        account = getattr(view, "account", None)
        fields["warehouse"] = serializers.PrimaryKeyRelatedField(
            queryset=account.warehouses.all() if account else WarehouseMapping.objects.none()
        )
        return fields


class ChannelSerializer(ApiModelSerializer):
    platform = serializers.ChoiceField(choices=[(k, p.label) for k, p in PLATFORMS.items()])
    platform_label = serializers.SerializerMethodField()
    stability = serializers.SerializerMethodField()
    job_types = serializers.SerializerMethodField()
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        write_only=True,
        required=False,
        help_text="The platform's credential fields (e.g. api_key). Never returned.",
    )
    has_credentials = serializers.BooleanField(read_only=True)
    webhook_url = serializers.SerializerMethodField()
    warehouse_mappings = WarehouseMappingSerializer(many=True, read_only=True)
    version = serializers.IntegerField(required=False, help_text="Send the version you read; 409 if stale.")

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "platform",
            "platform_label",
            "stability",
            "is_active",
            "credentials",
            "has_credentials",
            "buffer_stock",
            "pii_retention_days",
            "webhook_url",
            "warehouse_mappings",
            "job_types",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_platform_label(self, channel) -> str:
        return channel.platform_info.label

    def get_stability(self, channel) -> str:
        return channel.platform_info.stability

    def get_job_types(self, channel) -> list[str]:
        return list(channel.platform_info.job_types)

    def get_webhook_url(self, channel) -> str | None:
        if not channel.platform_info.supports_webhooks:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("channel_webhook", args=[channel.webhook_token])
        )


class JobRunSerializer(ApiModelSerializer):
    class Meta:
        model = JobRun
        fields = [
            "id",
            "channel",
            "job_type",
            "trigger",
            "status",
            "queued_at",
            "started_at",
            "finished_at",
            "counts",
            "messages",
        ]


class ChannelFilterSerializer(ApiQuerySerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices, required=False)


class SyncRequestSerializer(ApiSerializer):
    job_type = serializers.ChoiceField(choices=JobType.choices)


@extend_schema_view(
    list=extend_schema(parameters=[ChannelFilterSerializer]),
    create=extend_schema(
        examples=[
            OpenApiExample(
                "A marketplace",
                value={
                    "name": "Web Shop",
                    "kind": "sales",
                    "platform": "sandbox_marketplace",
                    "credentials": {"api_key": "shop-key"},
                },
                request_only=True,
            )
        ]
    ),
)
class ChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    AccountScopedViewSet,
):
    serializer_class = ChannelSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no account
            return Channel.objects.none()
        queryset = Channel.objects.filter(account=self.account).prefetch_related(
            "warehouse_mappings__warehouse"
        )
        if self.action == "list":
            kind = self.filters(ChannelFilterSerializer).get("kind")
            return queryset.filter(kind=kind) if kind else queryset
        return queryset

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        channel = services.create_channel(self.actor, self.account, **data)
        return Response(self.get_serializer(channel).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ChannelSerializer, **error_responses(409)})
    def partial_update(self, request, pk=None):
        channel = self.get_object()
        serializer = self.get_serializer(channel, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        credentials = data.pop("credentials", None)
        if "kind" in data and data.pop("kind") != channel.kind:
            raise serializers.ValidationError(
                {"kind": [serializers.ErrorDetail("A channel's kind cannot change.", code="immutable")]}
            )
        channel = services.update_channel(self.actor, channel, data, version, credentials=credentials)
        return Response(self.get_serializer(channel).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("WebhookSecret", {"webhook_secret": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"], url_path="rotate-webhook-secret")
    def rotate_webhook_secret(self, request, pk=None):
        """A new signing secret, valid at once; the only time it is returned."""
        secret = services.rotate_webhook_secret(self.actor, self.get_object())
        return Response({"webhook_secret": secret}, headers={"Cache-Control": "no-store"})

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "ConnectionTest", {"ok": serializers.BooleanField(), "message": serializers.CharField()}
        ),
    )
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        """Try the channel's saved credentials against its platform; changes nothing there.
        `ok` false with a message saying plainly what is wrong (unreachable, refused
        credentials, something missing on the platform)."""
        ok, message = services.test_connection(self.actor, self.get_object())
        return Response({"ok": ok, "message": message})

    @extend_schema(request=SyncRequestSerializer, responses={202: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Run one job of the channel now, in the background (a manual Job Run)."""
        channel = self.get_object()
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = request_sync(self.actor, channel, body.validated_data["job_type"])
        return Response(JobRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=JobRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        """The channel's job runs, newest first."""
        page = self.paginate_queryset(JobRun.objects.filter(channel=self.get_object()))
        return self.get_paginated_response(JobRunSerializer(page, many=True).data)


class WarehouseMappingViewSet(
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    AccountScopedViewSet,
):
    """Warehouse Mappings of one channel: /channels/{channel_id}/mappings/."""

    serializer_class = WarehouseMappingSerializer

    def channel(self) -> Channel:
        return get_object_or_404(Channel, account=self.account, pk=self.kwargs["channel_id"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WarehouseMapping.objects.none()
        return self.channel().warehouse_mappings.select_related("warehouse")

    def create(self, request, channel_id=None):
        channel = self.channel()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mapping = services.add_mapping(self.actor, channel, data["location"], data["warehouse"].pk)
        return Response(self.get_serializer(mapping).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, mapping):
        services.remove_mapping(self.actor, mapping)
