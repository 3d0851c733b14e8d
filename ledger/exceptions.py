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


# Points operation APIs: validation codes, redemption updates (§11.6) -------------------------
class InvalidValidationCodeError(DomainError):
    code = 808
    message = "Invalid validation code"


class ValidationCodeIssueError(DomainError):
    """The validation code could not be sent (no mobile or email, or the gateway refused)."""

    code = 860
    message = "Validation code could not be issued"


class RedemptionNothingToUpdateError(DomainError):
    code = 748
    message = "Nothing to update: give billNumber, billId, purpose or customFields"


class RedemptionIdentifierError(DomainError):
    code = 749
    message = "Give exactly one of redemptionId and externalReferenceNumber"


class RedemptionUpdateFailedError(DomainError):
    code = 750
    message = "Redemption update failed"


class InvalidEntityTypeError(DomainError):
    code = 1212
    message = "Invalid entity type: use CUSTOMER, USERGROUP2 or FLEET"


class InvalidEntityError(DomainError):
    code = 1219
    message = "Entity is missing or invalid"


# Negative points adjustment (§11.9) ------------------------------------------------------------
class AdjustmentReasonMissingError(DomainError):
    code = 8882
    message = "reasonOfReturn is required"


class AdjustmentZeroError(DomainError):
    code = 8888
    message = "The amount to adjust must be more than zero"


class AdjustmentDecimalsError(DomainError):
    code = 8906
    message = "Points have more decimals than the program allows"


class AdjustmentExceedsAvailableError(DomainError):
    code = 8907
    message = "Points to adjust are more than the points available"


class AdjustmentPromotionProgramMissingError(DomainError):
    code = 8887
    message = "promotionIdentifier needs programId"


class AdjustmentPromotionInvalidError(DomainError):
    code = 8874
    message = "Invalid promotion"


class AdjustmentAwardInvalidError(DomainError):
    code = 8877
    message = "Invalid pointsAwardedId"


class AdjustmentAwardRefTypeInvalidError(DomainError):
    code = 9975
    message = "Invalid pointsAwardedRefType"


class AlternateCurrencyUnknownError(DomainError):
    code = 8911
    message = "Unknown alternate currency"


# Member-care requests (v1.1 request/*, §11.8, §11.9) ------------------------------------------
class RequestTypeInvalidError(DomainError):
    code = 9006
    message = "Request type is invalid"


class RequestMergeTargetInvalidError(DomainError):
    code = 9007
    message = "Target customer does not exist or is invalid"


class RequestBaseTypeInvalidError(DomainError):
    code = 9008
    message = "Request base type is invalid"


class RequestNotFoundError(NotFoundError):
    code = 9013
    message = "Request not found"


class RequestMergePendingError(ConflictError):
    code = 9018
    http_status = 400
    message = "A merge request for the victim is already pending"


class RequestIdentifiersMissingError(DomainError):
    code = 9019
    message = "No customer identifiers passed"


class RequestSurvivorMergedError(DomainError):
    code = 9023
    message = "Survivor is already merged into another customer"


class RequestVictimMergedError(DomainError):
    code = 9027
    message = "Victim is already merged into another customer"


class RequestMergeSameCustomerError(DomainError):
    code = 9029
    message = "Survivor and victim are the same"


class RequestStatusError(DomainError):
    code = 9052
    message = "Invalid request status"


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


class LedgerBadDateFormatError(DomainError):
    code = 11011
    message = "Invalid date format: use YYYY-MM-DDThh:mm:ss"


class LedgerIdentifierMissingError(DomainError):
    code = 11013
    message = "identifierName, identifierValue and source are required"


class LedgerInvalidEventFilterError(DomainError):
    code = 11014
    message = "Unknown event name in eventFilter, or more than 10 events"


class LedgerInvalidTillFormatError(DomainError):
    code = 11025
    message = "tillId must be a number"


class LedgerStoreWithoutTillsError(DomainError):
    code = 11026
    message = "No tills found for the store"


class LedgerInvalidTillIdsError(DomainError):
    code = 11027
    message = "Invalid tillIds"


class LedgerInvalidAlternateCurrencyError(DomainError):
    code = 9005
    message = "Invalid alternateCurrencyNames"
