"""System jobs: per-account schedule rows not derived from channel job settings.

Each has a daily (or other) period and a runner that executes the JobRun the dispatcher
created; runners live with the data they act on and are imported lazily, since those
apps depend on automations.
"""

from django.utils.module_loading import import_string

from .models import SystemJobType

# job type → (period in minutes, dotted path of the runner taking the queued JobRun)
SYSTEM_JOBS = {
    SystemJobType.PII_RETENTION: (24 * 60, "orders.retention.run_scheduled_retention"),
}


def run_system_job(run):
    return import_string(SYSTEM_JOBS[run.job_type][1])(run)
