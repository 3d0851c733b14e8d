"""Fewer indexes to write per ledger row: an event's owner and bill, and an entry's account,
lose their single-column indexes (the recent-events, transaction and (account, sequence)
indexes lead with them); the mostly empty event links (triggered by, created by, related,
corrects) are indexed only where set. An event insert wrote 17 index entries before; now 10,
and one more per link that is set."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_points_account_fillfactor"),
        ("members", "0002_staff_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="ledger.pointsaccount",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="corrects",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="corrections",
                to="ledger.ledgerevent",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="created_by_user",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="members.customer",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="related_event",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.ledgerevent",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="transaction",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_events",
                to="members.transaction",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="triggered_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="members.customer",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerevent",
            name="user_group",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="members.usergroup",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerevent",
            index=models.Index(
                condition=models.Q(("triggered_by__isnull", False)),
                fields=["triggered_by"],
                name="ledger_event_triggered_by",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerevent",
            index=models.Index(
                condition=models.Q(("created_by_user__isnull", False)),
                fields=["created_by_user"],
                name="ledger_event_created_by_user",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerevent",
            index=models.Index(
                condition=models.Q(("related_event__isnull", False)),
                fields=["related_event"],
                name="ledger_event_related_event",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerevent",
            index=models.Index(
                condition=models.Q(("corrects__isnull", False)),
                fields=["corrects"],
                name="ledger_event_corrects",
            ),
        ),
    ]
