"""`manage.py seed_demo [--json] [--customers N]`: create the deterministic demo data set."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.services.demo import (
    ADMIN_URL,
    API_DOCS_URL,
    DEFAULT_CUSTOMERS_PER_ORG,
    DemoSeedResult,
    demo_seed,
)


class Command(BaseCommand):
    help = (
        "Create demo orgs, programs, stores, tills, customers, transactions and staff logins. "
        "Safe to run again: existing rows are kept and nothing is duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print only a JSON document with the logins, orgs, programs and till credentials.",
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS_PER_ORG,
            metavar="N",
            help=f"Customers per org (default {DEFAULT_CUSTOMERS_PER_ORG}).",
        )

    def handle(self, *args, **options) -> None:
        if options["customers"] < 0:
            raise CommandError("--customers cannot be negative")
        result = demo_seed(customers_per_org=options["customers"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        self.stdout.write(_summary(result))


def _summary(result: DemoSeedResult) -> str:
    created = ", ".join(f"{count} {name}" for name, count in result.created.items() if count)
    lines = [f"Demo data ready. Created: {created or 'nothing (everything existed already)'}."]
    lines.append("Staff logins:")
    for login in result.logins:
        lines.append(f"  {login.username} / {login.password} ({login.role})")
    lines.append("Orgs:")
    for org in result.orgs:
        parent = f", child of org {org.parent_id}" if org.parent_id else ""
        programs = ", ".join(
            f"{program.name}{' (default)' if program.is_default else ''}"
            for program in org.programs
        )
        lines.append(f"  {org.name} (id {org.id}{parent}): {programs}")
        if org.tills:
            till = org.tills[0]
            lines.append(
                f"    {len(org.tills)} tills, e.g. {till.code} / {till.password} "
                f"(Basic auth sends md5 {till.md5_password})"
            )
        for coupon in org.coupons[:1]:
            lines.append(
                f"    coupon {coupon.code} of '{coupon.offer}' held by mobile {coupon.mobile}"
            )
    lines.append("Run with --json for every till's password and OAuth key and secret.")
    lines.append(f"Admin: {ADMIN_URL}  API docs: {API_DOCS_URL}")
    return "\n".join(lines)
