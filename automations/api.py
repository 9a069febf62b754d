"""REST endpoints of automations: the account's stable recurring jobs, a channel's
automation settings, and job runs; each job with its next_runs preview. Writes go
through automations.services, scoped like every account endpoint."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from accounts.api_base import AccountScopedView, AccountScopedViewSet
from channels.api import JobRunSerializer
from channels.models import Channel
from channels.platforms import JobType
from channels.selectors import product_job_warning
from oms.api_errors import error_responses
from oms.api_input import ApiQuerySerializer, ApiSerializer

from . import schedule, selectors, services
from .models import ChannelAutomation, JobRun, Mode, RunJobType, RunStatus, Trigger

STALE = error_responses(
    409, description="The version sent is stale (`stale_version`): someone saved since it was read."
)


class NextRunSerializer(serializers.Serializer):
    local = serializers.DateTimeField(help_text="In the account's time zone.")
    utc = serializers.DateTimeField()


class RecurringJobSerializer(serializers.Serializer):
    job_type = serializers.ChoiceField(choices=JobType.choices)
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    period_minutes = serializers.IntegerField()
    delay_minutes = serializers.IntegerField(allow_null=True)
    warning = serializers.CharField(allow_blank=True)
    channels = serializers.ListField(child=serializers.IntegerField())
    next_runs = NextRunSerializer(many=True)


class RecurringJobsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    jobs = RecurringJobSerializer(many=True)


class ChannelJobSerializer(serializers.Serializer):
    job_type = serializers.ChoiceField(choices=JobType.choices)
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    period_minutes = serializers.IntegerField(allow_null=True)
    delay_minutes = serializers.IntegerField(allow_null=True)
    webhook_delay_minutes = serializers.IntegerField(allow_null=True)
    emergency_period_minutes = serializers.IntegerField(allow_null=True)
    emergency_active = serializers.BooleanField()
    warning = serializers.CharField(allow_blank=True)
    next_runs = NextRunSerializer(many=True)


class ChannelJobsSerializer(serializers.Serializer):
    channel = serializers.IntegerField()
    stability = serializers.CharField()
    mode = serializers.ChoiceField(choices=Mode.choices)
    modes = serializers.ListField(child=serializers.ChoiceField(choices=Mode.choices))
    version = serializers.IntegerField()
    jobs = ChannelJobSerializer(many=True)


def _minutes(catalogue, **kwargs) -> serializers.ChoiceField:
    """One of a schedule catalogue's values (null for its "None")."""
    choices = [(m, label) for m, label in catalogue if m is not None]
    return serializers.ChoiceField(
        choices=choices, required=False, allow_null=len(choices) < len(catalogue), **kwargs
    )


class StableJobUpdateSerializer(ApiSerializer):
    enabled = serializers.BooleanField(required=False)
    period_minutes = _minutes(schedule.PERIOD_CHOICES)
    delay_minutes = _minutes(schedule.STABLE_DELAY_CHOICES)


class RecurringJobsUpdateSerializer(ApiSerializer):
    version = serializers.IntegerField(required=False, help_text="The version you read; 409 if stale.")
    jobs = serializers.DictField(
        child=StableJobUpdateSerializer(), help_text="Job type → the settings that change."
    )


class ChannelJobUpdateSerializer(ApiSerializer):
    enabled = serializers.BooleanField(required=False)
    period_minutes = _minutes([(None, "None"), *schedule.PERIOD_CHOICES])
    delay_minutes = _minutes(schedule.BETA_DELAY_CHOICES)
    webhook_delay_minutes = _minutes(schedule.WEBHOOK_DELAY_CHOICES)
    emergency_period_minutes = _minutes(schedule.EMERGENCY_PERIOD_CHOICES)


class ChannelJobsUpdateSerializer(ApiSerializer):
    version = serializers.IntegerField(required=False, help_text="The version you read; 409 if stale.")
    mode = serializers.ChoiceField(choices=Mode.choices, required=False)
    jobs = serializers.DictField(
        child=ChannelJobUpdateSerializer(), required=False, help_text="Job type → the settings that change."
    )


def _runs(preview) -> list[dict]:
    return [{"local": r["local"].isoformat(), "utc": r["utc"].isoformat()} for r in preview]


