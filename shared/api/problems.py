"""The one error map: domain errors to RFC 9457 problem responses with a stable `code`."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import ValidationError

from shared.errors import (
    AlreadyRegistered,
    ChangeRefused,
    ConferenceStarted,
    DomainError,
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCredentials,
    InvalidRequest,
    InvalidSession,
    InvalidSignature,
    InvalidTransition,
    NotAGroupSeat,
    NotFound,
    NotIssued,
    NotRefundable,
    PayloadTooLarge,
    PaymentProviderUnavailable,
    PreconditionRequired,
    RegistrationClosed,
    RegistrationInProgress,
    RequestInProgress,
    SessionSuperseded,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    VersionConflict,
)
from shared.observability import logger

PROBLEM_JSON = "application/problem+json"

STATUS_OF: dict[type[DomainError], HTTPStatus] = {
    InvalidRequest: HTTPStatus.UNPROCESSABLE_ENTITY,
    InvalidSignature: HTTPStatus.BAD_REQUEST,
    IdempotencyKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    NotFound: HTTPStatus.NOT_FOUND,
    NotIssued: HTTPStatus.NOT_FOUND,
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    InvalidCredentials: HTTPStatus.UNAUTHORIZED,
    InvalidSession: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    VersionConflict: HTTPStatus.PRECONDITION_FAILED,
    PreconditionRequired: HTTPStatus.PRECONDITION_REQUIRED,
    ChangeRefused: HTTPStatus.CONFLICT,
    SessionSuperseded: HTTPStatus.UNAUTHORIZED,
    TooManyRequests: HTTPStatus.TOO_MANY_REQUESTS,
    AlreadyRegistered: HTTPStatus.CONFLICT,
    RegistrationInProgress: HTTPStatus.CONFLICT,
    RegistrationClosed: HTTPStatus.CONFLICT,
    NotRefundable: HTTPStatus.CONFLICT,
    InvalidTransition: HTTPStatus.CONFLICT,
    NotAGroupSeat: HTTPStatus.CONFLICT,
    ConferenceStarted: HTTPStatus.CONFLICT,
    RequestInProgress: HTTPStatus.CONFLICT,
    PaymentProviderUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    TemporarilyUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}
RETRY_AFTER_SECONDS = {
    HTTPStatus.SERVICE_UNAVAILABLE: "5",
    HTTPStatus.CONFLICT: "1",
    HTTPStatus.TOO_MANY_REQUESTS: "900",
}


def problem(
    status: HTTPStatus,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    *,
    retry_after: int | None = None,
) -> Response[str]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": int(status),
        "code": code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": error.field, "message": error.message} for error in errors]
    headers = {"Retry-After": RETRY_AFTER_SECONDS[status]} if status in RETRY_AFTER_SECONDS else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="conference"'
    return Response(status_code=int(status), content_type=PROBLEM_JSON, body=json.dumps(body), headers=headers or None)


def problem_for(error: DomainError) -> Response[str]:
    status = next((status for kind, status in STATUS_OF.items() if isinstance(error, kind)), HTTPStatus.BAD_REQUEST)
    errors = error.errors if isinstance(error, InvalidRequest) else None
    retry_after = error.retry_after if isinstance(error, TooManyRequests) else None
    return problem(status, error.code, error.title, error.detail, errors, retry_after=retry_after)


# Fields holding a union told apart by a tag, and those tags (shared/registration/models.py PaymentChoice).
_NESTED_TAGS = {"payment": frozenset({"checkout", "invoice"})}


def field_errors(error: ValidationError, *, ignore_leading: frozenset[str] = frozenset()) -> list[FieldError]:
    """pydantic's errors as `field` paths (`attendees[2].email`), never with the input value."""
    fields = []
    for item in error.errors(include_input=False, include_url=False):
        location = list(item["loc"])
        if location and location[0] in ignore_leading:
            location = location[1:]  # the discriminator's tag is not a field the client sent
        # Nor is a nested union's tag (`payment.invoice.billing_email` is the client's `payment.billing_email`).
        location = [
            part
            for before, part in zip([None, *location], location, strict=False)
            if part not in _NESTED_TAGS.get(str(before), frozenset())
        ]
        path = ""
        for part in location:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        if item["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            path = f"{path}.method" if path == "payment" else "kind"
        message = item["msg"].removeprefix("Value error, ")
        fields.append(FieldError(path or "body", message))
    return fields


def install_problem_responses(app: ApiGatewayResolver) -> None:
    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response[str]:
        if isinstance(error, TemporarilyUnavailable | PaymentProviderUnavailable):
            logger.warning(
                "dependency unavailable", extra={"code": error.code, "cause": type(error.__cause__).__name__}
            )
        else:
            # Field names only, never the values: they are personal data.
            fields = [e.field for e in error.errors] if isinstance(error, InvalidRequest) else []
            logger.info("request refused", extra={"code": error.code, "fields": fields})
        return problem_for(error)

    @app.exception_handler(ValidationError)
    def _invalid(error: ValidationError) -> Response[str]:
        # Input validated outside json_body (query parameters) is still a 422 with its fields named.
        return problem_for(InvalidRequest(field_errors(error)))

    @app.not_found
    def _unknown_route(_: Exception) -> Response[str]:
        return problem(HTTPStatus.NOT_FOUND, "not_found", "Not found", "There is no such route.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return problem(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Internal error", "Something went wrong on our side."
        )
