"""Check the points ledger's invariants; print every drift and exit non-zero when there is any."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import ledger_verify
from members.models import Org


class Command(BaseCommand):
    help = (
        "Verify the points ledger: balance = sum of entries, closing balances are a running sum, "
        "lot remainders add up to the balance. Exit status 1 on drift."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", type=int, help="Only this org id")

    def handle(self, *args, **options):
        org = None
        if options.get("org") is not None:
            org = Org.objects.filter(pk=options["org"]).first()
            if org is None:
                raise CommandError(f"Org {options['org']} does not exist")
        drifts = ledger_verify(org=org)
        for drift in drifts:
            account = f"account {drift.account_id}: " if drift.account_id else ""
            self.stdout.write(f"DRIFT [{drift.kind}] {account}{drift.message}")
        if drifts:
            raise CommandError(f"{len(drifts)} drift(s) found", returncode=1)
        self.stdout.write(self.style.SUCCESS("Ledger OK: no drift"))
