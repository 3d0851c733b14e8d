"""Ledger permissions for the staff roles of members/migrations/0002_staff_roles.py.

Adds the custom permissions `ledger.can_adjust_points` (goodwill / manual adjustment form) and
`ledger.can_import_points` (points import upload). "Member care agent" views the ledger and may
adjust points; "Marketing manager" views the ledger. Imports stay with superusers unless granted.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MARKETING_MANAGER = "Marketing manager"
MEMBER_CARE_AGENT = "Member care agent"

LEDGER_MODELS = ("pointsaccount", "ledgerevent", "ledgerentry", "pointslot", "pointsredemption")
VIEW = [f"view_{model}" for model in LEDGER_MODELS]

ROLE_PERMISSIONS = {
    MEMBER_CARE_AGENT: [*VIEW, "can_adjust_points"],
    MARKETING_MANAGER: VIEW,
}


def _create_missing_permissions(apps):
    # On a fresh database the post_migrate signal that creates permissions has not run yet.
    app_config = apps.get_app_config("ledger")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True
    try:
        create_permissions(app_config, verbosity=0, apps=apps)
    finally:
        app_config.models_module = original


def grant(apps, schema_editor):
    _create_missing_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = list(
            Permission.objects.filter(content_type__app_label="ledger", codename__in=codenames)
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"Permissions not found for ledger: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="ledger", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_points_requests"),
        ("members", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="pointsaccount",
            options={
                "ordering": ["id"],
                "permissions": [
                    (
                        "can_adjust_points",
                        "Can give goodwill points and make manual adjustments",
                    ),
                    ("can_import_points", "Can import points from a file"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
