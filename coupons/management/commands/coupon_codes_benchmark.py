"""Benchmark of the code generator (the target: at least 1 million codes a second)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from coupons.services.codes import ALPHANUMERIC_ALPHABET, NUMERIC_ALPHABET, CodeShape


class Command(BaseCommand):
    help = "Time the coupon code generator (no database) and print codes per second."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=1_000_000)
        parser.add_argument("--rounds", type=int, default=3)

    def handle(self, *args, count: int, rounds: int, **options):
        shapes = {
            "alphanumeric x10": CodeShape(ALPHANUMERIC_ALPHABET, 10),
            "numeric x12": CodeShape(NUMERIC_ALPHABET, 12),
            "alphanumeric x8 with prefix+suffix": CodeShape(ALPHANUMERIC_ALPHABET, 8, "DW", "X"),
        }
        for label, shape in shapes.items():
            best = min(self._time(shape, count) for _ in range(rounds))
            self.stdout.write(f"{label}: {count:,} codes in {best:.3f}s = {count / best:,.0f}/s")

    @staticmethod
    def _time(shape: CodeShape, count: int) -> float:
        started = time.perf_counter()
        shape.generate(count)
        return time.perf_counter() - started
