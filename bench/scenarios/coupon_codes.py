"""Coupon code generation for a large series: the generator alone (codes/s, target 1M/s; no
database, best of a few rounds), then coupons.services.codes.coupon_codes_generate writing a
series' unissued codes against a raw COPY of as many coupon rows (the physical floor)."""

from __future__ import annotations

import datetime
import time

from django.utils import timezone

from bench.context import ScenarioContext
from bench.registry import Scenario, scenario
from bench.sql import copy_rows
from coupons.models import CodeType, Coupon, CouponSeries
from coupons.services.codes import ALPHANUMERIC_ALPHABET, CodeShape, coupon_codes_generate
from coupons.services.series import coupon_series_create

TARGET_CODES_PER_SECOND = 1_000_000
CODE_LENGTH = 10


@scenario
class CouponCodeGeneration(Scenario):
    name = "coupon_code_generation"
    title = "Coupon code generation: generator alone, and a series' codes written vs raw COPY"
    order = 65
    sizes = {
        "small": {"generated": 200_000, "rounds": 3, "series_codes": 50_000},
        "medium": {"generated": 1_000_000, "rounds": 3, "series_codes": 200_000},
        "default": {"generated": 1_000_000, "rounds": 5, "series_codes": 1_000_000},
    }

    def run(self, ctx: ScenarioContext) -> None:
        count = ctx.sizes["generated"]
        shape = CodeShape(ALPHANUMERIC_ALPHABET, CODE_LENGTH)
        timings = []
        for _round in range(ctx.sizes["rounds"]):
            started = time.perf_counter()
            codes = shape.generate(count)
            timings.append(time.perf_counter() - started)
        ctx.figure(
            f"generator, {CODE_LENGTH} alphanumeric",
            count / min(timings),
            "codes/s",
            target=TARGET_CODES_PER_SECOND,
            samples=count,
            detail=f"best of {len(timings)} rounds",
        )
        ctx.detail("generator round seconds", [round(seconds, 4) for seconds in timings])
        alphabet = set(ALPHANUMERIC_ALPHABET)
        ctx.check(
            "codes have the series' shape",
            len(codes) == count
            and all(len(code) == CODE_LENGTH and set(code) <= alphabet for code in codes[:10_000]),
        )

        bench = ctx.org("coupon codes")
        series_count = ctx.sizes["series_codes"]
        series = _series(bench, "Bench offer")
        started = time.perf_counter()
        landed = coupon_codes_generate(series=series, count=series_count, actor=bench.till)
        seconds = time.perf_counter() - started

        reference_series = _series(bench, "Bench reference offer")
        # Codes outside the generator's alphabet, so they cannot collide with the series'.
        reference_codes = [f"REF{number:012d}" for number in range(series_count)]
        started = time.perf_counter()
        copied = copy_rows(
            Coupon,
            fields=["code"],
            rows=((code,) for code in reference_codes),
            constants={
                "org": bench.org.pk,
                "series": reference_series.pk,
                "source": Coupon.Source.GENERATED,
            },
        )
        reference_seconds = time.perf_counter() - started
        ctx.figure(
            "series codes written",
            landed / seconds,
            "codes/s",
            reference=copied / reference_seconds,
            reference_name="raw COPY of coupon rows",
            samples=landed,
        )
        series.refresh_from_db()
        unissued = Coupon.objects.filter(series=series, customer__isnull=True).count()
        ctx.check(
            "the series holds every code, unissued",
            landed == series_count == unissued == series.num_codes,
            f"{landed} landed, {unissued} unissued rows, num_codes {series.num_codes}",
        )


def _series(bench, description: str) -> CouponSeries:
    return coupon_series_create(
        org=bench.org,
        actor=bench.till,
        values={
            "description": description,
            "code_type": CodeType.UNIQUE,
            "code_length": CODE_LENGTH,
            "is_alphanumeric": True,
            "valid_till": timezone.now() + datetime.timedelta(days=30),
        },
    ).series
