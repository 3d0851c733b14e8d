from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loyalty_site.core"
    label = "core"
    verbose_name = "Jobs and platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI descriptions of the till authentication schemes.
        from loyalty_site.api import schema  # noqa: F401
