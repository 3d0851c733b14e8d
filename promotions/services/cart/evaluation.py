"""Evaluating a cart (`POST /api_gateway/v1/promotions/evaluate`), and cancelling a pending
evaluation.

An evaluation is a quote. It decides which live promotions the customer may get (typed and
linked promo codes, loyalty-only, activation), locks the usage counters of the limited ones it
could apply and gives the engine what their limits leave, runs the pure engine, and stores the
quote with a hold on the usage it applied. The hold lasts `CART_EVALUATION_HOLD_SECONDS` (15
minutes unless set): the bill that carries the evaluation id turns it into use; a cancel, or the
hold running out, frees it, so an abandoned cart consumes nothing.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty_site.core.compiled import insert_parts
from members.models import Customer, LoyaltyType, Org, Till
from promotions.exceptions import (
    CartEvaluationClosedError,
    CartPromotionIdempotencyError,
)
from promotions.models import (
    CartEvaluation,
    CartEvaluationPromotion,
    CartEvaluationUsage,
    CartPromotionEarn,
    CartPromotionMode,
    CartPromotionType,
    PromoCode,
    PromoCodeLink,
)
from promotions.services.cart.catalog import (
    CartCatalog,
    cart_catalog_of_token,
    cart_catalog_token_sql,
)
from promotions.services.cart.engine import (
    LIMIT_REACHED,
    Candidate,
    Cart,
    CartProbe,
    CartTender,
    CompiledCartPromotion,
    EngineResult,
    cart_line,
    cart_promotions_apply,
)
from promotions.services.cart.usage import (
    CounterNeed,
    capacity_of,
    counter_needs,
    counters_lock,
    held_by_counter,
)

DEFAULT_HOLD_SECONDS = 900
SIX = Decimal("0.000001")
IDENTIFIER_VERSION = "v1"

# Why a promo code did not apply (promoCodeEvaluationLogs[].reason), besides the engine's.
CODE_NOT_FOUND = "CODE_NOT_FOUND"
CODE_INACTIVE = "CODE_INACTIVE"
PROMOTION_NOT_LIVE = "PROMOTION_NOT_LIVE"
PROMOTION_NOT_STARTED = "PROMOTION_NOT_STARTED"
LOYALTY_ONLY = "LOYALTY_ONLY"
ACTIVATION_REQUIRED = "ACTIVATION_REQUIRED"
DUPLICATE_PROMOTION = "DUPLICATE_PROMOTION"
CUSTOMER_REQUIRED = "CUSTOMER_REQUIRED"


def hold_seconds() -> int:
    return int(getattr(settings, "CART_EVALUATION_HOLD_SECONDS", DEFAULT_HOLD_SECONDS))


def six(value: Decimal) -> str:
    """Decimals as the engine's contract prints them: strings with 6 places."""
    return f"{Decimal(value).quantize(SIX):f}"


# Input ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartItemInput:
    sku: str
    amount: Decimal  # the unit price
    qty: Decimal
    reference_id: str = ""
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CartTenderInput:
    identifier: str
    amount: Decimal
    amount_text: str = ""


@dataclass(frozen=True)
class CartInput:
    amount: Decimal
    items: tuple[CartItemInput, ...]
    tenders: tuple[CartTenderInput, ...] = ()
    promo_codes: tuple[str, ...] = ()
    payment_vouchers: tuple[str, ...] = ()
    category_hierarchy_sent: bool = False

    def fingerprint(self, customer_id: int | None) -> str:
        """A hash of the request: the JSON of `asdict(self)` with the customer, built without
        asdict's deep copies (stored fingerprints must keep matching)."""
        plain = {
            **_fields_of(self),
            "items": [_fields_of(item) for item in self.items],
            "tenders": [_fields_of(tender) for tender in self.tenders],
        }
        text = json.dumps({"customer": customer_id, **plain}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _fields_of(instance: Any) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in instance.__dataclass_fields__}


def code_normalize(code: str) -> str:
    return str(code or "").strip().upper()


