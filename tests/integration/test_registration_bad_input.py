"""Every bad body gets a 4xx problem naming what is wrong, never a 5xx, and stores nothing
(reliability.md section 7, "Bad input (API)")."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from functions.registration_api.handler import lambda_handler
from infra.apigw import LambdaContext, LocalHttpApi, build_event, match_route, to_http_response
from infra.samples import JSON, encoded, group, individual
from infra.template import http_api_routes as api_routes
from tests.support.tables import scan_all


def with_change(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with the dotted `path` set to `value` (or removed when value is ...)."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return changed


INVALID_BODIES = {
    # mass assignment: a client cannot set what only payment may change
    "extra status": (with_change(individual(), "status", "paid"), ["status"]),
    "extra price": (with_change(individual(), "price", 0), ["price"]),
    "extra paid on attendee": (with_change(individual(), "attendee.paid", True), ["attendee.paid"]),
    "missing kind": (with_change(individual(), "kind", ...), ["kind"]),
    "unknown kind": (with_change(individual(), "kind", "vip"), ["kind"]),
    "missing email": (with_change(individual(), "attendee.email", ...), ["attendee.email"]),
    "invalid email": (with_change(individual(), "attendee.email", "not-an-email"), ["attendee.email"]),
    "email with CRLF": (
        with_change(individual(), "attendee.email", "a@example.org\r\nBcc: x@evil.test"),
        ["attendee.email"],
    ),
    "CRLF in a name": (
        with_change(individual(), "attendee.first_name", "Ana\r\nBcc: x@evil.test"),
        ["attendee.first_name"],
    ),
    "trailing LF in a name": (with_change(individual(), "attendee.last_name", "Lopez\n"), ["attendee.last_name"]),
    "NUL in a name": (with_change(individual(), "attendee.last_name", "Lo\x00pez"), ["attendee.last_name"]),
    "bidi override in a name": (with_change(individual(), "attendee.last_name", "\u202eLopez"), ["attendee.last_name"]),
    "tab in an address": (
        with_change(individual(), "shipping_address.line1", "1 Main\tSt"),
        ["shipping_address.line1"],
    ),
    "name over 100": (with_change(individual(), "attendee.first_name", "A" * 101), ["attendee.first_name"]),
    "organization over 200": (with_change(individual(), "attendee.organization", "O" * 201), ["attendee.organization"]),
    "blank name": (with_change(individual(), "attendee.first_name", "   "), ["attendee.first_name"]),
    "name of the wrong type": (with_change(individual(), "attendee.first_name", 42), ["attendee.first_name"]),
    "attendee of the wrong type": (with_change(individual(), "attendee", "Ana"), ["attendee"]),
    "individual without address": (with_change(individual(), "shipping_address", ...), ["shipping_address"]),
    "individual with null address": (with_change(individual(), "shipping_address", None), ["shipping_address"]),
    "bad country": (with_change(individual(), "shipping_address.country", "USA"), ["shipping_address.country"]),
    "bad phone": (with_change(individual(), "attendee.phone", "call me"), ["attendee.phone"]),
    "group without attendees": (group([]), ["attendees"]),
    "group over 50": (group([f"p{i}@example.org" for i in range(51)]), ["attendees"]),
    "group with one person twice": (
        group(["a@example.org", "b@example.org", "A@Example.org"]),
        ["attendees[2].email"],
    ),
    "group with an extra field": (
        with_change(group(["a@example.org"]), "attendees.0.coin", True),
        ["attendees[0].coin"],
    ),
    "group without purchaser": (with_change(group(["a@example.org"]), "purchaser", ...), ["purchaser"]),
    "body is a list": ([individual()], ["body"]),
    "body is a string": ("individual", ["body"]),
}


@pytest.mark.parametrize(("body", "fields"), INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_an_invalid_body_is_a_422_naming_the_fields(api: LocalHttpApi, aws, stack, body, fields) -> None:
    # When
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body))

    # Then
    assert response.status == 422, response.body
    assert response.content_type == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["status"] == 422
    assert {error["field"] for error in problem["errors"]} >= set(fields), problem["errors"]
    # the error never echoes what was sent
    for secret in ("evil.test", "not-an-email", "Lo\\u0000pez", "AAAAAAAAAA"):
        assert secret not in response.body.decode()
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{'kind': 'individual'}", b"", b"   ", b"\xff\xfe{}", b"null", b"[]"],
    ids=["truncated", "single quotes", "empty", "blank", "not utf-8", "null", "empty list"],
)
def test_a_body_that_is_not_a_json_object_is_a_422(api: LocalHttpApi, raw: bytes) -> None:
    response = api.request("POST", "/registrations", headers=JSON, body=raw)
    assert response.status == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"]


def test_a_body_over_64_kib_is_a_413(api: LocalHttpApi, aws, stack) -> None:
    # Given: a valid shape padded past the limit
    body = individual()
    body["padding"] = "x" * (64 * 1024)

    # When
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body))

    # Then
    assert response.status == 413
    assert response.json()["code"] == "payload_too_large"
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []


def test_a_body_that_is_not_json_is_a_415(api: LocalHttpApi) -> None:
    response = api.request("POST", "/registrations", headers={"content-type": "text/plain"}, body=encoded(individual()))
    assert response.status == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_base64_encoded_body_is_read_like_any_other(api: LocalHttpApi) -> None:
    # Given: API Gateway base64-encodes bodies it considers binary
    response = api.request(
        "POST",
        "/registrations",
        headers={"content-type": "application/octet-stream+json"},
        body=json.dumps(individual()).encode(),
    )
    assert response.status == 201


def test_unicode_names_are_accepted_and_kept(api: LocalHttpApi, aws, stack) -> None:
    # When
    body = individual(first_name="Łukasz 👩‍🚀", last_name="Nguyễn-O’Brien")
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body))

    # Then
    assert response.status == 201
    (registration,) = [
        item for item in scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) if item["sk"] == "META"
    ]
    assert registration["seats"][0]["first_name"] == "Łukasz 👩‍🚀"
    assert registration["seats"][0]["last_name"] == "Nguyễn-O’Brien"


def test_a_malformed_idempotency_key_is_a_422(api: LocalHttpApi) -> None:
    response = api.request(
        "POST", "/registrations", headers=JSON | {"idempotency-key": "x" * 256}, body=encoded(individual())
    )
    assert response.status == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_body_flagged_base64_that_is_not_base64_is_a_422(api: LocalHttpApi) -> None:
    # Given an event whose isBase64Encoded flag is wrong
    route, parameters = match_route(api_routes(), "POST", "/registrations") or (None, {})
    assert route is not None
    event = build_event(route, parameters, method="POST", path="/registrations", headers=JSON, body=b"{}")
    event |= {"isBase64Encoded": True, "body": "%%% not base64 %%%"}

    # When
    response = to_http_response(lambda_handler(event, LambdaContext("RegistrationApi")))

    # Then
    assert response.status == 422
    assert response.json()["errors"] == [{"field": "body", "message": "The body is not valid base64."}]
