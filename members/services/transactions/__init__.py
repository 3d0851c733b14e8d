"""Bills sent by tills: adds (REGULAR, NOT_INTERESTED, mixed bills) and returns (§11.3-§11.5).

    values.py    the value objects: what a till sends, its cleaned form, the result
    cleaning.py  what a till sends, validated: amounts, lines, dates, descriptive fields
    booking.py   storing a cleaned bill: fingerprints, replays, line rows, lifetime totals
    seams.py     the TRANSACTION_ADD / TRANSACTION_RETURN pipeline seams
    add.py       transaction_add (and the returned lines of mixed bills)
    returns.py   transaction_return
    submit.py    transaction_submit, what both API families call

A REGULAR or NOT_INTERESTED bill number is unique per store (a database constraint). Sending the
same bill again is safe: a request with the same normalised body (compared through
`Transaction.request_fingerprint`) answers the first result, the same number with other details
is 604. Returns find the original bill of the same customer and never give back more than was
bought: the original row is locked while earlier returns are summed, so concurrent returns of
one bill are checked one after the other.
"""

from members.services.transactions.add import MIXED_RETURN_CLEARED_FIELDS, transaction_add
from members.services.transactions.booking import REPLAY_WARNING_CODE, request_fingerprint_of
from members.services.transactions.booking import (
    existing_bill as _existing_bill,  # noqa: F401 (looked up here at call time, see booking)
)
from members.services.transactions.cleaning import (
    ADD_TYPES,
    AMOUNT_QUANTUM,
    CATEGORY_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FUTURE_BILL_TOLERANCE,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    ITEM_CODE_MAX_LENGTH,
    MAX_AMOUNT,
    MAX_QTY,
    NEGATIVE_BILL_AMOUNT_CODE,
    NEGATIVE_DISCOUNT_CODE,
    NEGATIVE_GROSS_AMOUNT_CODE,
    NEGATIVE_LINE_AMOUNT_CODE,
    NEGATIVE_LINE_DISCOUNT_CODE,
    NEGATIVE_LINE_RATE_CODE,
    NEGATIVE_LINE_VALUE_CODE,
    NEGATIVE_QTY_CODE,
    NUMBER_MAX_LENGTH,
    RETURN_TYPES,
    SHORT_FIELD_MAX_LENGTH,
    WHOLE_BILL_RETURNS,
)
from members.services.transactions.returns import transaction_return
from members.services.transactions.submit import CUSTOMER_LOOKUP_ORDER, transaction_submit
from members.services.transactions.values import (
    BillDetails,
    BillInput,
    CustomerIdentity,
    LineItemInput,
    TransactionResult,
)

__all__ = [
    "ADD_TYPES",
    "AMOUNT_QUANTUM",
    "CATEGORY_MAX_LENGTH",
    "CUSTOMER_LOOKUP_ORDER",
    "DESCRIPTION_MAX_LENGTH",
    "FUTURE_BILL_TOLERANCE",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "ITEM_CODE_MAX_LENGTH",
    "MAX_AMOUNT",
    "MAX_QTY",
    "MIXED_RETURN_CLEARED_FIELDS",
    "NEGATIVE_BILL_AMOUNT_CODE",
    "NEGATIVE_DISCOUNT_CODE",
    "NEGATIVE_GROSS_AMOUNT_CODE",
    "NEGATIVE_LINE_AMOUNT_CODE",
    "NEGATIVE_LINE_DISCOUNT_CODE",
    "NEGATIVE_LINE_RATE_CODE",
    "NEGATIVE_LINE_VALUE_CODE",
    "NEGATIVE_QTY_CODE",
    "NUMBER_MAX_LENGTH",
    "REPLAY_WARNING_CODE",
    "RETURN_TYPES",
    "SHORT_FIELD_MAX_LENGTH",
    "WHOLE_BILL_RETURNS",
    "BillDetails",
    "BillInput",
    "CustomerIdentity",
    "LineItemInput",
    "TransactionResult",
    "request_fingerprint_of",
    "transaction_add",
    "transaction_return",
    "transaction_submit",
]
