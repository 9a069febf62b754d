"""REST routes of automations under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("job-runs", api.JobRunViewSet, basename="api-job-run")

urlpatterns = [
    *router.urls,
    path("recurring-jobs/", api.RecurringJobsView.as_view(), name="api-recurring-jobs"),
    path("channels/<id:channel_id>/jobs/", api.ChannelJobsView.as_view(), name="api-channel-jobs"),
]
