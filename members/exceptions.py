"""Members domain errors, with the contract's codes (CONTRACT.md §7, §11.1, §11.5, §11.10)."""

from __future__ import annotations

from loyalty_site.core.exceptions import ConflictError, DomainError, NotFoundError


# Customers ---------------------------------------------------------------------------------
class CustomerNotFoundError(NotFoundError):
    code = 8015
    message = "Customer not found for the given identifiers"


class InvalidIdentifierError(DomainError):
    code = 8013
    message = "Invalid identifier"


class InvalidSourceError(DomainError):
    code = 8003
    message = "Invalid source"


class CustomerMergedError(DomainError):
    code = 8069
    http_status = 400
    message = "Customer has been merged into another account"


class InvalidMobileError(DomainError):
    code = 1001
    message = "Invalid mobile number"


class InvalidEmailError(DomainError):
    code = 1002
    message = "Invalid email"


class InvalidExternalIdError(DomainError):
    code = 1003
    message = "Invalid external id"


class NoIdentifierError(DomainError):
    code = 1015
    message = "No customer identifier given"


class CustomerAlreadyExistsError(ConflictError):
    code = 8006
    http_status = 400
    message = "Customer already exists for the same source"


class IdentifierTakenError(ConflictError):
    """An identifier of the request belongs to another customer of the org."""

    code = 8008
    http_status = 400
    message = "Identifier already belongs to another customer"


class LoyaltyDowngradeError(DomainError):
    code = 1046
    message = "A loyalty customer cannot be turned into a non-loyalty customer"


class InvalidProgramError(DomainError):
    code = 1213
    message = "Invalid program id"


class InvalidRegistrationSourceError(DomainError):
    code = 3217
    message = "Invalid source"


class CustomerRegistrationError(DomainError):
    """v2 register/update: an identifier of the request is malformed (8014 names the field)."""

    code = 8014
    message = "Customer registration failed"


class InvalidLoyaltyTypeError(DomainError):
    code = 400
    message = "Invalid loyaltyType: use loyalty or non_loyalty"


class CustomerNotInSourceError(NotFoundError):
    code = 8065
    message = "Customer not found in the given source"


class RegistrationDateError(DomainError):
    code = 1034
    message = "Registration date is outside the allowed window"


class BatchLimitError(DomainError):
    """Too many items in one batch call (request-level code 1060 of contract §8)."""

    code = 1060
    message = "Batch limit exceeded"


class AccountIdMissingError(DomainError):
    code = 8045
    message = "accountId is needed for this source"


# User groups (userGroup2) ------------------------------------------------------------------
class GroupNotFoundError(NotFoundError):
    code = 1632
    message = "Invalid group id / externalId / primaryUserId"


class InvalidGroupIdError(DomainError):
    code = 1619
    message = "Invalid group id"


class UserNotInGroupError(DomainError):
    code = 1620
    message = "User is not part of the group"


class GroupOtherOrgError(DomainError):
    code = 1622
    message = "User belongs to a different company"


class UserAlreadyInGroupError(DomainError):
    code = 1623
    message = "User is already part of a group"


class PrimaryMemberTransferError(DomainError):
    code = 1624
    message = "Transfer of primary member is not allowed"


class GroupExternalIdExistsError(DomainError):
    code = 1633
    message = "Group with the same external id already exists"


class GroupValidationError(DomainError):
    code = 1634
    message = "Invalid group details"


class GroupPrimaryExistsError(DomainError):
    code = 1637
    message = "Group already has a primary member"


class GroupCapacityReachedError(DomainError):
    code = 1638
    message = "Group has reached its maximum size"


class GroupInactiveError(DomainError):
    code = 1639
    message = "Group is not active"


class PrimaryMemberCannotLeaveError(DomainError):
    code = 1640
    message = "The primary member cannot leave while the group has other members"


class PrimaryElsewhereError(DomainError):
    code = 1642
    message = "User is the primary member of another group"


# Transactions ------------------------------------------------------------------------------
class TransactionInvalidAmountError(DomainError):
    code = 601
    message = "Invalid amount, quantity, rate or discount"


class TransactionInvalidNumberError(DomainError):
    code = 602
    message = "Invalid transaction number"


class TransactionNumberExistsError(ConflictError):
    code = 604
    http_status = 409
    message = "Transaction number already exists with different details"


class TransactionInvalidTypeError(DomainError):
    code = 605
    message = "Invalid transaction type"


class TransactionCustomerMissingError(DomainError):
    code = 606
    message = "Customer identifier is missing"


class TransactionPurchaseTimeMissingError(DomainError):
    code = 624
    message = "Return needs the original purchase time"


class TransactionNotFoundError(NotFoundError):
    code = 625
    message = "Transaction number not found"


class ReturnQuantityExceededError(DomainError):
    code = 626
    message = "Returned quantity is more than purchased"


class InvalidReturnTypeError(DomainError):
    code = 628
    message = "Invalid return type"


class ReturnAmountExceededError(DomainError):
    code = 630
    message = "Return amount is more than the bill amount"


class TransactionAlreadyReturnedError(DomainError):
    code = 633
    message = "Transaction has already been returned"


class FullReturnAfterPartialError(DomainError):
    code = 639
    message = "A full return is not possible after a partial return"


class TransactionDateOutOfRangeError(DomainError):
    code = 643
    message = "Transaction date is too far in the future"


class TransactionStoreError(DomainError):
    code = 671
    message = "Invalid store or till code"


class TransactionBatchLimitError(DomainError):
    code = 672
    message = "Batch limit exceeded"


class ReturnLineNotFoundError(DomainError):
    code = 688
    message = "No matching line item on the original bill"


class TransactionFieldTooLongError(DomainError):
    code = 685
    message = "Field is too long"


class ReturnQuantityNotAvailableError(DomainError):
    code = 629
    message = "Returned quantity is more than the quantity still available for return"


class TransactionNegativeValueError(DomainError):
    """A negative amount: 631 bill amount; 627 and 661-666 other bill and line values."""

    code = 631
    message = "Amounts must not be negative"


class ReturnLinesMissingError(DomainError):
    code = 679
    message = "A line-item return needs the returned line items"


class TransactionLineItemError(DomainError):
    code = 622
    message = "Invalid line item"


class ReturnBillNumberMissingError(DomainError):
    code = 677
    message = "A returned line item needs the number of the bill it was bought on"


class TransactionIdOrNumberMissingError(DomainError):
    code = 670
    message = "Transaction id or number is missing"


class TransactionCustomerDetailsMissingError(DomainError):
    code = 8084
    message = "Customer details not sent"


class TransactionIdempotencyKeyReusedError(ConflictError):
    """The Idempotency-Key of this till was used before for a different request."""

    message = "Idempotency-Key was already used with a different request"


# Tills (admin credentials; not an API error) ------------------------------------------------
class TillCredentialError(DomainError):
    """Bad till password or OAuth key in the admin; keeps the generic 400 code."""

    message = "Invalid till credentials"
