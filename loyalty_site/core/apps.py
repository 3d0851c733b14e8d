from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loyalty_site.core"
    label = "core"
    verbose_name = "Jobs and platform"
    default_auto_field = "django.db.models.BigAutoField"
