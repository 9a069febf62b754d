"""Pages of the automations engine."""

from django.urls import path

from . import progress_views, views

urlpatterns = [
    path("channels/<id:channel_id>/automation/", views.save_channel_automation, name="channel_automation"),
    path(
        "channels/<id:channel_id>/automation/preview/",
        views.channel_automation_preview,
        name="channel_automation_preview",
    ),
    path("recurring-jobs/preview/", views.recurring_jobs_preview, name="recurring_jobs_preview"),
    path("schedule/", views.schedule_page, name="schedule"),
    path("channels/<id:channel_id>/job-runs/", views.job_runs, name="channel_job_runs"),
    path("job-runs/", views.job_runs, name="job_runs"),
    path("job-runs/<id:run_id>/", views.job_run, name="job_run"),
    path("progress/runs/<id:run_id>/", progress_views.run_progress, name="run_progress"),
    path("progress/<uuid:token>/", progress_views.work_progress, name="work_progress"),
]
