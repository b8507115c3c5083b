"""Bad input through the HTTP API: a 4xx problem naming what is wrong, never a 5xx, and nothing stored
(reliability.md section 7, "Bad input (API)"). Which bodies are refused, and on which field, is
tests/unit/test_request_models.py (the models and the body reader) and tests/unit/test_registration_service.py
(the conference's rules); here each answer's HTTP mapping is pinned once."""

from __future__ import annotations

import json

import pytest

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, group, individual
from tests.support.tables import scan_all

REFUSED = {
    # refused by the request model, before the service is called
    "email with CRLF (the model)": (individual(email="a@example.org\r\nBcc: x@evil.test"), "attendee.email"),
    # refused by the service, against the conference's rules
    "one person twice (the service)": (
        group(["a@example.org", "b@example.org", "A@Example.org"]),
        "attendees[2].email",
    ),
}


@pytest.mark.parametrize(("body", "field"), REFUSED.values(), ids=REFUSED.keys())
def test_an_invalid_body_is_a_422_problem_naming_the_field_and_storing_nothing(
    api: LocalHttpApi, aws, stack, body, field
) -> None:
    # When
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body))

    # Then
    assert response.status == 422, response.body
    assert response.content_type == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["status"] == 422
    assert field in {error["field"] for error in problem["errors"]}, problem["errors"]
    # the error never echoes what was sent
    assert "evil.test" not in response.body.decode()
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []


def test_a_body_that_is_not_json_is_a_422_on_the_body(api: LocalHttpApi) -> None:
    response = api.request("POST", "/registrations", headers=JSON, body=b"{")
    assert response.status == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == [{"field": "body", "message": "The body is not valid JSON."}]


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