def engine_cart_of(cart: CartInput, reference_ids: Sequence[str]) -> Cart:
    """The engine's view of the cart (lines with their match keys)."""
    return Cart(
        amount=cart.amount,
        lines=tuple(
            cart_line(
                index=index,
                reference_id=reference_ids[index],
                sku=item.sku,
                unit_amount=item.amount,
                qty=item.qty,
                categories=item.categories,
                brands=item.brands,
                tags=item.tags,
                attributes=item.attributes,
            )
            for index, item in enumerate(cart.items)
        ),
        tenders=tuple(CartTender(tender.identifier, tender.amount) for tender in cart.tenders),
    )


# Who may get what ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _CodeRow:
    """What the evaluation reads of a promo code."""

    id: int
    code: str
    promotion_id: int
    is_active: bool


@dataclass
class _CodeEntry:
    text: str
    source: str  # promoCodes, paymentVouchers, linked
    row: _CodeRow | None = None
    candidate: Candidate | None = None
    log: dict[str, Any] | None = None


def _log(entry: _CodeEntry, reason: str, message: str, promotion_id: str = "") -> None:
    entry.log = {
        "code": entry.text,
        "promotionId": promotion_id or None,
        "status": "NOT_APPLIED",
        "reason": reason,
        "message": message,
        "linked": entry.source == "linked",
    }


def _ineligibility(
    promotion: CompiledCartPromotion, customer: Customer | None, activated: set[int]
) -> tuple[str, str] | None:
    if promotion.is_loyalty_only and (
        customer is None or customer.loyalty_type != LoyaltyType.LOYALTY
    ):
        return LOYALTY_ONLY, "The promotion is for loyalty customers only"
    if promotion.type == CartPromotionType.CUSTOMER and customer is None:
        return CUSTOMER_REQUIRED, "The promotion needs an identified customer"
    if promotion.needs_activation and promotion.id not in activated:
        return ACTIVATION_REQUIRED, "The customer has not activated (earned) the promotion"
    return None


def _activated(
    catalog_promotions: Iterable[CompiledCartPromotion],
    customer: Customer | None,
    now: datetime.datetime,
) -> set[int]:
    needing = [promotion.id for promotion in catalog_promotions if promotion.needs_activation]
    if not needing or customer is None:
        return set()
    return set(
        CartPromotionEarn.objects.filter(
            customer=customer,
            promotion_id__in=needing,
            is_active=True,
            event_time__lte=now,
            valid_till__gte=now,
        ).values_list("promotion_id", flat=True)
    )


def _evaluation_reads(
    *, org: Org, texts: Sequence[str], customer: Customer | None
) -> tuple[str | None, dict[str, _CodeRow], list[_CodeRow]]:
    """What an evaluation reads before the engine, in one round trip: the org's catalog token,
    the typed codes found (by text) and the customer's active linked codes (oldest link first).
    Plain SQL, as the ORM would spend more building three queries than the database spends
    answering them."""
    code_table = PromoCode._meta.db_table
    link_table = PromoCodeLink._meta.db_table
    # The links come first: PostgreSQL types each column of a UNION from the first branches
    # that are not NULL there, pairwise.
    parts: list[str] = []
    params: list[Any] = []
    if customer is not None:
        parts.append(
            f"SELECT c.id, c.code, c.promotion_id, c.is_active, 2, l.created_at, l.id "  # noqa: S608
            f"FROM {link_table} l JOIN {code_table} c ON c.id = l.code_id "
            "WHERE l.customer_id = %s AND l.is_active AND c.is_active"
        )
        params.append(customer.pk)
    if texts:
        parts.append(
            f"SELECT c.id, c.code, c.promotion_id, c.is_active, 1, NULL, NULL FROM {code_table} c "  # noqa: S608
            f"WHERE c.org_id = %s AND c.code IN ({', '.join(['%s'] * len(texts))})"
        )
        params += [org.pk, *texts]
    parts.append(f"SELECT NULL, ({cart_catalog_token_sql()}), NULL, NULL, 0, NULL, NULL")
    params.append(org.pk)
    token: str | None = None
    typed: dict[str, _CodeRow] = {}
    linked: list[_CodeRow] = []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 5, 6, 7", params)
        for code_id, text, promotion_id, is_active, kind, _, _ in cursor.fetchall():
            if kind == 0:
                token = text
                continue
            row = _CodeRow(
                id=code_id, code=text, promotion_id=promotion_id, is_active=bool(is_active)
            )
            if kind == 1:
                typed[text] = row
            else:
                linked.append(row)
    return token, typed, linked


