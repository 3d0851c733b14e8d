"""Customer APIs: v2 register/get/lookup/update (contract §11.1) and v1.1 add/get/update (§11.2).

Reads cover `self.scope.org_ids` (DATA-SCOPE), writes land in `self.scope.write_org_id`; a
customer of any other org answers 404 / 8015.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.api.envelopes import Envelope
from loyalty_site.api.views import BaseApi
from loyalty_site.core.exceptions import DomainError
from members.api.common import (
    V11ItemError,
    V11ItemResult,
    v11_batch_body,
    v11_batch_run,
    v11_item_input,
    v11_item_status_of,
)
from members.api.customers import serializers as s
from members.exceptions import (
    AccountIdMissingError,
    BatchLimitError,
    CustomerAlreadyExistsError,
    CustomerNotFoundError,
    IdentifierTakenError,
    InvalidEmailError,
    InvalidExternalIdError,
    InvalidIdentifierError,
    InvalidMobileError,
    InvalidSourceError,
    NoIdentifierError,
)
from members.models import Customer, Org, RegistrationSource, Till
from members.selectors.customers import (
    SOURCE_ALL,
    customer_details_get,
    customer_details_list,
    customer_get,
    customer_get_by_identifier,
    customer_profiles_for_source,
)
from members.services.customers import (
    EnrollmentRequest,
    customer_register,
    customer_update,
    registration_source_clean,
    warning,
)

# Sources where one person may hold several accounts, so the account must be named (8045).
MULTI_ACCOUNT_SOURCES = frozenset({"FACEBOOK", "WEB_ENGAGE", "WECHAT", "MOBILE_APP", "LINE"})
# update-by-lookup takes only these identifier names (contract §11.1).
UPDATE_LOOKUP_IDENTIFIERS = frozenset({"mobile", "email", "externalid"})
MAX_DATABASE_ID = 2**63 - 1
V11_BATCH_LIMIT = 100

LOOKUP_PARAMETERS = [
    OpenApiParameter("identifierName", str, description="mobile, email, externalId or id"),
    OpenApiParameter("identifierValue", str),
    OpenApiParameter("source", str, required=False, description="A source, or ALL (default)"),
    OpenApiParameter("accountId", str, required=False),
]
EMBED_PARAMETER = OpenApiParameter(
    "embed",
    str,
    required=False,
    description="Comma separated: mlp adds loyaltyProgramDetails, points adds pointsSummary",
)


def _source_param(value: str | None) -> str | None:
    """The `source` query parameter: None (all sources), ALL or a source; 8003 otherwise."""
    text = (value or "").strip().upper()
    if not text:
        return None
    if text != SOURCE_ALL and text not in RegistrationSource.values:
        raise InvalidSourceError(f"Invalid source {value!r}: use ALL or one of the sources")
    return text


def _embed_param(value: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


def _customer_by_lookup(
    *, org_ids: tuple[int, ...], identifier_name: str | None, identifier_value: str | None
) -> Customer:
    """Raises InvalidIdentifierError (8013), CustomerNotFoundError (8015), CustomerMergedError."""
    name = (identifier_name or "").strip()
    if not name:
        raise InvalidIdentifierError("identifierName is required")
    if name.lower() in s.IGNORED_IDENTIFIER_TYPES:
        # Cards and social ids are not kept here, so nobody can match them.
        raise CustomerNotFoundError(f"No customer with {name} {identifier_value!r}")
    value = (identifier_value or "").strip()
    if name.lower() in {"id", "userid", "user_id"} and value.isdigit():
        if int(value) > MAX_DATABASE_ID:
            raise CustomerNotFoundError()
    try:
        return customer_get_by_identifier(
            org_ids=org_ids, identifier_name=name, identifier_value=value
        )
    except (InvalidMobileError, InvalidEmailError, InvalidExternalIdError) as exc:
        raise InvalidIdentifierError(f"Invalid identifierValue: {exc.message}") from exc


def _customer_by_id(*, org_ids: tuple[int, ...], customer_id: int) -> Customer:
    if customer_id > MAX_DATABASE_ID:
        raise CustomerNotFoundError()
    return customer_get(org_ids=org_ids, customer_id=customer_id)


def _associated_till(
    *, org: Org, code: str | None, warnings: list[dict[str, Any]], warning_code: int = 91021
) -> Till | None:
    """The org's till named by `associatedWith`; an unknown code is a warning, not a failure."""
    code = (code or "").strip()
    if not code:
        return None
    till = Till.objects.filter(org=org, code=code).first()
    if till is None:
        warnings.append(
            warning(
                warning_code,
                f"Till {code!r} not found in the org; the customer is associated with the "
                "calling till",
            )
        )
    return till


