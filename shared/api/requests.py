"""Reading requests: the body's size and type, JSON validation into request models, headers."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import TypeAdapter, ValidationError

from shared.api.problems import field_errors
from shared.errors import FieldError, InvalidRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024
T = TypeVar("T")


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8", errors="surrogateescape")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest([FieldError("body", "The body is not valid base64.")]) from exc


def header(event: APIGatewayProxyEventV2, name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in (event.headers or {}).items() if key.lower() == lowered), None)


def json_body(event: APIGatewayProxyEventV2, model: TypeAdapter[T], *, tags: frozenset[str] = frozenset()) -> T:
    """Validate the body into `model`. 413 over 64 KiB, 415 for a non-JSON type, 422 for the rest."""
    content_type = (header(event, "content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    body = raw_body(event)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")
    if not body.strip():
        raise InvalidRequest([FieldError("body", "The body is empty; send a JSON object.")])
    try:
        return model.validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise InvalidRequest([FieldError("body", "The body is not valid JSON.")]) from None
        raise InvalidRequest(field_errors(exc, ignore_leading=tags)) from None


def json_response_body(value: Any) -> str:
    return TypeAdapter(type(value)).dump_json(value).decode()
