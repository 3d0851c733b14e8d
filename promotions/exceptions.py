"""Loyalty promotion errors. 4003-4080 are the add-promotion API's codes (seed 002); 310144 is the
connected-org header error of the customer promotion list (seed 004). The other 40xx codes are
this implementation's, for cases the contract names no code for (docs/API.md lists them)."""

from __future__ import annotations

from loyalty_site.core.exceptions import ConflictError, DomainError, NotFoundError


# Add / get / list --------------------------------------------------------------------------------
class PromotionNotFoundError(NotFoundError):
    code = 4001
    message = "Promotion not found"


class PromotionProgramNotFoundError(NotFoundError):
    code = 4002
    message = "Program not found"


class PromotionNameExistsError(ConflictError):
    code = 4003
    message = "A promotion with the same name exists for the program"


class PromotionInvalidFieldError(DomainError):
    """A promotion field with a value outside its vocabulary (allocatePointsOn, eventName, ...)."""

    code = 4004
    message = "Invalid promotion field"


class PromotionIdentifierExistsError(ConflictError):
    code = 4007
    message = "Promotion identifier already exists for the program"


class PromotionStartDateError(DomainError):
    code = 4011
    message = "Given start date is null or empty"


class PromotionEndDateError(DomainError):
    code = 4012
    message = "Given end date is null or empty"


class PromotionDateRangeError(DomainError):
    code = 4013
    message = "The end date must be after the start date"


class PromotionTargetsRequiredError(DomainError):
    code = 4074
    message = "For SourceType UserCreated, TargetGroupId and TargetRuleId are mandatory"


class PromotionRulesetCountError(DomainError):
    code = 4075
    message = "UCC Promotions should always have one RuleSet"


class PromotionInvalidRulesetError(DomainError):
    """A ruleset without name / contextID / orgID / contextType / dates, or a rule whose exp or
    expJSON is missing or cannot be read."""

    code = 4076
    message = (
        "Invalid UCC Promotions Ruleset check for ruleSetName, ContextId, OrgId, ContextType and "
        "start & End is not null"
    )


class PromotionInvalidFilterError(DomainError):
    code = 4078
    message = "Invalid name in Promotions RuleSet Filter"


class PromotionSourceTypeError(DomainError):
    code = 4079
    message = "Promotion Source Type cannot be null or empty"


class PromotionInvalidActionError(DomainError):
    code = 4080
    message = "Invalid UCC Promotions Actions, Both key and value in cannot be null or empty"


class PromotionInvalidRestrictionError(DomainError):
    code = 4081
    message = "Invalid promotion restriction"


# Issue, enrol and events -------------------------------------------------------------------------
class PromotionNotIssuableError(DomainError):
    code = 4090
    message = "The promotion cannot be issued to this customer"


class PromotionIssualLimitError(DomainError):
    code = 4091
    message = "The promotion's issual limit for this customer is reached"


class PromotionAlreadyIssuedError(ConflictError):
    code = 4092
    message = "The promotion is already issued to this customer"


class PromotionCustomerNotEnrolledError(DomainError):
    code = 4093
    message = "The customer is not enrolled in the promotion's program"


class PromotionEventNameError(DomainError):
    code = 4094
    message = "Invalid event name"


class PromotionEventConflictError(ConflictError):
    code = 4095
    message = "The eventId was already used for a different event"


# Customer promotion list -------------------------------------------------------------------------
class ConnectedOrgsHeaderError(DomainError):
    code = 310144
    message = "Connected Orgs not set properly in Headers"


# Cart promotions (promotion engine, CONTRACT.md §5.2) --------------------------------------------
# The contract gives the engine no numeric codes ("errorCode" is the HTTP status); 41xx are this
# implementation's, listed in docs/API.md.
class CartPromotionNotFoundError(NotFoundError):
    code = 4101
    message = "Cart promotion not found"


class CartPromotionInvalidError(DomainError):
    """A create / update / settings body that breaks a rule of §5.2 (names the field)."""

    code = 4102
    message = "Validation Failed"


class CartPromotionNameExistsError(ConflictError):
    code = 4103
    message = "A cart promotion with the same name exists"


class CartPromotionPriorityExistsError(ConflictError):
    code = 4104
    message = "Another promotion of the campaign has the same priority"


class CartPromotionActiveLimitError(DomainError):
    code = 4105
    message = "The org has reached its maximum number of active cart promotions"


class CartPromotionIdempotencyError(ConflictError):
    code = 4106
    message = "The idempotency key was used for a different request"


class CartEvaluationNotFoundError(NotFoundError):
    code = 4110
    message = "Evaluation not found"


class CartEvaluationClosedError(ConflictError):
    code = 4111
    message = "The evaluation is no longer pending"


class CartPromotionLimitReachedError(DomainError):
    """A bill carries promotions whose hold was lost (expired or cancelled evaluation) and whose
    limit has been reached since: the bill is refused so the limit holds; evaluate again."""

    code = 4112
    message = "A promotion's usage limit has been reached; evaluate the cart again"


class PromoCodeNotFoundError(NotFoundError):
    code = 4120
    message = "Promo code not found"


class PromoCodeInvalidError(DomainError):
    code = 4121
    message = "Invalid promo code"


class PromoCodeExistsError(ConflictError):
    code = 4122
    message = "The promo code already exists in the org"


class PromoCodePromotionTypeError(DomainError):
    code = 4123
    message = "Promo codes belong to CODE promotions only"


class PromoCodeExpiredError(DomainError):
    code = 4124
    message = "The promo code's promotion has expired or is inactive"


class PromoCodeModeError(DomainError):
    code = 4125
    message = "The mode does not match the code's promotion"


class PromoCodeCapacityError(DomainError):
    code = 4126
    message = "The request does not fit the code space"


class CartPromotionEarnError(DomainError):
    code = 4130
    message = "The promotion cannot be earned by this customer"