def _enrollment_requests(items: list[dict[str, Any]] | None) -> list[EnrollmentRequest]:
    return [
        EnrollmentRequest(program_id=item["programId"], tier_number=item.get("tierNumber"))
        for item in items or []
    ]


def _v2_write_response(customer_id: int, warnings: list, side_effects: list) -> Response:
    body = {"createdId": customer_id, "warnings": warnings, "sideEffects": side_effects}
    return Response(s.CustomerRegisterOutputSerializer(body).data)


def _v2_details_response(
    api: BaseApi,
    *,
    customer: Customer,
    source: str | None,
    account_id: str | None,
    embed: str | None,
) -> Response:
    """Shared end of the two v2 gets (by id and by lookup)."""
    customer = customer_details_get(org_ids=api.scope.org_ids, customer=customer)
    data = s.customer_v2_representation(
        customer,
        source=source,
        account_id=account_id,
        embed=_embed_param(embed),
        include_org=api.scope.is_connected,
    )
    return Response(s.CustomerGetOutputSerializer(data).data)


def _v2_update(
    api: BaseApi, *, customer: Customer, data: dict[str, Any], query_source: str | None
) -> Response:
    """Shared body of the two v2 update paths (by id and by lookup)."""
    if query_source:
        customer_profiles_for_source(
            customer=customer,
            source=query_source,
            account_id=api.request.query_params.get("accountId"),
        )
    profile = (data.get("profiles") or [{}])[0]
    if profile.get("source"):
        registration_source_clean(profile["source"])
    identifiers = profile.get("identifier_values", {})
    result = customer_update(
        customer=customer,
        actor=api.principal.till,
        first_name=profile.get("firstName"),
        last_name=profile.get("lastName"),
        mobile=identifiers.get("mobile"),
        email=identifiers.get("email"),
        external_id=identifiers.get("external_id"),
        loyalty_type=(data.get("loyaltyInfo") or {}).get("loyaltyType"),
        extended_fields=data.get("extendedFields"),
        custom_fields=profile.get("fields"),
        status_label=data.get("statusLabel") or None,
        enrollments=_enrollment_requests(data.get("loyaltyProgramEnrollments")),
    )
    return _v2_write_response(result.customer.pk, result.warnings, result.side_effects)


# v2 ----------------------------------------------------------------------------------------
class CustomerRegisterApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["customers"],
        summary="Register a customer (or attach a new source to an existing one: 8050)",
        request=s.CustomerRegisterInputSerializer,
        responses=s.CustomerRegisterOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = s.CustomerRegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        profile = data["profiles"][0]
        org = Org.objects.get(pk=self.scope.write_org_id)
        source = registration_source_clean(profile["source"])
        account_id = (profile.get("accountId") or "").strip()
        if source in MULTI_ACCOUNT_SOURCES and not account_id:
            raise AccountIdMissingError(f"profiles[0].accountId is required for source {source}")
        warnings: list[dict[str, Any]] = []
        associated_till = _associated_till(
            org=org, code=data.get("associatedWith"), warnings=warnings
        )
        identifiers = profile["identifier_values"]
        result = customer_register(
            org=org,
            actor=self.principal.till,
            source=source,
            mobile=identifiers.get("mobile"),
            email=identifiers.get("email"),
            external_id=identifiers.get("external_id"),
            first_name=profile.get("firstName", ""),
            last_name=profile.get("lastName", ""),
            loyalty_type=(data.get("loyaltyInfo") or {}).get("loyaltyType", "loyalty"),
            account_id=account_id,
            registered_at=data.get("createDate"),
            extended_fields=data.get("extendedFields"),
            custom_fields=profile.get("fields"),
            enrollments=_enrollment_requests(data.get("loyaltyProgramEnrollments")),
            status_label=data.get("statusLabel") or None,
            associated_till=associated_till,
        )
        return _v2_write_response(
            result.customer.pk, [*warnings, *result.warnings], result.side_effects
        )


class CustomerDetailApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["customers"],
        summary="Get a customer by id",
        parameters=[
            OpenApiParameter("source", str, required=False, description="A source, or ALL"),
            OpenApiParameter("accountId", str, required=False),
            EMBED_PARAMETER,
        ],
        responses=s.CustomerGetOutputSerializer,
    )
    def get(self, request: Request, customer_id: int) -> Response:
        query = s.CustomerGetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        source = _source_param(query.validated_data.get("source"))
        customer = _customer_by_id(org_ids=self.scope.org_ids, customer_id=customer_id)
        return _v2_details_response(
            self,
            customer=customer,
            source=source,
            account_id=query.validated_data.get("accountId"),
            embed=query.validated_data.get("embed"),
        )

    @extend_schema(
        tags=["customers"],
        summary="Update a customer by id (identifiers and source cannot change here)",
        parameters=[
            OpenApiParameter("source", str, required=False),
            OpenApiParameter("accountId", str, required=False),
        ],
        request=s.CustomerUpdateInputSerializer,
        responses=s.CustomerRegisterOutputSerializer,
    )
    def put(self, request: Request, customer_id: int) -> Response:
        query_source = _source_param(request.query_params.get("source"))
        serializer = s.CustomerUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = _customer_by_id(org_ids=(self.scope.write_org_id,), customer_id=customer_id)
        return _v2_update(
            self, customer=customer, data=serializer.validated_data, query_source=query_source
        )


class CustomerLookupApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["customers"],
        summary="Find a customer's id by identifier",
        parameters=LOOKUP_PARAMETERS,
        responses=s.CustomerLookupOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        source = _source_param(params.get("source"))
        customer = _customer_by_lookup(
            org_ids=self.scope.org_ids,
            identifier_name=params.get("identifierName"),
            identifier_value=params.get("identifierValue"),
        )
        if source:
            customer_profiles_for_source(
                customer=customer, source=source, account_id=params.get("accountId")
            )
        body: dict[str, Any] = {"entity": customer.pk, "warnings": []}
        if self.scope.is_connected:
            body["orgId"] = customer.org_id
        return Response(s.CustomerLookupOutputSerializer(body).data)

    @extend_schema(
        tags=["customers"],
        summary="Update a customer found by mobile, email or externalId",
        parameters=LOOKUP_PARAMETERS,
        request=s.CustomerUpdateInputSerializer,
        responses=s.CustomerRegisterOutputSerializer,
    )
    def put(self, request: Request) -> Response:
        params = request.query_params
        query_source = _source_param(params.get("source"))
        name = (params.get("identifierName") or "").strip()
        if name and name.lower() not in UPDATE_LOOKUP_IDENTIFIERS:
            raise InvalidIdentifierError(
                f"Invalid identifierName {name!r}: update by lookup takes mobile, email or "
                "externalId"
            )
        serializer = s.CustomerUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = _customer_by_lookup(
            org_ids=(self.scope.write_org_id,),
            identifier_name=name,
            identifier_value=params.get("identifierValue"),
        )
        return _v2_update(
            self, customer=customer, data=serializer.validated_data, query_source=query_source
        )


