"""Coupon permissions for the staff roles of members/migrations/0002_staff_roles.py.

"Marketing manager" adds, changes and views offers, their codes, audiences and reminders;
"Member care agent" views coupons and the offers they belong to.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MARKETING_MANAGER = "Marketing manager"
MEMBER_CARE_AGENT = "Member care agent"

ROLE_PERMISSIONS = {
    MARKETING_MANAGER: {
        "couponseries": ["view", "add", "change"],
        "coupon": ["view", "add", "change"],
        "couponaudience": ["view", "add", "change"],
        "couponaudiencemember": ["view", "add", "change"],
        "couponexpiryreminder": ["view", "add", "change"],
    },
    MEMBER_CARE_AGENT: {
        "couponseries": ["view"],
        "coupon": ["view"],
    },
}


def _codenames(by_model):
    return [f"{action}_{model}" for model, actions in by_model.items() for action in actions]


def _create_missing_permissions(apps):
    # On a fresh database the post_migrate signal that creates permissions has not run yet.
    app_config = apps.get_app_config("coupons")
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
    for role, by_model in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = _codenames(by_model)
        permissions = list(
            Permission.objects.filter(content_type__app_label="coupons", codename__in=codenames)
        )
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"Permissions not found for coupons: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_model in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="coupons", codename__in=_codenames(by_model)
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0001_offers_and_coupons"),
        ("members", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
