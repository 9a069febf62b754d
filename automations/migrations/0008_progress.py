"""Progress a page can watch: a job run's records written of those fetched, and a Progress
row for a person's other long work (processing orders, a Master Product Source change)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_initial'),
        ('automations', '0007_run_leases_and_outbox'),
    ]

    operations = [
        migrations.AddField(
            model_name='jobrun',
            name='progress',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='Progress',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.UUIDField(unique=True)),
                ('kind', models.CharField(choices=[('sales_orders', 'Processing sales orders'), ('purchase_orders', 'Sending purchase orders'), ('master_source', 'Changing the Master Product Source')], max_length=20)),
                ('done', models.PositiveIntegerField(default=0)),
                ('total', models.PositiveIntegerField(default=0)),
                ('step', models.CharField(blank=True, max_length=200)),
                ('status', models.CharField(choices=[('running', 'Running'), ('success', 'Success'), ('partial', 'Partial'), ('failed', 'Failed')], default='running', max_length=10)),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
        ),
    ]
