"""REST endpoints of automations: the account's stable recurring jobs, a channel's
automation settings, and job runs; each job with its next_runs preview. Writes go
through automations.services, scoped like every account endpoint."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import StaleVersionError
from channels.api import JobRunSerializer
from channels.api_support import AccountScopedViewSet
from channels.models import Channel
from channels.platforms import JobType
from channels.selectors import product_job_warning, request_account

from . import selectors, services
from .models import ChannelAutomation, JobRun, Mode, RunJobType, RunStatus, Trigger
from .views import JOB_FIELDS

RECURRING_JOB = inline_serializer(
    "RecurringJob",
    {
        "job_type": serializers.CharField(),
        "label": serializers.CharField(),
        "enabled": serializers.BooleanField(),
        "period_minutes": serializers.IntegerField(),
        "delay_minutes": serializers.IntegerField(allow_null=True),
        "warning": serializers.CharField(),
        "channels": serializers.ListField(child=serializers.IntegerField()),
        "next_runs": inline_serializer(
            "NextRuns", {"local": serializers.DateTimeField(), "utc": serializers.DateTimeField()}, many=True
        ),
    },
    many=True,
)
RECURRING_JOBS = inline_serializer(
    "RecurringJobs", {"version": serializers.IntegerField(), "jobs": RECURRING_JOB}
)
CHANNEL_JOBS = inline_serializer(
    "ChannelJobs", {"mode": serializers.CharField(), "jobs": serializers.ListField()}
)


def _runs(preview) -> list[dict]:
    return [{"local": r["local"].isoformat(), "utc": r["utc"].isoformat()} for r in preview]


class _Scoped(APIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.account, self.can_write = request_account(request)

    def actor(self):
        """A person or an API key: both are checked and named in the audit log."""
        return self.request.user

    def write(self, service, *args):
        if not self.can_write:
            return Response({"detail": "Account Users have read-only access."}, status=403)
        try:
            AccountScopedViewSet.call(service, self.actor(), *args)
        except StaleVersionError as error:
            return Response({"detail": str(error), "current_version": error.current_version}, status=409)
        return None


class RecurringJobsView(_Scoped):
    """GET /recurring-jobs/: the account-wide jobs of its stable channels.
    PATCH with {"version", "jobs": {job_type: {enabled, period_minutes, delay_minutes}}}."""

    @extend_schema(responses=RECURRING_JOBS)
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
        request=inline_serializer(
            "RecurringJobsUpdate", {"version": serializers.IntegerField(), "jobs": serializers.DictField()}
        ),
        responses=RECURRING_JOBS,
    )
    def patch(self, request):
        jobs = request.data.get("jobs")
        if not isinstance(jobs, dict):
            return Response({"jobs": ["An object of job type → settings is required."]}, status=400)
        refused = self.write(services.save_recurring_jobs, self.account, jobs, request.data.get("version"))
        return refused or self.get(request)


class ChannelJobsView(_Scoped):
    """GET /channels/{id}/jobs/: a beta channel's Mode and per-job settings.
    PATCH with {"version", "mode", "jobs": {job_type: {enabled, period_minutes, ...}}}."""

    def channel(self, channel_id) -> Channel:
        return get_object_or_404(
            Channel.objects.select_related("account"), account=self.account, pk=channel_id
        )

    @extend_schema(responses=CHANNEL_JOBS)
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
                    **{f: getattr(s, f) for f in JOB_FIELDS},
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
        request=inline_serializer(
            "ChannelJobsUpdate",
            {
                "version": serializers.IntegerField(),
                "mode": serializers.CharField(),
                "jobs": serializers.DictField(),
            },
        ),
        responses=CHANNEL_JOBS,
    )
    def patch(self, request, channel_id):
        channel = self.channel(channel_id)
        jobs = request.data.get("jobs") or {}
        if not isinstance(jobs, dict):
            return Response({"jobs": ["An object of job type → settings is required."]}, status=400)
        mode = request.data.get("mode") or selectors.channel_mode(channel)
        refused = self.write(
            services.save_channel_automation, channel, mode, jobs, request.data.get("version")
        )
        return refused or self.get(request, channel_id)


@extend_schema(
    parameters=[
        OpenApiParameter("status", enum=RunStatus.values),
        OpenApiParameter("trigger", enum=Trigger.values),
        OpenApiParameter("job_type", enum=RunJobType.values),
        OpenApiParameter("channel", int),
    ]
)
class JobRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccountScopedViewSet):
    """Job Runs of the account, newest first, filtered by status, trigger, job type, channel."""

    serializer_class = JobRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JobRun.objects.none()
        runs = JobRun.objects.filter(account=self.account)
        params = self.request.query_params
        for name, choices in (("status", RunStatus), ("trigger", Trigger), ("job_type", RunJobType)):
            if params.get(name) in choices.values:
                runs = runs.filter(**{name: params[name]})
        if params.get("channel", "").isdigit():
            runs = runs.filter(channel_id=int(params["channel"]))
        return runs
