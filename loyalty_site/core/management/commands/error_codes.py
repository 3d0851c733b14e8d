from django.core.management.base import BaseCommand

from loyalty_site.core.errors_catalog import error_catalog_markdown


class Command(BaseCommand):
    help = "Print the table of every domain error code (the source of docs/API.md's table)."

    def handle(self, *args, **options):
        self.stdout.write(error_catalog_markdown())
