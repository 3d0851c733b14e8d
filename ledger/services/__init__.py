"""Ledger write services. Every write takes an `actor` (a Till, a staff user or None for jobs)
and, when a caller can repeat it, an `idempotency_key`; see each module for the rules."""

from ledger.services.accounts import (
    ledger_backfill_owner,
    ledger_open_accounts_on_registration,
    points_accounts_open,
)
from ledger.services.accrual import PointsAllocateManyResult, points_allocate_many
from ledger.services.adjustments import points_negative_adjust
from ledger.services.bulk import LedgerBatchResult
from ledger.services.earn import (
    CreditRequest,
    points_allocate,
    points_bulk_award,
    points_deduct,
    points_goodwill_credit,
    points_import_credit,
    points_import_debit,
    points_referral_award,
    points_referral_return,
)
from ledger.services.expiry import points_expire, points_expire_many
from ledger.services.merge import LedgerMergeResult, ledger_customer_merge
from ledger.services.posting import OpeningBalance, PromotionRef
from ledger.services.promised import (
    points_promised_mature,
    points_promised_mature_many,
    points_trigger_convert,
)
from ledger.services.redeem import (
    points_group_redeem,
    points_redeem,
    points_redemption_reverse,
)
from ledger.services.redemption_submit import (
    points_redemption_details_update,
    points_redemption_submit,
)
from ledger.services.requests import (
    points_request_add,
    points_request_approve,
    points_request_reject,
)
from ledger.services.returns import ReturnLine, points_transaction_return
from ledger.services.transfer import PointsTransferResult, points_transfer
from ledger.services.transfer_submit import points_transfer_submit
from ledger.services.validation_codes import (
    ValidationCodePurpose,
    points_validation_code_issue,
)

__all__ = [
    "CreditRequest",
    "LedgerBatchResult",
    "PointsAllocateManyResult",
    "LedgerMergeResult",
    "OpeningBalance",
    "PointsTransferResult",
    "PromotionRef",
    "ReturnLine",
    "ledger_backfill_owner",
    "ledger_customer_merge",
    "ledger_open_accounts_on_registration",
    "points_accounts_open",
    "points_allocate",
    "points_allocate_many",
    "points_bulk_award",
    "points_deduct",
    "points_expire",
    "points_expire_many",
    "points_goodwill_credit",
    "points_group_redeem",
    "points_import_credit",
    "points_import_debit",
    "points_promised_mature",
    "points_promised_mature_many",
    "points_redeem",
    "points_redemption_reverse",
    "points_referral_award",
    "points_referral_return",
    "points_transaction_return",
    "points_transfer",
    "points_trigger_convert",
    # points operation APIs
    "ValidationCodePurpose",
    "points_negative_adjust",
    "points_redemption_details_update",
    "points_redemption_submit",
    "points_request_add",
    "points_request_approve",
    "points_request_reject",
    "points_transfer_submit",
    "points_validation_code_issue",
]
