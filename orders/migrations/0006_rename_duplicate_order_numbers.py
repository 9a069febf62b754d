"""Order numbers are unique per account for orders without a channel (API, manual,
imported). First, numbers stored twice before the constraint (concurrent retries): the
oldest order keeps its number, each later twin gets " (duplicate <id>)" appended, so
nothing is deleted and the history still shows which was which. The constraint follows
in its own migration (PostgreSQL alters no table with updates pending in the same
transaction)."""

from django.db import migrations
from django.db.models import Count


def rename_duplicates(apps, schema_editor):
    order_model = apps.get_model("orders", "SalesOrder")
    twins = (
        order_model.objects.filter(channel__isnull=True)
        .values("account_id", "number")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for twin in twins:
        orders = order_model.objects.filter(
            channel__isnull=True, account_id=twin["account_id"], number=twin["number"]
        ).order_by("id")
        for order in orders[1:]:
            suffix = f" (duplicate {order.pk})"
            order.number = order.number[: 64 - len(suffix)] + suffix
            order.save(update_fields=["number"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("channels", "0002_channel_settings_mappings_webhooks"),
        ("orders", "0005_order_waiting_event"),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
    ]