class CustomerLookupDetailsApi(BaseApi):
    envelope = Envelope.V2

    @extend_schema(
        tags=["customers"],
        summary="Get a customer by identifier",
        parameters=[*LOOKUP_PARAMETERS, EMBED_PARAMETER],
        responses=s.CustomerGetOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        source = _source_param(params.get("source"))
        customer = _customer_by_lookup(
            org_ids=self.scope.org_ids,
            identifier_name=params.get("identifierName"),
            identifier_value=params.get("identifierValue"),
        )
        return _v2_details_response(
            self,
            customer=customer,
            source=source,
            account_id=params.get("accountId"),
            embed=params.get("embed"),
        )


# v1.1 --------------------------------------------------------------------------------------
V11_IDENTIFIER_TAKEN_CODES = {"mobile": 1032, "email": 1016, "external_id": 1033}
V11_LOYALTY_TYPES = {
    "LOYALTY": "loyalty",
    "NON_LOYALTY": "non_loyalty",
    "NOT_INTERESTED": "non_loyalty",
}


def _v11_code(exc: DomainError) -> int:
    """The v1.1 item code of a domain error (§11.10: 1014 already registered, 1032/1016/1033
    identifier taken; the identifier errors keep their own 1001-1003 / 1015)."""
    if isinstance(exc, CustomerAlreadyExistsError):
        return 1014
    if isinstance(exc, IdentifierTakenError):
        return V11_IDENTIFIER_TAKEN_CODES.get(exc.field or "", 1014)
    if isinstance(exc, CustomerNotFoundError):
        return 1012
    if isinstance(exc, InvalidIdentifierError):
        return 1042
    return exc.code


def _v11_item_input(raw: Any) -> dict[str, Any]:
    return v11_item_input(
        raw, s.CustomerV11ItemInputSerializer, not_object_message="Each customer must be an object"
    )


def _v11_echo(raw: Any) -> dict[str, Any]:
    """What a failed item reports back: the identifiers and names it was sent with."""
    if not isinstance(raw, dict):
        return {}
    keys = ("mobile", "email", "external_id", "firstname", "lastname")
    return {key: str(raw[key]) for key in keys if isinstance(raw.get(key), (str, int, float))}


def _v11_customers_body(
    results: list[V11ItemResult],
    *,
    org_ids: tuple[int, ...],
    represent: Callable[[Customer], dict[str, Any]] = s.customer_v11_representation,
) -> dict[str, Any]:
    """The batch body; each answered customer is `represent`ed (loaded in one query) under its
    item's own fields (item_status, side_effects)."""
    customers = customer_details_list(
        org_ids=org_ids,
        customer_ids=[result.entity_id for result in results if result.entity_id is not None],
    )

    def render(result: V11ItemResult) -> dict[str, Any]:
        if result.entity_id is None:
            return result.item
        return {**represent(customers[result.entity_id]), **result.item}

    return v11_batch_body(results, collection="customers", member="customer", render=render)


def _v11_customer_result(
    customer: Customer,
    *,
    message: str,
    side_effects: list[dict[str, Any]] | None = None,
    warnings: Iterable[dict[str, Any]] = (),
) -> V11ItemResult:
    """A succeeded item (code 1000); a write also reports its side effects."""
    item: dict[str, Any] = {}
    if side_effects is not None:
        item["side_effects"] = {"effect": side_effects}
    item["item_status"] = v11_item_status_of(True, 1000, message, warnings)
    return V11ItemResult(item=item, entity_id=customer.pk)


def _v11_batch_items(request: Request) -> list[Any]:
    serializer = s.CustomerV11BatchInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    items = serializer.validated_data["root"]["customer"]
    if len(items) > V11_BATCH_LIMIT:
        raise BatchLimitError(
            f"At most {V11_BATCH_LIMIT} customers per request ({len(items)} sent)"
        )
    return items


class CustomerV11AddApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["customers v1.1"],
        summary="Register customers (batch; each item succeeds or fails on its own)",
        request=s.CustomerV11BatchInputSerializer,
        responses=s.CustomerV11BatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        items = _v11_batch_items(request)
        org = Org.objects.get(pk=self.scope.write_org_id)
        results = v11_batch_run(
            items,
            lambda raw: self._register_one(org=org, raw=raw),
            echo=_v11_echo,
            error_code=_v11_code,
        )
        body = _v11_customers_body(results, org_ids=(org.pk,))
        return Response(s.CustomerV11BatchOutputSerializer(body).data)

    def _register_one(self, *, org: Org, raw: Any) -> V11ItemResult:
        data = _v11_item_input(raw)
        warnings: list[dict[str, Any]] = []
        try:
            registered_at = s.parse_v11_datetime(data.get("registered_on", ""), org.tzinfo)
        except ValueError as exc:
            raise V11ItemError(400, f"registered_on: {exc}") from exc
        associated_till = _associated_till(
            org=org, code=data.get("associated_with"), warnings=warnings
        ) or _associated_till(
            org=org, code=data.get("registered_till"), warnings=warnings, warning_code=91020
        )
        result = customer_register(
            org=org,
            actor=self.principal.till,
            source=data.get("source") or RegistrationSource.INSTORE,
            mobile=data.get("mobile"),
            email=data.get("email"),
            external_id=data.get("external_id"),
            first_name=data.get("firstname", ""),
            last_name=data.get("lastname", ""),
            loyalty_type=V11_LOYALTY_TYPES.get(data.get("type") or "LOYALTY", "loyalty"),
            account_id=data.get("accountId", ""),
            registered_at=registered_at,
            extended_fields=data.get("extended_fields"),
            custom_fields=data.get("custom_fields"),
            associated_till=associated_till,
        )
        return _v11_customer_result(
            result.customer,
            message="Customer registration successful",
            side_effects=result.side_effects,
            warnings=[*warnings, *result.warnings],
        )


class CustomerV11UpdateApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["customers v1.1"],
        summary="Update customers found by user_id, mobile, email or external_id (batch)",
        request=s.CustomerV11BatchInputSerializer,
        responses=s.CustomerV11BatchOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        items = _v11_batch_items(request)
        org_ids = (self.scope.write_org_id,)
        results = v11_batch_run(
            items,
            lambda raw: self._update_one(org_ids=org_ids, raw=raw),
            echo=_v11_echo,
            error_code=_v11_code,
        )
        body = _v11_customers_body(results, org_ids=org_ids)
        return Response(s.CustomerV11BatchOutputSerializer(body).data)

    def _find(self, *, org_ids: tuple[int, ...], data: dict[str, Any]) -> Customer:
        """The one customer the item's identifiers point at (any one of them may be new)."""
        given = [
            (name, data.get(key))
            for name, key in (
                ("id", "user_id"),
                ("mobile", "mobile"),
                ("email", "email"),
                ("external_id", "external_id"),
            )
            if data.get(key) not in (None, "")
        ]
        if not given:
            raise NoIdentifierError("Give user_id, mobile, email or external_id")
        found: dict[int, Customer] = {}
        taken_field = ""
        for name, value in given:
            try:
                customer = customer_get_by_identifier(
                    org_ids=org_ids, identifier_name=name, identifier_value=value
                )
            except CustomerNotFoundError:
                continue
            if found and customer.pk not in found:
                taken_field = name
            found.setdefault(customer.pk, customer)
        if not found:
            raise CustomerNotFoundError("Customer not found")
        if len(found) > 1:
            raise IdentifierTakenError(
                "The identifiers belong to different customers", field=taken_field
            )
        return next(iter(found.values()))

    def _update_one(self, *, org_ids: tuple[int, ...], raw: Any) -> V11ItemResult:
        data = _v11_item_input(raw)
        customer = self._find(org_ids=org_ids, data=data)
        result = customer_update(
            customer=customer,
            actor=self.principal.till,
            # v1.1 clients send "" for what they do not mean to change.
            first_name=data.get("firstname") or None,
            last_name=data.get("lastname") or None,
            mobile=data.get("mobile"),
            email=data.get("email"),
            external_id=data.get("external_id"),
            loyalty_type=V11_LOYALTY_TYPES.get(data.get("type") or ""),
            extended_fields=data.get("extended_fields"),
            custom_fields=data.get("custom_fields"),
        )
        return _v11_customer_result(
            result.customer,
            message="Customer successfully updated",
            side_effects=result.side_effects,
            warnings=result.warnings,
        )


V11_GET_PARAMETERS = (
    ("mobile", "mobile"),
    ("email", "email"),
    ("external_id", "external_id"),
    ("id", "user_id"),
)


class CustomerV11GetApi(BaseApi):
    envelope = Envelope.V11

    @extend_schema(
        tags=["customers v1.1"],
        summary="Get customers by mobile, email, external_id or id (comma-separated lists)",
        parameters=[
            OpenApiParameter("mobile", str, required=False),
            OpenApiParameter("email", str, required=False),
            OpenApiParameter("external_id", str, required=False),
            OpenApiParameter("id", str, required=False),
            OpenApiParameter("user_group", OpenApiTypes.BOOL, required=False),
        ],
        responses=s.CustomerV11GetOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        lookups = [
            (param, echo_key, value.strip())
            for param, echo_key in V11_GET_PARAMETERS
            for value in request.query_params.get(param, "").split(",")
            if value.strip()
        ]
        if not lookups:
            raise NoIdentifierError("Give mobile, email, external_id or id")
        if len(lookups) > V11_BATCH_LIMIT:
            raise BatchLimitError(f"At most {V11_BATCH_LIMIT} values per request")
        include_user_group = request.query_params.get("user_group", "").lower() == "true"
        results = v11_batch_run(
            lookups,
            self._get_one,
            echo=lambda lookup: {lookup[1]: lookup[2]},
            error_code=_v11_code,
        )
        body = _v11_customers_body(
            results,
            org_ids=self.scope.org_ids,
            represent=lambda customer: s.customer_v11_get_representation(
                customer, include_user_group=include_user_group
            ),
        )
        return Response(s.CustomerV11GetOutputSerializer(body).data)

    def _get_one(self, lookup: tuple[str, str, str]) -> V11ItemResult:
        param, _echo_key, value = lookup
        try:
            if param == "id" and value.isdigit() and int(value) > MAX_DATABASE_ID:
                raise CustomerNotFoundError()
            customer = customer_get_by_identifier(
                org_ids=self.scope.org_ids, identifier_name=param, identifier_value=value
            )
        except CustomerNotFoundError as exc:
            raise V11ItemError(1012, "Customer not found") from exc
        return _v11_customer_result(customer, message="Customer successfully retrieved")
