"""Order numbers are unique per account for orders without a channel (API, manual,
imported): two requests racing with one number store it once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0006_rename_duplicate_order_numbers")]

    operations = [
        migrations.AddConstraint(
            model_name="salesorder",
            constraint=models.UniqueConstraint(
                models.F("account"),
                models.F("number"),
                condition=models.Q(("channel__isnull", True)),
                name="sales_order_number_unique_per_account",
            ),
        ),
    ]