def _code_entries(
    *, org: Org, cart: CartInput, customer: Customer | None
) -> tuple[str | None, list[_CodeEntry]]:
    """The org's catalog token, and the codes the cart brings: typed ones first, then the
    customer's linked ones."""
    entries: list[_CodeEntry] = []
    seen: set[str] = set()
    for source, codes in (
        ("promoCodes", cart.promo_codes),
        ("paymentVouchers", cart.payment_vouchers),
    ):
        for raw in codes:
            text = code_normalize(raw)
            if text and text not in seen:
                seen.add(text)
                entries.append(_CodeEntry(text=text, source=source))
    token, typed, linked = _evaluation_reads(
        org=org, texts=[entry.text for entry in entries], customer=customer
    )
    for entry in entries:
        entry.row = typed.get(entry.text)
    for row in linked:
        if row.code not in seen:
            seen.add(row.code)
            entries.append(_CodeEntry(text=row.code, source="linked", row=row))
    return token, entries


def _candidates(
    *,
    catalog: CartCatalog,
    entries: list[_CodeEntry],
    customer: Customer | None,
    now: datetime.datetime,
) -> tuple[list[Candidate], dict[int, int]]:
    """The candidates, and the code id of each code candidate (by promotion id)."""
    live = catalog.live(now)
    activated = _activated(live, customer, now)
    by_id = {promotion.id: promotion for promotion in catalog.promotions}
    candidates: list[Candidate] = []
    code_ids: dict[int, int] = {}
    for entry in entries:
        row = entry.row
        if row is None:
            _log(entry, CODE_NOT_FOUND, f"Promo code {entry.text} does not exist")
            continue
        promotion = by_id.get(row.promotion_id)
        if not row.is_active:
            _log(entry, CODE_INACTIVE, f"Promo code {entry.text} is not active")
            continue
        if promotion is None or now > promotion.ends_at:
            _log(entry, PROMOTION_NOT_LIVE, "The code's promotion has expired or is inactive")
            continue
        if now < promotion.starts_at:
            _log(
                entry,
                PROMOTION_NOT_STARTED,
                "The code's promotion has not started",
                promotion.public_id,
            )
            continue
        refusal = _ineligibility(promotion, customer, activated)
        if refusal is not None:
            _log(entry, *refusal, promotion_id=promotion.public_id)
            continue
        if promotion.id in code_ids:
            _log(
                entry,
                DUPLICATE_PROMOTION,
                "Another code of the same promotion is in the cart",
                promotion.public_id,
            )
            continue
        code_ids[promotion.id] = row.id
        entry.candidate = Candidate(promotion=promotion, code=entry.text)
        candidates.append(entry.candidate)
    for promotion in live:
        if promotion.type == CartPromotionType.CODE:
            continue
        if _ineligibility(promotion, customer, activated) is None:
            candidates.append(Candidate(promotion=promotion))
    return candidates, code_ids


