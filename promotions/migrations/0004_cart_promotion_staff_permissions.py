"""Cart promotion permissions for the staff roles of members/migrations/0002_staff_roles.py.

"Marketing manager" adds, changes and views cart promotions (and through them their promo codes)
and the org's ranking settings, and views codes, links, earns and evaluations. "Member care
agent" views all of it: a code's status with the bills that redeemed it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MARKETING_MANAGER = "Marketing manager"
MEMBER_CARE_AGENT = "Member care agent"

DEFINITIONS = ("cartpromotion", "cartpromotionsettings")
RECORDS = (
    "promocode",
    "promocodelink",
    "cartpromotionearn",
    "cartevaluation",
    "cartevaluationpromotion",
)

ROLE_PERMISSIONS = {
    MARKETING_MANAGER: [
        *(f"{action}_{model}" for model in DEFINITIONS for action in ("add", "change", "view")),
        *(f"view_{model}" for model in RECORDS),
    ],
    MEMBER_CARE_AGENT: [f"view_{model}" for model in (*DEFINITIONS, *RECORDS)],
}


def _create_missing_permissions(apps):
    # On a fresh database the post_migrate signal that creates permissions has not run yet.
    app_config = apps.get_app_config("promotions")
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
            Permission.objects.filter(content_type__app_label="promotions", codename__in=codenames)
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"Permissions not found for promotions: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="promotions", codename__in=codenames
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("promotions", "0003_cart_promotions"),
        ("members", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
