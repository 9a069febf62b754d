"""The audit log of automation settings holds only what a person changed: a page posts
every job's every field, and jobs never saved before show (and post) their defaults."""

import pytest

from accounts.models import AuditEntry
from automations import services
from automations.models import ChannelJobSetting, Mode, ScheduleEntry, ScheduleKind, row_key
from automations.selectors import channel_job_settings, stable_job_rows
from channels.platforms import JobType

pytestmark = pytest.mark.django_db

FIELDS = services.CHANNEL_JOB_FIELDS


def _as_posted(channel) -> dict[str, dict]:
    """Every job of the channel with the values its page shows, as the form posts them."""
    return {
        job_type: {f: getattr(setting, f) for f in FIELDS}
        for job_type, setting in channel_job_settings(channel).items()
    }


def _audit(account, action):
    return list(
        AuditEntry.objects.filter(account=account, action=action).values_list(
            "field", "old_value", "new_value"
        )
    )


def test_changing_one_field_of_a_never_saved_channel_writes_one_audit_row(
    world, beta_channel, django_capture_on_commit_callbacks
):
    jobs = _as_posted(beta_channel)
    assert len(jobs) * len(FIELDS) > 20  # the page posts many fields: only one changes
    jobs[JobType.IMPORT_ORDERS]["period_minutes"] = 60

    with django_capture_on_commit_callbacks(execute=True):
        services.save_channel_automation(world.account_admin, beta_channel, Mode.RECURRING, jobs, None)

    assert _audit(world.acme_us, "channel_automation_changed") == [
        ("Channel Beta Shop: Import Orders: Main Job Period", "None", services.PERIODS[60])
    ]
    # The jobs left at their defaults are stored all the same, so the schedule follows them.
    assert ChannelJobSetting.objects.filter(channel=beta_channel).count() == len(jobs)
    assert ScheduleEntry.objects.get(
        key=row_key(ScheduleKind.BETA, beta_channel.pk, JobType.IMPORT_ORDERS)
    ).enabled


def test_saving_a_channel_again_unchanged_writes_no_audit_row(world, beta_channel):
    jobs = _as_posted(beta_channel)
    jobs[JobType.IMPORT_ORDERS]["period_minutes"] = 60
    automation = services.save_channel_automation(
        world.account_admin, beta_channel, Mode.RECURRING, jobs, None
    )
    before = AuditEntry.objects.count()

    again = services.save_channel_automation(
        world.account_admin, beta_channel, Mode.RECURRING, _as_posted(beta_channel), automation.version
    )

    assert AuditEntry.objects.count() == before
    assert again.version == automation.version


def test_changing_two_fields_of_a_saved_job_writes_two_audit_rows_with_old_values(world, beta_channel):
    jobs = _as_posted(beta_channel)
    jobs[JobType.IMPORT_ORDERS]["period_minutes"] = 60
    automation = services.save_channel_automation(
        world.account_admin, beta_channel, Mode.RECURRING, jobs, None
    )
    AuditEntry.objects.all().delete()

    jobs = _as_posted(beta_channel)
    jobs[JobType.IMPORT_ORDERS].update(period_minutes=120, enabled=False)
    services.save_channel_automation(
        world.account_admin, beta_channel, Mode.RECURRING, jobs, automation.version
    )

    assert sorted(_audit(world.acme_us, "channel_automation_changed")) == [
        ("Channel Beta Shop: Import Orders: Enabled", "Yes", "No"),
        ("Channel Beta Shop: Import Orders: Main Job Period", services.PERIODS[60], services.PERIODS[120]),
    ]


def test_changing_one_stable_job_field_writes_one_audit_row(
    world, stable_channels, django_capture_on_commit_callbacks
):
    rows = stable_job_rows(world.acme_us)
    jobs = {
        r.job_type: {
            "enabled": r.setting.enabled,
            "period_minutes": r.setting.period_minutes,
            "delay_minutes": r.setting.delay_minutes,
        }
        for r in rows
        if r.offered
    }
    assert len(jobs) > 3
    jobs[JobType.IMPORT_ORDERS]["enabled"] = True

    with django_capture_on_commit_callbacks(execute=True):
        services.save_recurring_jobs(world.account_admin, world.acme_us, jobs, None)

    assert _audit(world.acme_us, "recurring_jobs_changed") == [
        ("Recurring Jobs: Import Orders: Enabled", "No", "Yes")
    ]
    assert ScheduleEntry.objects.get(
        key=row_key(ScheduleKind.STABLE, world.acme_us.pk, JobType.IMPORT_ORDERS)
    ).enabled