def _apply_limits(
    *,
    org: Org,
    cart: Cart,
    catalog: CartCatalog,
    candidates: list[Candidate],
    code_ids: dict[int, int],
    customer: Customer | None,
    now: datetime.datetime,
) -> tuple[list[Candidate], dict[int, list[CounterNeed]], dict[int, str]]:
    """Lock the counters of the limited candidates that could apply and cap them with what is
    left. Returns the candidates to run, each limited one's counter needs, and refusals."""
    needs: dict[int, list[CounterNeed]] = {}
    refusals: dict[int, str] = {}
    probe = CartProbe(cart, catalog.settings)
    for candidate in candidates:
        promotion = candidate.promotion
        if not promotion.counter_restrictions:
            continue
        if not probe.holds(promotion.condition):
            continue  # cannot apply: the engine reports it, no need to lock anything
        found = counter_needs(
            promotion,
            customer_id=customer.pk if customer else None,
            code_id=code_ids.get(promotion.id),
            moment=now,
            tz=org.tzinfo,
        )
        if found is None:
            refusals[promotion.id] = "The promotion's limits need an identified customer"
        else:
            needs[promotion.id] = found
    if not needs:
        return [c for c in candidates if c.promotion.id not in refusals], needs, refusals
    counters = counters_lock(
        org_id=org.pk, keys=[need.key for items in needs.values() for need in items]
    )
    held = held_by_counter([counter.pk for counter in counters.values()], now=now)
    result: list[Candidate] = []
    for candidate in candidates:
        promotion = candidate.promotion
        if promotion.id in refusals:
            continue
        if promotion.id not in needs:
            result.append(candidate)
            continue
        capacity = capacity_of(needs[promotion.id], counters, held, code=candidate.code)
        if capacity.refusal:
            refusals[promotion.id] = capacity.refusal
            continue
        result.append(
            Candidate(
                promotion=promotion,
                code=candidate.code,
                max_redemptions=capacity.max_redemptions,
                max_discount=capacity.max_discount,
            )
        )
    for entry_needs in needs.values():
        for need in entry_needs:
            need.counter_id = counters[need.key].pk
    return result, needs, refusals


# Output --------------------------------------------------------------------------------------
def promotion_identifier(
    *, promotion_id: str, discount: Decimal, amount: Decimal, redemptions: int, evaluation_id: str
) -> str:
    """The base64 JSON a till passes back on the bill (appliedPromotionIdentifiers)."""
    payload = {
        "promotionId": promotion_id,
        "discount": six(discount),
        "amount": six(amount),
        "redemptionCount": redemptions,
        "evaluationId": evaluation_id,
        "version": IDENTIFIER_VERSION,
    }
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def promotion_identifier_read(text: str) -> dict[str, Any] | None:
    """The identifier's JSON, or None when it is not one of ours."""
    try:
        padded = str(text).strip()
        payload = json.loads(base64.b64decode(padded + "=" * (-len(padded) % 4)).decode())
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


