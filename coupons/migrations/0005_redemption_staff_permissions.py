"""Permissions on the Coupons II models for the staff roles: marketing managers and member-care
agents see redemptions (with the reversal flag), reminders sent and the revoke audit, and may
reverse a redemption (change on redemptions: the admin's only change is that action); revoking
goes through the offer's "Revoke coupons" page, which needs change permission on the offer."""

from importlib import import_module

from django.db import migrations

staff = import_module("coupons.migrations.0002_coupon_staff_permissions")

ROLE_PERMISSIONS = {
    staff.MARKETING_MANAGER: {
        "couponredemption": ["view", "change"],
        "couponreminderdelivery": ["view"],
        "couponrevocation": ["view"],
    },
    staff.MEMBER_CARE_AGENT: {
        "couponredemption": ["view", "change"],
        "couponreminderdelivery": ["view"],
        "couponrevocation": ["view"],
    },
}


def grant(apps, schema_editor):
    staff._create_missing_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_model in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = staff._codenames(by_model)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="coupons", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, by_model in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="coupons", codename__in=staff._codenames(by_model)
                )
            )


class Migration(migrations.Migration):
    dependencies = [("coupons", "0004_redemptions_revocations_reminders")]

    operations = [migrations.RunPython(grant, revoke)]
