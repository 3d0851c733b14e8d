"""Code generation: alphabet, rejection sampling, code space checks, set-based inserts."""

from __future__ import annotations

from collections import Counter

import pytest

from coupons.exceptions import (
    CodeCapacityExceededError,
    CouponSeriesInvalidError,
    RandomizedFixedPartUnavailableError,
)
from coupons.models import CodeType, Coupon, CouponSeries
from coupons.services import codes
from coupons.services.codes import (
    ALPHANUMERIC_ALPHABET,
    NUMERIC_ALPHABET,
    CodeShape,
    coupon_code_capacity_check,
    coupon_codes_add,
    coupon_codes_generate,
    random_strings,
    randomized_capacity_note,
)
from coupons.services.series import coupon_series_update


def test_alphanumeric_alphabet_has_no_look_alike_characters():
    assert not set("0O1IL") & set(ALPHANUMERIC_ALPHABET)
    assert len(set(ALPHANUMERIC_ALPHABET)) == len(ALPHANUMERIC_ALPHABET) == 31


def test_generator_produces_100k_codes_of_the_shape():
    # given a 10-character alphanumeric shape with prefix and suffix
    shape = CodeShape(ALPHANUMERIC_ALPHABET, 10, prefix="DW", suffix="X")

    # when 100k codes are drawn in one call
    generated = shape.generate(100_000)

    # then every code has the shape, and random draws from 31^10 do not repeat
    assert len(generated) == 100_000
    assert all(len(code) == 13 and code[:2] == "DW" and code[-1] == "X" for code in generated)
    assert set("".join(code[2:-1] for code in generated[:1000])) <= set(ALPHANUMERIC_ALPHABET)
    assert len(set(generated)) == 100_000


def test_rejection_sampling_keeps_characters_uniform():
    # given the translation table of the 31-character alphabet
    table, delete, accepted = codes._translation(ALPHANUMERIC_ALPHABET)

    # then every character owns the same number of accepted byte values (248 / 31 = 8)
    assert accepted == 248 and len(delete) == 8
    owners = Counter(table[value] for value in range(accepted))
    assert set(owners.values()) == {8}

    # and a large draw has every digit about equally often (numeric: 250 accepted bytes)
    counts = Counter("".join(random_strings(alphabet=NUMERIC_ALPHABET, length=10, count=20_000)))
    assert set(counts) == set(NUMERIC_ALPHABET)
    assert max(counts.values()) / min(counts.values()) < 1.1


def test_capacity_with_margin():
    shape = CodeShape(NUMERIC_ALPHABET, 4)

    assert shape.capacity == 10_000
    assert shape.usable == 5_000


def test_randomized_capacity_note_states_the_real_numbers():
    note = randomized_capacity_note()

    assert "31^5 = 28,629,151" in note
    assert "36^5 = 60,466,176" in note


@pytest.mark.django_db
def test_generate_inserts_unique_unissued_codes(make_series):
    # given an auto-code offer with a prefix
    series = make_series(is_prefix_enabled=True, code_prefix="sum", code_length=6)

    # when 2,000 codes are generated
    landed = coupon_codes_generate(series=series, count=2_000)

    # then they all landed, unissued, upper-case, with the prefix, and the counter moved
    assert landed == 2_000
    created = list(Coupon.objects.filter(series=series).values_list("code", flat=True))
    assert len(created) == len(set(created)) == 2_000
    assert all(code.startswith("SUM") and len(code) == 9 for code in created)
    assert not Coupon.objects.filter(series=series, customer__isnull=False).exists()
    series.refresh_from_db()
    assert series.num_codes == 2_000


@pytest.mark.django_db
def test_collisions_are_topped_up(make_series, monkeypatch):
    # given a generator that first repeats codes already in the org
    series = make_series(code_length=12)
    coupon_codes_generate(series=series, count=10)
    taken = list(Coupon.objects.filter(series=series).values_list("code", flat=True))
    real_generate = CodeShape.generate
    calls = []

    def generate_with_repeats(self, count):
        calls.append(count)
        if len(calls) == 1:
            return taken[:5] + real_generate(self, count - 5)
        return real_generate(self, count)

    monkeypatch.setattr(CodeShape, "generate", generate_with_repeats)

    # when 20 more codes are asked for
    coupon_codes_generate(series=series, count=20)

    # then the 5 collisions were dropped by the database and drawn again
    assert calls == [20, 5]
    assert Coupon.objects.filter(series=series).count() == 30


@pytest.mark.django_db
def test_request_beyond_the_code_space_is_refused(make_series):
    # given a 4-digit numeric offer: 10,000 codes, 5,000 usable
    series = make_series(is_alphanumeric=False, code_length=4)
    coupon_codes_generate(series=series, count=4_000)

    # when 1,001 more are asked for, then the request is refused with the numbers, nothing added
    with pytest.raises(CodeCapacityExceededError) as error:
        coupon_codes_generate(series=series, count=1_001)

    assert "at most 1,000 more" in error.value.message
    assert Coupon.objects.filter(series=series).count() == 4_000


