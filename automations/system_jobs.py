"""System jobs: per-account schedule rows not derived from channel job settings.

Each has a daily (or other) period and a runner that executes the JobRun the dispatcher
created; runners are jobs of the engine (automations.jobs).
"""

from .jobs.retention import run_scheduled_retention
from .models import SystemJobType

# job type → (period in minutes, the runner taking the queued JobRun)
SYSTEM_JOBS = {
    SystemJobType.PII_RETENTION: (24 * 60, run_scheduled_retention),
}


def run_system_job(run):
    return SYSTEM_JOBS[run.job_type][1](run)
