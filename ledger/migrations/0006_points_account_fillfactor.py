"""On PostgreSQL, points account pages keep half their space free (fillfactor 50).

Every ledger write updates its accounts' cached balance, sequence and updated_at, none of which
is indexed: with room on the page, PostgreSQL writes the new row version there as a heap-only
(HOT) update and touches none of the table's eight indexes. Full pages (the default) make each
update insert into every index: on a batch of 1,000 accounts, 9,000 WAL records and ~21 ms
instead of 1,000 records and ~5 ms. The table is small next to entries and lots, so the
doubled size is cheap. Existing pages take the setting as they are rewritten; new rows use it
at once. (SQLite has no such setting.)"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_pointsaccount SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_pointsaccount RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_ledger_staff_permissions")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