@pytest.mark.django_db
def test_code_space_is_shared_by_offers_of_the_same_shape(make_series):
    first = make_series(is_alphanumeric=False, code_length=4)
    second = make_series(is_alphanumeric=False, code_length=4, discount_code="OTHER")
    coupon_codes_generate(series=first, count=3_000)

    with pytest.raises(CodeCapacityExceededError):
        coupon_code_capacity_check(series=second, additional=2_500)


@pytest.mark.django_db
def test_common_code_offer_does_not_generate(make_series):
    series = make_series(code_type=CodeType.COMMON, generic_code="WELCOME")

    with pytest.raises(CouponSeriesInvalidError):
        coupon_codes_generate(series=series, count=10)


@pytest.mark.django_db
def test_code_settings_are_fixed_once_codes_exist(make_series, till):
    series = make_series(code_length=6)
    coupon_codes_generate(series=series, count=5)

    with pytest.raises(CouponSeriesInvalidError) as error:
        coupon_series_update(series=series, actor=till, values={"code_length": 7})

    assert error.value.field == "code_length"
    series.refresh_from_db()
    assert series.code_length == 6


@pytest.mark.django_db
def test_uploaded_codes_are_added_set_based(make_series):
    # given an upload offer and a code that another offer of the org already holds
    other = make_series(code_type=CodeType.UNIQUE, code_length=6)
    coupon_codes_generate(series=other, count=1)
    existing = Coupon.objects.get(series=other).code
    series = make_series(code_type=CodeType.UPLOADED)

    # when codes are added, with a repeat, a lower-case one, a bad one and the taken one
    result = coupon_codes_add(
        series=series, codes=["abc-001", "ABC-002", "ABC-001", "bad code!", existing]
    )

    # then two landed; the repeat and the taken code are duplicates; the bad one is invalid
    assert result.added == 2
    assert sorted(result.duplicates) == sorted(["ABC-001", existing])
    assert [code for code, _reason in result.invalid] == ["bad code!"]
    series.refresh_from_db()
    assert (series.num_uploaded_total, series.num_uploaded_non_issued, series.num_codes) == (
        2,
        2,
        2,
    )


@pytest.mark.django_db
def test_codes_are_unique_per_org_not_globally(make_series, other_org, till):
    series = make_series(code_type=CodeType.UPLOADED)
    other = make_series(org=other_org, code_type=CodeType.UPLOADED)

    coupon_codes_add(series=series, codes=["SAME-1"])
    result = coupon_codes_add(series=other, codes=["SAME-1"])

    assert result.added == 1


@pytest.mark.django_db
def test_randomized_common_codes_keep_a_unique_fixed_half(make_series):
    # given two randomized offers from samples with the same first half
    first = make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="TEST12345")
    second = make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="test99999")

    # then the first keeps the sample's half, the second gets another unused one
    assert first.random_fixed_part == "TEST"
    assert second.random_fixed_part != "TEST" and len(second.random_fixed_part) == 4
    assert (first.code_length, first.is_alphanumeric) == (5, True)

    # and generated codes have the sample's length with the fixed half
    coupon_codes_generate(series=first, count=100)
    generated = Coupon.objects.filter(series=first).values_list("code", flat=True)
    assert all(len(code) == 9 and code.startswith("TEST") for code in generated)


@pytest.mark.django_db
def test_randomized_numeric_sample_gives_numeric_codes(make_series):
    series = make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="12345")

    coupon_codes_generate(series=series, count=50)

    assert series.is_alphanumeric is False
    assert all(
        code.isdigit() and len(code) == 5 and code.startswith("12")
        for code in Coupon.objects.filter(series=series).values_list("code", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("sample", ["ABCD", "ABCDEFGHIJK", "AB-CDE"])
def test_randomized_sample_must_be_5_to_10_letters_or_digits(make_series, sample):
    with pytest.raises(CouponSeriesInvalidError) as error:
        make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample=sample)

    assert error.value.field == "random_code_sample"
    assert not CouponSeries.objects.exists()


@pytest.mark.django_db
def test_randomized_fixed_parts_run_out(make_series):
    # given every 2-digit fixed part of 5-digit numeric samples is taken (100 of them)
    for index in range(100):
        make_series(
            code_type=CodeType.RANDOMIZED_COMMON,
            random_code_sample=f"{index:02d}999",
            discount_code=f"R{index}",
        )

    # when one more is asked for, then it is refused clearly
    with pytest.raises(RandomizedFixedPartUnavailableError):
        make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="55555")


@pytest.mark.django_db
def test_randomized_sample_cannot_change(make_series, till):
    series = make_series(code_type=CodeType.RANDOMIZED_COMMON, random_code_sample="TEST12345")

    with pytest.raises(ValueError):
        coupon_series_update(series=series, actor=till, values={"random_code_sample": "OTHER1"})

    with pytest.raises(CouponSeriesInvalidError):
        coupon_series_update(series=series, actor=till, values={"code_type": CodeType.UNIQUE})
