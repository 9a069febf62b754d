"""Pages of the automations engine."""

from django.urls import path

from . import views

urlpatterns = [
    path("channels/<id:channel_id>/automation/", views.save_channel_automation, name="channel_automation"),
    path("channels/<id:channel_id>/job-runs/", views.job_runs, name="channel_job_runs"),
    path("job-runs/", views.job_runs, name="job_runs"),
]
