"""Job runs: the record every execution of a channel job writes, whatever started it."""

from django.db import models

from channels.platforms import JobType


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    EMERGENCY = "emergency", "Emergency"
    MANUAL = "manual", "Manual"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


FINISHED_STATUSES = (RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.SKIPPED)


class JobRun(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="job_runs")
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="job_runs"
    )
    job_type = models.CharField("Job", max_length=32, choices=JobType.choices)
    trigger = models.CharField("Trigger", max_length=16, choices=Trigger.choices)
    status = models.CharField("Status", max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # One run per (job, window) however often a dispatcher or a retry enqueues it.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    messages = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-queued_at"], name="jobrun_account_recent"),
            models.Index(fields=["channel", "job_type", "-queued_at"], name="jobrun_channel_recent"),
        ]

    def __str__(self):
        return f"{self.get_job_type_display()} ({self.get_trigger_display()}) {self.get_status_display()}"
