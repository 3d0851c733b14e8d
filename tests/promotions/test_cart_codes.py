"""Promo codes of CODE promotions: generation (more after creation), CSV upload with a per-row
report, the link-code API, code lookup with remaining redemptions and redemptions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loyalty_site.core.jobs import job_error_report_csv
from loyalty_site.core.models import Job
from promotions.models import PromoCode, PromoCodeLink
from promotions.services.cart import (
    cart_promotion_set_active,
    promo_codes_generate,
    promo_codes_generate_start,
    promo_codes_upload_start,
)
from promotions.services.cart.codes import code_shape
from tests.promotions.cart_factories import (  # noqa: F401 (fresh_cart_catalog is autouse)
    ENGINE,
    bill_with,
    customer_of,
    evaluate,
    fresh_cart_catalog,
    item,
    make_cart_promotion,
    make_code_promotion,
)

LIMIT = {
    "Code": [{"kpi": "REDEMPTION", "limit": 3}],
    "Promotion": [{"kpi": "TRANSACTION", "limit": 100}],
}


@pytest.mark.django_db
def test_generated_codes_use_the_coupon_generator_and_more_can_follow(
    org, django_capture_on_commit_callbacks
):
    promotion, _ = make_code_promotion(org, "FIRST")

    promo_codes_generate(promotion=promotion, count=50, length=6, prefix="zn")
    with django_capture_on_commit_callbacks(execute=True):
        job = promo_codes_generate_start(promotion=promotion, count=25, length=8)

    codes = list(PromoCode.objects.filter(promotion=promotion, source="GENERATED"))
    assert len(codes) == 75
    assert len({code.code for code in codes}) == 75
    assert all(set(code.code[2:]) <= set("23456789ABCDEFGHJKMNPQRSTUVWXYZ") for code in codes[:50])
    assert sum(1 for code in codes if code.code.startswith("ZN") and len(code.code) == 8) >= 50
    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED and job.processed == 25


@pytest.mark.django_db
def test_generation_refuses_other_promotions_and_a_crowded_code_space(org):
    pos = make_cart_promotion(org)
    promotion, _ = make_code_promotion(org, "X1", name="code")

    with pytest.raises(Exception) as not_code:
        promo_codes_generate(promotion=pos, count=1)
    with pytest.raises(Exception) as crowded:
        promo_codes_generate(promotion=promotion, count=10**6, length=4, is_alphanumeric=False)

    assert not_code.value.code == 4123
    assert crowded.value.code == 4126
    assert code_shape(length=4, is_alphanumeric=False).usable == 5000


@pytest.mark.django_db
def test_an_upload_adds_good_rows_and_reports_each_bad_one(
    org, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    promotion, _ = make_code_promotion(org, "TAKEN")
    content = "code\nsummer10\nSUMMER11\nbad code!\nSUMMER10\nTAKEN\n\nSUMMER12\n"

    with django_capture_on_commit_callbacks(execute=True):
        job = promo_codes_upload_start(
            promotion=promotion,
            file=SimpleUploadedFile("codes.csv", content.encode(), content_type="text/csv"),
            file_name="codes.csv",
        )

    job.refresh_from_db()
    assert job.status == Job.Status.FINISHED
    assert (job.total, job.processed, job.failed) == (6, 6, 3)
    assert set(
        PromoCode.objects.filter(promotion=promotion, source="UPLOADED").values_list(
            "code", flat=True
        )
    ) == {"SUMMER10", "SUMMER11", "SUMMER12"}
    report = job_error_report_csv(job).splitlines()
    assert report[0] == "row_number,row_key,code,message,promo_code"
    assert [line.split(",")[0] for line in report[1:]] == ["4", "5", "6"]
    assert "repeated (row 2)" in report[2] and "already exists" in report[3]


@pytest.mark.django_db
def test_codes_api_adds_given_codes_all_or_none(api_client, org):
    promotion, _ = make_code_promotion(org, "HOLIMAN100")
    url = f"{ENGINE}/{promotion.public_id}/codes"

    added = api_client.post(url, {"codes": ["MANSI1", "MANSI2"]}, format="json")
    clash = api_client.post(url, {"codes": ["MANSI3", "HOLIMAN100"]}, format="json")

    assert added.json()["data"]["codes"] == ["MANSI1", "MANSI2"]
    assert clash.status_code == 409 and clash.json()["errorDetails"][0]["code"] == 4122
    assert not PromoCode.objects.filter(code="MANSI3").exists()


@pytest.mark.django_db
def test_link_code_checks_code_mode_and_promotion(api_client, org):
    promotion, _ = make_code_promotion(org, "DQCV73")
    customer = customer_of(org)
    url = f"{ENGINE}/code/link"

    def link(**body):
        return api_client.post(url, {"customerId": customer.pk, **body}, format="json")

    first = link(code="DQCV73", mode="DISCOUNT")
    again = link(code="DQCV73", mode="DISCOUNT")
    unknown = link(code="NOPE", mode="DISCOUNT")
    wrong_mode = link(code="DQCV73", mode="PAYMENT_VOUCHER")
    cart_promotion_set_active(promotion=promotion, is_active=False, actor=None)
    ended = link(code="DQCV73", mode="DISCOUNT")

    data = first.json()["data"]
    assert data["code"] == "DQCV73" and data["customerId"] == customer.pk
    assert data["validTill"] == int(promotion.ends_at.timestamp() * 1000)
    assert len(data["id"]) == 24 and again.json()["data"]["id"] == data["id"]
    assert unknown.status_code == 404 and unknown.json()["errorDetails"][0]["code"] == 4120
    assert wrong_mode.json()["errorDetails"][0]["code"] == 4125
    assert ended.json()["errorDetails"][0]["code"] == 4124
    assert PromoCodeLink.objects.count() == 1


@pytest.mark.django_db
def test_codes_stop_working_when_the_promotion_expires(api_client, org):
    promotion, _ = make_code_promotion(org, "ZN34C")
    customer = customer_of(org)
    promotion.ends_at = promotion.starts_at.replace(year=promotion.starts_at.year - 1)
    promotion.starts_at = promotion.ends_at.replace(year=promotion.ends_at.year - 1)
    promotion.save()
    from promotions.services.cart import cart_catalog_changed

    cart_catalog_changed(org.pk)

    result = evaluate(api_client, customer, [item("A", 150)], promoCodes=["ZN34C"]).json()

    assert result["data"]["appliedPromotions"] == []
    assert result["data"]["promoCodeEvaluationLogs"][0]["reason"] == "PROMOTION_NOT_LIVE"


@pytest.mark.django_db
def test_lookup_shows_remaining_and_held_redemptions_and_the_bills(api_client, org):
    promotion, code = make_code_promotion(org, "HOLIMAN100", promotionRestrictions=LIMIT)
    buyer, browser = customer_of(org), customer_of(org)
    bought = evaluate(api_client, buyer, [item("A", 150)], promoCodes=["HOLIMAN100"]).json()
    bill = bill_with(api_client, buyer, "B-77", bought["data"])
    evaluate(api_client, browser, [item("A", 150)], promoCodes=["HOLIMAN100"])

    response = api_client.get(f"{ENGINE}/code?codes=holiman100,MISSING&includeRedemptions=true")

    assert bill.status_code == 200
    records = response.json()["data"]
    record = records[0]
    assert record["promotionId"] == promotion.public_id and record["active"] is True
    assert record["restrictions"]["Code"] == [
        {
            "kpi": "REDEMPTION",
            "maxLimit": "3.000000",
            "remainingRedemption": "1.000000",
            "tempRedemption": "1.000000",
        }
    ]
    assert record["restrictions"]["Promotion"][0]["remainingRedemption"] == "98.000000"
    assert [(r["transactionNumber"], r["customerId"]) for r in record["redemptions"]] == [
        ("B-77", buyer.pk)
    ]
    assert records[1] == {
        "code": "MISSING",
        "apiError": {"code": 4120, "message": "Promo code MISSING does not exist"},
    }
    other_mode = api_client.get(f"{ENGINE}/code?codes=HOLIMAN100&mode=PAYMENT_VOUCHER").json()
    assert other_mode["data"] == []
