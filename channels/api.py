"""REST endpoints of channels: settings, warehouse mappings, webhook secret rotation,
manual synchronization and recent runs. Writes go through channels.services."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.services import StaleVersionError
from automations.models import JobRun
from automations.services import request_sync

from . import services
from .api_support import AccountScopedViewSet
from .models import Channel, WarehouseMapping
from .platforms import PLATFORMS, JobType


class WarehouseMappingSerializer(serializers.ModelSerializer):
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


class ChannelSerializer(serializers.ModelSerializer):
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


class JobRunSerializer(serializers.ModelSerializer):
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
        kind = self.request.query_params.get("kind")
        return queryset.filter(kind=kind) if kind else queryset

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        channel = self.call(services.create_channel, self.actor, self.account, **data)
        return Response(self.get_serializer(channel).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        channel = self.get_object()
        serializer = self.get_serializer(channel, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        credentials = data.pop("credentials", None)
        if "kind" in data and data.pop("kind") != channel.kind:
            raise serializers.ValidationError({"kind": ["A channel's kind cannot change."]})
        try:
            channel = self.call(
                services.update_channel, self.actor, channel, data, version, credentials=credentials
            )
        except StaleVersionError as error:
            return Response({"detail": str(error), "current_version": error.current_version}, status=409)
        return Response(self.get_serializer(channel).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("WebhookSecret", {"webhook_secret": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"], url_path="rotate-webhook-secret")
    def rotate_webhook_secret(self, request, pk=None):
        """A new signing secret, valid at once; the only time it is returned."""
        secret = self.call(services.rotate_webhook_secret, self.actor, self.get_object())
        return Response({"webhook_secret": secret}, headers={"Cache-Control": "no-store"})

    @extend_schema(
        request=inline_serializer(
            "SyncRequest", {"job_type": serializers.ChoiceField(choices=JobType.choices)}
        ),
        responses={202: JobRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Run one job of the channel now, in the background (a manual Job Run)."""
        run = self.call(request_sync, self.actor, self.get_object(), request.data.get("job_type"))
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
        mapping = self.call(services.add_mapping, self.actor, channel, data["location"], data["warehouse"].pk)
        return Response(self.get_serializer(mapping).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, mapping):
        self.call(services.remove_mapping, self.actor, mapping)
