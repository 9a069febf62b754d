"""The one beat entry of the engine: the due-jobs dispatcher, every second. Every
configured job lives in the schedule table, so beat's list stays this short."""

from django.db import migrations


def add_entry(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_second, _ = interval_model.objects.get_or_create(every=1, period="seconds")
    task_model.objects.update_or_create(
        name="automations: dispatch due jobs",
        defaults={
            "task": "automations.tasks.dispatch_due_jobs",
            "interval": every_second,
            "enabled": True,
            "queue": "dispatch",
            "expire_seconds": 5,
        },
    )


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="automations: dispatch due jobs"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0002_engine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_entry, remove_entry)]
