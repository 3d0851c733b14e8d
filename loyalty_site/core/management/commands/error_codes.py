import re
from pathlib import Path

from django.core.management.base import BaseCommand

from loyalty_site.core.errors_catalog import error_catalog_markdown

START = "<!-- error-codes:start -->"
END = "<!-- error-codes:end -->"


class Command(BaseCommand):
    help = (
        "Print the table of every domain error code; with --write FILE, replace the table between "
        "the error-codes markers of FILE (docs/API.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", metavar="FILE", help="update the table in this file")

    def handle(self, *args, **options):
        table = error_catalog_markdown()
        target = options.get("write")
        if not target:
            self.stdout.write(table)
            return
        path = Path(target)
        text = path.read_text()
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(text):
            self.stderr.write(f"{target} has no {START} ... {END} markers")
            raise SystemExit(1)
        path.write_text(pattern.sub(lambda _: f"{START}\n{table}{END}", text))
        self.stdout.write(f"updated {target}")