def _result(
    *,
    evaluation_id: str,
    cart: CartInput,
    reference_ids: Sequence[str],
    customer: Customer | None,
    engine: EngineResult,
    entries: list[_CodeEntry],
    refusals: dict[int, str],
) -> dict[str, Any]:
    applied_by_line: dict[int, list[dict[str, Any]]] = {}
    line_discount: dict[int, Decimal] = {}
    applied_promotions = []
    vouchers = []
    tender_discounts: dict[str, Decimal] = {}
    for applied in engine.applied:
        promotion = applied.promotion
        item = {
            "promotionId": promotion.public_id,
            "name": promotion.name,
            "messageLabel": promotion.message_label,
            "promotionMode": promotion.mode,
            "promotionType": promotion.type,
            "redemptionCount": applied.redemptions,
            "discount": six(applied.discount),
            "code": applied.candidate.code or None,
            "identifier": promotion_identifier(
                promotion_id=promotion.public_id,
                discount=applied.discount,
                amount=cart.amount,
                redemptions=applied.redemptions,
                evaluation_id=evaluation_id,
            ),
        }
        if promotion.mode == CartPromotionMode.PAYMENT_VOUCHER:
            vouchers.append(item)
            continue
        applied_promotions.append(item)
        if applied.tender_identifier:
            tender_discounts[applied.tender_identifier] = (
                tender_discounts.get(applied.tender_identifier, Decimal(0)) + applied.discount
            )
        for index, amount in applied.line_discounts.items():
            line_discount[index] = line_discount.get(index, Decimal(0)) + amount
            applied_by_line.setdefault(index, []).append(
                {
                    "promotionId": promotion.public_id,
                    "name": promotion.name,
                    "discount": six(amount),
                }
            )
    cart_items = [
        {
            "referenceId": reference_ids[index],
            "sku": item.sku,
            "amount": six(item.amount),
            "qty": six(item.qty),
            "discount": six(line_discount[index]) if index in line_discount else "0",
            "appliedPromotions": applied_by_line.get(index, []),
        }
        for index, item in enumerate(cart.items)
    ]
    # Why each code that did not apply did not, in the list of where it was sent.
    not_applied = {item.candidate.promotion.id: item for item in engine.not_applied}
    code_logs: list[dict[str, Any]] = []
    voucher_logs: list[dict[str, Any]] = []
    for entry in entries:
        candidate = entry.candidate
        if candidate is not None and entry.log is None:
            promotion = candidate.promotion
            if promotion.id in refusals:
                _log(entry, LIMIT_REACHED, refusals[promotion.id], promotion.public_id)
            elif promotion.id in not_applied:
                reason = not_applied[promotion.id]
                _log(entry, reason.reason, reason.message, promotion.public_id)
        if entry.log is None:
            continue
        is_voucher = entry.source == "paymentVouchers" or (
            candidate is not None and candidate.promotion.mode == CartPromotionMode.PAYMENT_VOUCHER
        )
        (voucher_logs if is_voucher else code_logs).append(entry.log)
    discount_total = sum((applied.discount for applied in engine.applied), Decimal(0))
    voucher_total = sum(
        (
            a.discount
            for a in engine.applied
            if a.promotion.mode == CartPromotionMode.PAYMENT_VOUCHER
        ),
        Decimal(0),
    )
    payable = cart.amount - (discount_total - voucher_total)
    tenders = []
    covered = Decimal(0)
    for tender in cart.tenders:
        adjusted = max(
            Decimal(0), tender.amount - tender_discounts.get(tender.identifier, Decimal(0))
        )
        covered += adjusted
        tenders.append(
            {
                "identifier": tender.identifier,
                "amount": tender.amount_text or six(tender.amount),
                "referenceId": uuid.uuid4().hex[:24],
                "adjustedAmount": six(adjusted)
                if tender.identifier in tender_discounts
                else (tender.amount_text or six(tender.amount)),
            }
        )
    for voucher in vouchers:
        covered += Decimal(voucher["discount"])
        tenders.append(
            {
                "identifier": "PAYMENT_VOUCHER",
                "amount": voucher["discount"],
                "referenceId": uuid.uuid4().hex[:24],
                "adjustedAmount": voucher["discount"],
                "promotionId": voucher["promotionId"],
            }
        )
    rest = payable - covered
    if rest > 0:
        tenders.append(
            {
                "identifier": "CASH",
                "amount": six(rest),
                "referenceId": uuid.uuid4().hex[:24],
                "adjustedAmount": six(rest),
            }
        )
    return {
        "amount": six(cart.amount),
        "customerId": customer.pk if customer else None,
        "evaluationId": evaluation_id,
        "discount": six(discount_total),
        "cartItems": cart_items,
        "appliedPromotions": applied_promotions,
        "appliedPaymentVouchers": vouchers,
        "promoCodeEvaluationLogs": code_logs,
        "paymentVoucherEvaluationLogs": voucher_logs,
        "cartTenders": tenders,
        "categoryHierarchySentInPayload": cart.category_hierarchy_sent,
    }


