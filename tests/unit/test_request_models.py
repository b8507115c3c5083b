"""Registration bodies: what is accepted, what is refused, and how refusals name their fields; and how a
request's body is read (size, type, base64, JSON) before it is validated."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from functions.registration_api.handler import REGISTRATION_KINDS
from infra.samples import group, individual
from shared.api.problems import field_errors
from shared.api.requests import MAX_BODY_BYTES, json_body
from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from shared.registration.models import IndividualRegistrationRequest, registration_request_adapter
from shared.text import is_printable

printable_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Cf")),
    min_size=1,
    max_size=100,
).filter(lambda name: name.strip() and is_printable(name))


@given(printable_names)
def test_any_printable_name_up_to_100_characters_is_accepted(name: str) -> None:
    accepted = registration_request_adapter.validate_python(individual(first_name=name))
    assert accepted.seats[0].first_name == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        "Ana\u200bLopez",  # zero-width space
        "Ana\u200d",  # a joiner joining nothing
        "\u200eAna",  # left-to-right mark
        "Ana\u00adLopez",  # soft hyphen
        "Ana\u2060",  # word joiner
        "=?utf-8?q?Chief_Park?=",  # read by mail clients as another name
        "Ana =?UTF-8?B?QWRtaW4=?=",
    ],
)
def test_a_name_with_invisible_formatting_or_an_encoded_word_is_refused_at_its_field(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        registration_request_adapter.validate_python(individual(first_name=name))
    assert [error["loc"][-1] for error in refused.value.errors()] == ["first_name"]


def test_an_emoji_sequence_joined_by_a_zero_width_joiner_is_a_name_s_picture_not_hidden_text() -> None:
    accepted = registration_request_adapter.validate_python(individual(first_name="Łukasz 👩‍🚀 👩🏽‍🚀"))
    assert accepted.seats[0].first_name == "Łukasz 👩‍🚀 👩🏽‍🚀"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ana@bücher.example", "ana@xn--bcher-kva.example"),
        ("Ana.Lopez@EXAMPLE.org", "Ana.Lopez@example.org"),
        ("ana@xn--bcher-kva.example", "ana@xn--bcher-kva.example"),
    ],
)
def test_an_internationalised_domain_is_kept_in_the_ascii_form_that_is_mailed(typed: str, stored: str) -> None:
    accepted = registration_request_adapter.validate_python(individual(email=typed))
    assert accepted.seats[0].email == stored


@pytest.mark.parametrize("email", ["añа@example.org", "josé@example.org", "用户@例子.广告"])
def test_an_address_ses_cannot_deliver_to_is_refused_at_its_field(email: str) -> None:
    with pytest.raises(ValidationError) as refused:
        registration_request_adapter.validate_python(individual(email=email))
    assert [error["loc"][-1] for error in refused.value.errors()] == ["email"]


@given(st.text(min_size=1, max_size=20), st.sampled_from(["\r", "\n", "\x00", "\x1b", "\u2028", "\u202e"]))
def test_a_name_with_a_control_character_anywhere_is_refused(text: str, control: str) -> None:
    with pytest.raises(ValidationError):
        registration_request_adapter.validate_python(individual(first_name=text + control))


def test_field_paths_name_list_positions_and_skip_the_kind_tag() -> None:
    body = group(["a@example.org", "not-an-email"])
    with pytest.raises(ValidationError) as raised:
        registration_request_adapter.validate_python(body)
    fields = field_errors(raised.value, ignore_leading=frozenset({"individual", "group"}))
    assert [error.field for error in fields] == ["attendees[1].email"]
    assert "not-an-email" not in fields[0].message


def test_a_missing_or_unknown_kind_is_reported_on_kind() -> None:
    bodies: list[dict[str, object]] = [{"attendee": {}}, {"kind": "vip"}]
    for body in bodies:
        with pytest.raises(ValidationError) as raised:
            registration_request_adapter.validate_python(body)
        assert [error.field for error in field_errors(raised.value)] == ["kind"]


def with_change(body: Any, path: str, value: Any) -> Any:
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
    "group over 99": (group([f"p{i}@example.org" for i in range(100)]), ["attendees"]),
    "group with an extra field": (
        with_change(group(["a@example.org"]), "attendees.0.coin", True),
        ["attendees[0].coin"],
    ),
    "group without purchaser": (with_change(group(["a@example.org"]), "purchaser", ...), ["purchaser"]),
    "body is a list": ([individual()], ["body"]),
    "body is a string": ("individual", ["body"]),
    "body is null": (None, ["body"]),
}
INVOICE_BODIES: dict[str, tuple[Any, list[str]]] = {
    "unknown method": ({"method": "cash"}, ["payment.method"]),
    "invoice without billing": ({"method": "invoice"}, ["payment.billing_email", "payment.billing_name"]),
    "bad billing email": (
        {"method": "invoice", "billing_email": "not-an-email", "billing_name": "AP"},
        ["payment.billing_email"],
    ),
    "long PO number": (
        {"method": "invoice", "billing_email": "ap@agency.gov", "billing_name": "AP", "po_number": "A" * 31},
        ["payment.po_number"],
    ),
    "unknown field": ({"method": "checkout", "discount": 100}, ["payment.discount"]),
}
INVALID_BODIES |= {
    f"payment: {name}": (individual() | {"payment": payment}, fields)
    for name, (payment, fields) in INVOICE_BODIES.items()
}
# What a refusal must never repeat back (it would be personal data, or an attacker's payload).
SENT_VALUES = ("evil.test", "not-an-email", "Lo\x00pez", "AAAAAAAAAA", "call me", "USA")


@pytest.mark.parametrize(("body", "fields"), INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_an_invalid_body_is_refused_naming_its_fields_without_repeating_them(body, fields) -> None:
    # When
    with pytest.raises(ValidationError) as raised:
        registration_request_adapter.validate_python(body)

    # Then
    errors = field_errors(raised.value, ignore_leading=REGISTRATION_KINDS)
    assert {error.field for error in errors} >= set(fields), errors
    for error in errors:
        assert not any(value in error.message for value in SENT_VALUES), error


def event(
    body: bytes, *, content_type: str | None = "application/json", encode: bool = False
) -> APIGatewayProxyEventV2:
    headers = {"content-type": content_type} if content_type else {}
    text = base64.b64encode(body).decode() if encode else body.decode("utf-8", errors="surrogateescape")
    return APIGatewayProxyEventV2({"headers": headers, "body": text, "isBase64Encoded": encode})


def read(raw: bytes, **options: Any) -> object:
    return json_body(event(raw, **options), registration_request_adapter, tags=REGISTRATION_KINDS)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "The body is not valid JSON."),
        (b"{'kind': 'individual'}", "The body is not valid JSON."),
        (b"\xff\xfe{}", "The body is not valid JSON."),
        (b"", "The body is empty; send a JSON object."),
        (b"   ", "The body is empty; send a JSON object."),
    ],
    ids=["truncated", "single quotes", "not utf-8", "empty", "blank"],
)
def test_a_body_that_is_not_json_is_refused_on_the_body(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        read(raw)
    assert [(e.field, e.message) for e in raised.value.errors] == [("body", message)]


@pytest.mark.parametrize("raw", [b"null", b"[]", b"42"])
def test_json_that_is_not_an_object_is_refused_on_the_body(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as raised:
        read(raw)
    assert {e.field for e in raised.value.errors} == {"body"}


def test_the_body_is_limited_to_64_kib_whatever_its_shape() -> None:
    padded = json.dumps(individual() | {"padding": "x" * MAX_BODY_BYTES}).encode()
    with pytest.raises(PayloadTooLarge):
        read(padded)
    with pytest.raises(PayloadTooLarge):
        read(padded, encode=True)  # counted after base64 decoding


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_of_another_media_type_is_refused(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        read(json.dumps(individual()).encode(), content_type=content_type)


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        (None, False),  # no type: read as JSON
        ("application/json; charset=utf-8", False),
        ("Application/JSON", False),
        ("application/octet-stream+json", True),  # API Gateway base64-encodes bodies it considers binary
    ],
)
def test_json_is_read_whatever_its_declared_variant_or_encoding(content_type: str | None, encode: bool) -> None:
    accepted = read(json.dumps(individual()).encode(), content_type=content_type, encode=encode)
    assert isinstance(accepted, IndividualRegistrationRequest)


@pytest.mark.parametrize(
    "text", ["%%% not base64 %%%", "e3%%0="], ids=["garbage", "base64 of {} with stray characters"]
)
def test_a_body_flagged_base64_that_is_not_strictly_base64_is_refused_on_the_body(text: str) -> None:
    flagged = APIGatewayProxyEventV2({"headers": {}, "body": text, "isBase64Encoded": True})
    with pytest.raises(InvalidRequest) as raised:
        json_body(flagged, registration_request_adapter)
    assert [(e.field, e.message) for e in raised.value.errors] == [("body", "The body is not valid base64.")]