def _save_jobs(service, *args):
    """Run a jobs service, naming its fields as the request does: the service names them
    as the page's form does (`import_orders-period`), the API's body `jobs.import_orders.
    period_minutes`; the codes stay the service's."""
    try:
        return service(*args)
    except DjangoValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        renamed = {}
        for key, errors in error.error_dict.items():
            job_type, _, setting = key.partition("-")
            if key == "mode":
                renamed[key] = errors
            else:
                renamed[f"jobs.{job_type}" + (f".{setting}_minutes" if setting else "")] = errors
        raise DjangoValidationError(renamed) from None


class RecurringJobsView(AccountScopedView):
    """The account-wide jobs of its stable channels, with their next runs."""

    @extend_schema(responses=RecurringJobsSerializer)
    def get(self, request):
        account = self.account
        return Response(
            {
                "version": services.recurring_jobs_version(account),
                "jobs": [
                    {
                        "job_type": row.job_type,
                        "label": row.label,
                        "enabled": row.setting.enabled,
                        "period_minutes": row.setting.period_minutes,
                        "delay_minutes": row.setting.delay_minutes,
                        "warning": row.warning,
                        "channels": [c.pk for c in row.targets],
                        "next_runs": _runs(selectors.stable_preview(account, row.setting)),
                    }
                    for row in selectors.stable_job_rows(account)
                ],
            }
        )

    @extend_schema(
        summary="Change Enabled, Period and Delay of stable jobs (all or nothing)",
        request=RecurringJobsUpdateSerializer,
        examples=[
            OpenApiExample(
                "Import orders every 15 minutes",
                value={
                    "jobs": {"import_orders": {"enabled": True, "period_minutes": 15, "delay_minutes": None}}
                },
                request_only=True,
            )
        ],
        responses={200: RecurringJobsSerializer, **STALE},
    )
    def patch(self, request):
        body = RecurringJobsUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _save_jobs(services.save_recurring_jobs, self.actor, self.account, data["jobs"], data.get("version"))
        return self.get(request)


class ChannelJobsView(AccountScopedView):
    """A beta channel's Mode and per-job settings, with their next runs."""

    def channel(self, channel_id) -> Channel:
        return get_object_or_404(
            Channel.objects.select_related("account"), account=self.account, pk=channel_id
        )

    @extend_schema(responses=ChannelJobsSerializer)
    def get(self, request, channel_id):
        channel = self.channel(channel_id)
        automation = ChannelAutomation.objects.filter(channel=channel).first()
        mode = selectors.channel_mode(channel)
        jobs = []
        for job_type, s in selectors.channel_job_settings(channel).items():
            recurring = mode != Mode.WEBHOOK
            jobs.append(
                {
                    "job_type": job_type,
                    "label": JobType(job_type).label,
                    "enabled": s.enabled,
                    **{f: getattr(s, f) for f in services.CHANNEL_JOB_FIELDS if f != "enabled"},
                    "emergency_active": mode == Mode.WEBHOOK
                    and s.enabled
                    and bool(s.emergency_period_minutes),
                    "warning": product_job_warning(channel, job_type),
                    "next_runs": _runs(
                        selectors.recurring_preview(channel, s)
                        if recurring
                        else selectors.emergency_preview(channel, s)
                    ),
                }
            )
        return Response(
            {
                "channel": channel.pk,
                "stability": channel.platform_info.stability,
                "mode": mode,
                "modes": selectors.allowed_modes(channel),
                "version": automation.version if automation else 1,
                "jobs": jobs,
            }
        )

    @extend_schema(
        summary="Change a beta channel's Mode and job settings (all or nothing)",
        request=ChannelJobsUpdateSerializer,
        responses={200: ChannelJobsSerializer, **STALE},
    )
    def patch(self, request, channel_id):
        channel = self.channel(channel_id)
        body = ChannelJobsUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _save_jobs(
            services.save_channel_automation,
            self.actor,
            channel,
            data.get("mode") or selectors.channel_mode(channel),
            data.get("jobs", {}),
            data.get("version"),
        )
        return self.get(request, channel_id)


class JobRunFilterSerializer(ApiQuerySerializer):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    trigger = serializers.ChoiceField(choices=Trigger.choices, required=False)
    job_type = serializers.ChoiceField(choices=RunJobType.choices, required=False)
    channel = serializers.IntegerField(required=False, help_text="A channel's id.")


@extend_schema_view(list=extend_schema(parameters=[JobRunFilterSerializer]))
class JobRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Job Runs of the account, newest first, filtered by status, trigger, job type, channel."""

    serializer_class = JobRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JobRun.objects.none()
        runs = JobRun.objects.filter(account=self.account)
        if self.action == "list":
            runs = runs.filter(**self.filters(JobRunFilterSerializer))
        return runs