# The service ---------------------------------------------------------------------------------
@transaction.atomic
def cart_evaluate(
    *,
    org: Org,
    actor: Till | None,
    customer: Customer | None,
    cart: CartInput,
    idempotency_key: str | None = None,
) -> CartEvaluation:
    """Evaluate the cart for the customer and store the quote (see the module docstring). A
    replay of `idempotency_key` with the same cart returns the first evaluation; another cart
    with it is 4106."""
    fingerprint = cart.fingerprint(customer.pk if customer else None)
    if idempotency_key:
        existing = CartEvaluation.objects.filter(org=org, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise CartPromotionIdempotencyError(field="Idempotency-Key")
            return existing
    now = timezone.now()
    token, entries = _code_entries(org=org, cart=cart, customer=customer)
    catalog = cart_catalog_of_token(org.pk, token)
    reference_ids = [item.reference_id or str(uuid.uuid4()) for item in cart.items]
    engine_cart = engine_cart_of(cart, reference_ids)
    candidates, code_ids = _candidates(catalog=catalog, entries=entries, customer=customer, now=now)
    candidates, needs, refusals = _apply_limits(
        org=org,
        cart=engine_cart,
        catalog=catalog,
        candidates=candidates,
        code_ids=code_ids,
        customer=customer,
        now=now,
    )
    engine = cart_promotions_apply(
        cart=engine_cart, candidates=candidates, settings=catalog.settings
    )
    evaluation = CartEvaluation(
        org=org,
        customer=customer,
        till=actor,
        expires_at=now + datetime.timedelta(seconds=hold_seconds()),
        amount=cart.amount,
        discount=engine.discount,
        promo_codes=[entry.text for entry in entries if entry.source != "linked"],
        cart={"items": len(cart.items), "tenders": len(cart.tenders)},
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
    )
    evaluation.result = _result(
        evaluation_id=evaluation.public_id,
        cart=cart,
        reference_ids=reference_ids,
        customer=customer,
        engine=engine,
        entries=entries,
        refusals=refusals,
    )
    applied_rows, usages = _applied_rows(
        evaluation=evaluation, engine=engine, code_ids=code_ids, needs=needs
    )
    if not idempotency_key:
        _evaluation_store(evaluation=evaluation, applied_rows=applied_rows, usages=usages)
        return evaluation
    try:
        with transaction.atomic():
            _evaluation_store(evaluation=evaluation, applied_rows=applied_rows, usages=usages)
    except IntegrityError:
        # A concurrent request with the same idempotency key won.
        existing = CartEvaluation.objects.filter(org=org, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        if existing.request_fingerprint != fingerprint:
            raise CartPromotionIdempotencyError(field="Idempotency-Key") from None
        return existing
    return evaluation


def _applied_rows(
    *,
    evaluation: CartEvaluation,
    engine: EngineResult,
    code_ids: dict[int, int],
    needs: dict[int, list[CounterNeed]],
) -> tuple[list[CartEvaluationPromotion], list[tuple[int, CartEvaluationUsage]]]:
    """The applied promotions' rows, and their usage holds with the position of the applied
    row each belongs to (unsaved)."""
    applied_rows: list[CartEvaluationPromotion] = []
    usages: list[tuple[int, CartEvaluationUsage]] = []
    for position, applied in enumerate(engine.applied):
        applied_rows.append(
            CartEvaluationPromotion(
                promotion_id=applied.promotion.id,
                code_id=code_ids.get(applied.promotion.id) if applied.candidate.code else None,
                customer_id=evaluation.customer_id,
                redemptions=applied.redemptions,
                discount=applied.discount,
                position=position,
            )
        )
        for need in needs.get(applied.promotion.id, ()):
            usages.append(
                (
                    position,
                    CartEvaluationUsage(
                        counter_id=need.counter_id,
                        redemptions=applied.redemptions,
                        transactions=1,
                        discount=applied.discount,
                        held_until=evaluation.expires_at,
                    ),
                )
            )
    return applied_rows, usages


def _evaluation_store(
    *,
    evaluation: CartEvaluation,
    applied_rows: list[CartEvaluationPromotion],
    usages: list[tuple[int, CartEvaluationUsage]],
) -> None:
    """Insert the evaluation, its applied promotions and their holds: on PostgreSQL in one
    statement (data-modifying CTEs), elsewhere one statement per table."""
    if connection.vendor == "postgresql":
        _evaluation_store_in_one_statement(
            evaluation=evaluation, applied_rows=applied_rows, usages=usages
        )
        return
    evaluation.save(force_insert=True)
    for row in applied_rows:
        row.evaluation = evaluation
    CartEvaluationPromotion.objects.bulk_create(applied_rows)
    for position, usage in usages:
        usage.applied = applied_rows[position]
    if usages:
        CartEvaluationUsage.objects.bulk_create([usage for _, usage in usages])


def _evaluation_store_in_one_statement(
    *,
    evaluation: CartEvaluation,
    applied_rows: list[CartEvaluationPromotion],
    usages: list[tuple[int, CartEvaluationUsage]],
) -> None:
    """One round trip instead of three: the evaluation's new id feeds its applied rows, whose
    new ids (matched by position) feed their holds."""
    columns, row, (params,) = insert_parts([evaluation])
    parts = [
        f"evaluation AS (INSERT INTO {CartEvaluation._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({row}) RETURNING id)"
    ]
    if applied_rows:
        columns, row, rows = insert_parts(applied_rows, leave_out="evaluation_id")
        names = ", ".join(columns)
        parts.append(
            f"applied AS (INSERT INTO {CartEvaluationPromotion._meta.db_table} "  # noqa: S608
            f"(evaluation_id, {names}) SELECT evaluation.id, {names} FROM evaluation, "
            f"(VALUES {', '.join([f'({row})'] * len(rows))}) AS v({names}) "
            "RETURNING id, position)"
        )
        params += [value for values in rows for value in values]
    if usages:
        columns, row, rows = insert_parts([usage for _, usage in usages], leave_out="applied_id")
        names = ", ".join(columns)
        parts.append(
            f"usage AS (INSERT INTO {CartEvaluationUsage._meta.db_table} (applied_id, {names}) "  # noqa: S608
            f"SELECT applied.id, {', '.join(f'v.{column}' for column in columns)} "
            f"FROM applied JOIN (VALUES {', '.join([f'(%s::integer, {row})'] * len(rows))}) "
            f"AS v(applied_position, {names}) ON v.applied_position = applied.position)"
        )
        for (position, _), values in zip(usages, rows, strict=True):
            params += [position, *values]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT id FROM evaluation", params)  # noqa: S608
        evaluation.pk = cursor.fetchone()[0]
    evaluation._state.adding = False
    evaluation._state.db = connection.alias


# Cancel and pending --------------------------------------------------------------------------
def evaluation_is_pending(evaluation: CartEvaluation, now: datetime.datetime | None = None) -> bool:
    now = now or timezone.now()
    return evaluation.status == CartEvaluation.Status.PENDING and evaluation.expires_at > now


@transaction.atomic
def cart_evaluation_cancel(*, evaluation: CartEvaluation, actor: Till | None) -> CartEvaluation:
    """Cancel a pending evaluation: its holds are freed at once. Cancelling again answers the
    cancelled evaluation; an evaluation a bill redeemed is 4111."""
    evaluation = CartEvaluation.objects.select_for_update().get(pk=evaluation.pk)
    if evaluation.status == CartEvaluation.Status.CANCELLED:
        return evaluation
    if evaluation.status != CartEvaluation.Status.PENDING:
        raise CartEvaluationClosedError(
            f"Evaluation {evaluation.public_id} is {evaluation.status.lower()}"
        )
    now = timezone.now()
    applied = CartEvaluationPromotion.objects.filter(
        evaluation=evaluation, state=CartEvaluationPromotion.State.HELD
    )
    CartEvaluationUsage.objects.filter(applied__in=applied).update(held_until=None)
    applied.update(state=CartEvaluationPromotion.State.RELEASED)
    evaluation.status = CartEvaluation.Status.CANCELLED
    evaluation.closed_at = now
    evaluation.save(update_fields=["status", "closed_at", "updated_at"])
    return evaluation
