"""Job runs: the record every execution of a channel job writes, whatever started it."""

from django.db import models

from channels.platforms import JobType


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    EMERGENCY = "emergency", "Emergency"
    MANUAL = "manual", "Manual"
    # Started by the Automatic Sales/Purchase Order Workflow, not by a person or a schedule.
    WORKFLOW = "workflow", "Workflow"


class SystemJobType(models.TextChoices):
    """Jobs of an account that belong to no channel. Kept out of JobType so that nothing
    listing a connector's job types (declarations, Recurring Jobs tab, channel page) shows them."""

    PII_RETENTION = "pii_retention", "PII Retention"


# What a JobRun or a schedule row may run: a channel job or a system job.
RunJobType = models.TextChoices(
    "RunJobType", [(t.name, (t.value, t.label)) for t in (*JobType, *SystemJobType)]
)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


FINISHED_STATUSES = (RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.SKIPPED)


class JobRun(models.Model):
    # No single-column indexes on account and channel: the "recent" indexes below lead with
    # them, and every index is one more write per run a dispatcher burst inserts.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="job_runs", db_index=False
    )
    channel = models.ForeignKey(
        "channels.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="job_runs",
        db_index=False,
    )
    job_type = models.CharField("Job", max_length=32, choices=RunJobType.choices)
    trigger = models.CharField("Trigger", max_length=16, choices=Trigger.choices)
    status = models.CharField("Status", max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # One run per (job, window) however often a dispatcher or a retry enqueues it.
    # (A constraint rather than unique=True, which on PostgreSQL adds a second, LIKE index.)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    messages = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The platform ids (Recurring Job By ID) or portal references (an order workflow's
    # send) the run is limited to; null runs the whole job. Kept on the run so that a run
    # sent to the workers again does exactly what it was created to do.
    target_ids = models.JSONField(null=True, blank=True)
    # Until when the run's state is expected to hold (automations.sweeper): a Queued run
    # whose message the broker confirmed waits for a worker until then, a Running one is
    # certainly over by then (its worker's hard time limit has passed). Null on a Queued
    # run: its message was never confirmed in the broker.
    lease_until = models.DateTimeField(null=True, blank=True)
    # The Celery task running the current attempt: the same message delivered again after
    # its worker died takes the run over at once.
    task_id = models.CharField(max_length=64, blank=True, default="")
    # {"done": n, "total": m} of the records the running attempt writes, saved every few
    # records (automations.progress), so its page can show how far it is.
    progress = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="jobrun_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["account", "-queued_at"], name="jobrun_account_recent"),
            models.Index(fields=["channel", "job_type", "-queued_at"], name="jobrun_channel_recent"),
            # Only runs a person asked for (deleting a user finds them); scheduled runs skip it.
            models.Index(
                fields=["requested_by"],
                condition=models.Q(requested_by__isnull=False),
                name="jobrun_requested_by",
            ),
            # What the sweeper reads: only unfinished runs, a handful at any time.
            models.Index(
                fields=["status", "queued_at"],
                condition=models.Q(status__in=["queued", "running"]),
                name="jobrun_unfinished",
            ),
        ]

    def __str__(self):
        return f"{self.get_job_type_display()} ({self.get_trigger_display()}) {self.get_status_display()}"


class Mode(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    RECURRING = "recurring", "Recurring Job"
    RECURRING_BY_ID = "recurring_by_id", "Recurring Job By ID"


class StableJobSetting(models.Model):
    """One row of the Recurring Jobs tab: an account-wide job for its stable channels."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="stable_jobs")
    job_type = models.CharField("Type", max_length=32, choices=JobType.choices)
    enabled = models.BooleanField("Enabled", default=False)
    period_minutes = models.PositiveIntegerField("Period", default=60)
    # None = no delay; 5 = "Minimal 5 minutes"; else explicit minutes (postpones the run).
    delay_minutes = models.PositiveIntegerField("Delay", null=True, blank=True)
    # Summed over the account's rows it is the tab's version (each save bumps what it changes).
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("account", "job_type", name="stable_job_unique_per_account"),
        ]

    def __str__(self):
        return f"{self.get_job_type_display()} (stable, account {self.account_id})"


class ChannelAutomation(models.Model):
    """A beta channel's Mode (stable channels follow the account's Recurring Jobs tab)."""

    channel = models.OneToOneField("channels.Channel", on_delete=models.CASCADE, related_name="automation")
    mode = models.CharField("Mode", max_length=20, choices=Mode.choices, default=Mode.RECURRING)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.get_mode_display()} (channel {self.channel_id})"


class ChannelJobSetting(models.Model):
    """Per job type of a beta channel. Each mode reads its own fields, so switching the
    Mode back and forth keeps what was set for the other mode."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="job_settings")
    job_type = models.CharField("Type", max_length=32, choices=JobType.choices)
    enabled = models.BooleanField("Enabled", default=True)
    # Recurring modes: Main Job Period (None = never) and Delay (shifts windows earlier).
    period_minutes = models.PositiveIntegerField("Main Job Period", null=True, blank=True)
    delay_minutes = models.PositiveIntegerField("Delay", null=True, blank=True)
    # Webhook mode: Delay after the first pending event (None = at once), Emergency Job Period.
    webhook_delay_minutes = models.PositiveIntegerField("Delay", null=True, blank=True)
    emergency_period_minutes = models.PositiveIntegerField("Emergency Job Period", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("channel", "job_type", name="channel_job_unique_per_type"),
        ]

    def __str__(self):
        return f"{self.get_job_type_display()} (channel {self.channel_id})"


