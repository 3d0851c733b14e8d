"""Staff roles: the "Marketing manager" and "Member care agent" groups and their permissions.

Neither role may change orgs or tills (till credentials are for superusers only). Apps added later
(coupons, promotions, rewards, ledger) grant their own permissions to these groups in their own
migrations.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MARKETING_MANAGER = "Marketing manager"
MEMBER_CARE_AGENT = "Member care agent"

ROLE_PERMISSIONS = {
    MARKETING_MANAGER: {
        "members": {
            "org": ["view"],
            "exchangerate": ["view"],
            "program": ["view", "add", "change"],
            "tier": ["view", "add", "change"],
            "partnerprogram": ["view", "add", "change"],
            "zone": ["view", "add", "change"],
            "concept": ["view", "add", "change"],
            "store": ["view", "add", "change"],
            "customerlabel": ["view", "add", "change"],
            "customer": ["view"],
            "customersourceprofile": ["view"],
            "programenrollment": ["view"],
            "partnerprogramenrollment": ["view"],
            "usergroup": ["view"],
            "usergroupmembership": ["view"],
            "transaction": ["view"],
            "transactionlineitem": ["view"],
        },
        "core": {
            "job": ["view", "add", "change"],
            "jobrowerror": ["view"],
        },
    },
    MEMBER_CARE_AGENT: {
        "members": {
            # Read access to what the customer page shows and links to (autocomplete needs it).
            "org": ["view"],
            "store": ["view"],
            "program": ["view"],
            "tier": ["view"],
            "partnerprogram": ["view"],
            "customerlabel": ["view"],
            "customer": ["view", "change"],
            "customersourceprofile": ["view"],
            "programenrollment": ["view"],
            "partnerprogramenrollment": ["view"],
            "usergroup": ["view", "change"],
            "usergroupmembership": ["view", "add", "change"],
            "transaction": ["view"],
            "transactionlineitem": ["view"],
        },
        "core": {},
    },
}


def _create_missing_permissions(apps):
    # On a fresh database the post_migrate signal that creates permissions has not run yet.
    for label in ("members", "core"):
        app_config = apps.get_app_config(label)
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = original


def create_roles(apps, schema_editor):
    _create_missing_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_app in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, by_model in by_app.items():
            codenames = [
                f"{action}_{model}" for model, actions in by_model.items() for action in actions
            ]
            permissions = list(
                Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
            missing = set(codenames) - {permission.codename for permission in permissions}
            if missing:
                raise RuntimeError(f"Permissions not found for {app_label}: {sorted(missing)}")
            group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
