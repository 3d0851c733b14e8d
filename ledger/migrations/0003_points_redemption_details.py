"""Redemption metadata that PUT /v2/points/updateRedemption sets: bill id, validation code and
custom fields (the bill number is the existing transaction_number)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_entries_append_only")]

    operations = [
        migrations.AddField(
            model_name="pointsredemption",
            name="bill_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="pointsredemption",
            name="custom_fields",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="pointsredemption",
            name="validation_code",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