class ScheduleKind(models.TextChoices):
    STABLE = "stable", "Stable account job"
    BETA = "beta", "Beta channel job"
    WEBHOOK = "webhook", "Webhook job"
    EMERGENCY = "emergency", "Emergency fallback"
    SYSTEM = "system", "System job"


def row_key(kind: str, owner_id: int, job_type: str) -> str:
    """A schedule row's key, the one spelling of it: the reconciler stores rows by it, the
    dispatcher and the schedule maths shift windows by it, previews compute with it."""
    return f"{kind}:{owner_id}:{job_type}"


class ScheduleEntry(models.Model):
    """One configured job and when it next fires; derived from configuration by the
    reconciler, advanced by the dispatcher. Beat holds only the dispatcher itself."""

    # "<kind>:<account or channel id>:<job type>": the reconciler's identity of the row and
    # the stable seed of the job's offset inside its window.
    key = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ScheduleKind.choices)
    # Found through the (account, kind) index below: one index less to write per advance.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="schedule_entries", db_index=False
    )
    channel = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="schedule_entries"
    )
    job_type = models.CharField(max_length=32, choices=RunJobType.choices, blank=True)
    enabled = models.BooleanField(default=True)
    period_minutes = models.PositiveIntegerField(null=True, blank=True)
    delay_minutes = models.PositiveIntegerField(null=True, blank=True)
    # The account's timezone the times were computed in: a change re-derives them.
    timezone = models.CharField(max_length=64, default="UTC")
    # Webhook rows: NULL while no event is pending (armed by the first one).
    next_run_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    # Webhook rows: one run per channel and job type; the lock expires if a worker dies.
    locked_until = models.DateTimeField(null=True, blank=True)
    lock_run = models.ForeignKey(
        JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Every index is rewritten each time the dispatcher advances a row (next_run_at is
        # indexed, so PostgreSQL cannot update in place): only what queries need, partial
        # where most rows have nothing to index, and no LIKE twin for the key.
        constraints = [models.UniqueConstraint(fields=["key"], name="schedule_key")]
        indexes = [
            # The dispatcher's only question; the partial index keeps it ~0.2 ms at 1M rows.
            models.Index(fields=["next_run_at"], condition=models.Q(enabled=True), name="schedule_due"),
            models.Index(fields=["account", "kind"], name="schedule_account"),
            # A webhook run's lock (settled by the run that holds it).
            models.Index(
                fields=["lock_run"], condition=models.Q(lock_run__isnull=False), name="schedule_lock_run"
            ),
        ]

    def __str__(self):
        return self.key


class OutboxMessage(models.Model):
    """A task to send once the transaction that wrote this row commits (automations.outbox):
    deleted when the broker took it, sent again by the sweeper while the broker was away."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    countdown = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"{self.task}{tuple(self.args)}"


class ProgressKind(models.TextChoices):
    SALES_ORDERS = "sales_orders", "Processing sales orders"
    PURCHASE_ORDERS = "purchase_orders", "Sending purchase orders"
    MASTER_SOURCE = "master_source", "Changing the Master Product Source"


class ProgressStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


class Progress(models.Model):
    """How far a person's long work that is not one job run has come (processing the
    selected orders, a Master Product Source change), read by its page while it runs."""

    # What the page polls: not guessable, and known to the page before the work starts.
    token = models.UUIDField(unique=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=ProgressKind.choices)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # What is being done now, or what came of it once finished.
    step = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=ProgressStatus.choices, default=ProgressStatus.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.get_kind_display()} {self.done}/{self.total} ({self.status})"
