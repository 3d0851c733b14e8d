"""Points and ledger errors with the contract's codes (CONTRACT.md §4.3, §11.6, §11.7, §11.10).

Customer lookups raise the members errors (8015 not found, 8069 merged: CustomerMergedError).
"""

from __future__ import annotations

from loyalty_site.core.exceptions import ConflictError, DomainError, NotFoundError


# Points operations (8xx, 9xx) -----------------------------------------------------------------
class InvalidPointsError(DomainError):
    code = 801
    message = "Invalid points"


class InsufficientPointsError(DomainError):
    """A redemption or transfer asks for more than the account's available points."""

    code = 803
    message = "Points to be redeemed are more than the available points"


class InsufficientCurrentPointsError(InsufficientPointsError):
    """Any other debit (return, deduction, import) is more than the account's current points."""

    code = 804
    message = "Insufficient current points"


class RevertPointsMismatchError(DomainError):
    code = 810
    message = "Points to reverse are more than the points left to reverse on this redemption"


class InvalidProgramIdError(DomainError):
    code = 885
    message = "Invalid program id"


class InvalidRedemptionIdError(DomainError):
    code = 901
    message = "Invalid redemption id"


class RedemptionNotFoundError(NotFoundError):
    code = 902
    message = "Redemption id not found"


class RedemptionAlreadyReversedError(DomainError):
    code = 3802
    message = "Redemption has already been reversed"


class NotEnrolledError(DomainError):
    code = 1218
    message = "Customer is not enrolled in the program"


class ConcurrentLedgerUpdateError(DomainError):
    """Two requests changed the same customer's ledger at once; the caller may retry."""

    code = 521
    http_status = 409
    message = "Concurrent action on the same customer; retry"


class LedgerIdempotencyConflictError(ConflictError):
    code = 409
    message = "The idempotency key was already used for a different request"


class InvalidLedgerRequestError(DomainError):
    code = 400
    message = "Invalid ledger request"


# Transfers (412-419) --------------------------------------------------------------------------
class SameSenderReceiverError(DomainError):
    code = 418
    message = "Sender and receiver are the same"


class TransferMergedCustomerError(DomainError):
    code = 419
    message = "Merged customer found"


# Merges ---------------------------------------------------------------------------------------
class MergeSameCustomerError(DomainError):
    code = 8053
    message = "Victim and survivor are the same customer"


class CustomerAlreadyMergedError(DomainError):
    code = 8067
    message = "Customer is already merged"


# Ledger reads (11xxx) -------------------------------------------------------------------------
class LedgerUnsupportedParamsError(DomainError):
    code = 11001
    message = "Unsupported combination of parameters"


class LedgerNoEntriesError(NotFoundError):
    code = 11003
    message = "No ledger entries found"


class LedgerInvalidTillError(DomainError):
    code = 11004
    message = "Invalid till id"


class LedgerInvalidProgramError(DomainError):
    code = 11005
    message = "Invalid program id"


class LedgerLimitExceededError(DomainError):
    code = 11029
    message = "limit is more than the maximum allowed"


class LedgerLegacyLimitExceededError(LedgerLimitExceededError):
    code = 11006
    message = "limit cannot be more than 10"


class LedgerInvalidEntryTypeError(DomainError):
    code = 11007
    message = "Invalid ledgerEntryType"


class LedgerInvalidCategoryError(DomainError):
    code = 11008
    message = "Invalid pointCategoryType"


class LedgerStartAfterEndError(DomainError):
    code = 11009
    message = "startDate is after endDate"


class LedgerDateRangeTooLongError(DomainError):
    code = 11010
    message = "Date range is too long"


class LedgerTooManyTillFiltersError(DomainError):
    code = 11028
    message = "Give only one of tillId, tillIds, storeId and storeCode"
