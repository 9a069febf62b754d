"""Runs are never lost or stuck (automations.sweeper): a run keeps the ids it is
limited to, a lease, and the task running it; tasks other than runs go through an
outbox; the sweeper's beat entry runs every 30 s. Runs already Running get a lease from
now, so a run whose worker died before this change is recovered too."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

SWEEPER = "automations: sweep runs and outbox"


def add_sweeper(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    every, _ = interval_model.objects.get_or_create(every=30, period="seconds")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.update_or_create(
        name=SWEEPER,
        defaults={
            "task": "automations.tasks.sweep",
            "interval": every,
            "enabled": True,
            "queue": "dispatch",
            "expire_seconds": 25,
        },
    )
    lease = timezone.now() + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    apps.get_model("automations", "JobRun").objects.filter(status="running").update(lease_until=lease)


def remove_sweeper(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEPER).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("automations", "0006_dispatch_every_half_second"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('task', models.CharField(max_length=200)),
                ('args', models.JSONField(default=list)),
                ('countdown', models.FloatField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('last_error', models.CharField(blank=True, max_length=500)),
            ],
        ),
        migrations.AddField(
            model_name='jobrun',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='jobrun',
            name='target_ids',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='jobrun',
            name='task_id',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddIndex(
            model_name='jobrun',
            index=models.Index(condition=models.Q(('status__in', ['queued', 'running'])), fields=['status', 'queued_at'], name='jobrun_unfinished'),
        ),
        migrations.RunPython(add_sweeper, remove_sweeper),
    ]
