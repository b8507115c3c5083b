"""The in-process API Gateway: routes matched as the template declares them, v2 events as AWS builds them."""

from __future__ import annotations

import base64

from infra.apigw import build_event, match_route, to_http_response
from infra.template import Route

ROUTES = [Route("GET", "/registrations/{registration_id}", "F"), Route("POST", "/registrations", "F")]


def test_path_parameters_come_from_the_route_template() -> None:
    matched = match_route(ROUTES, "get", "/registrations/reg_1")
    assert matched == (ROUTES[0], {"registration_id": "reg_1"})
    assert match_route(ROUTES, "GET", "/registrations/a/b") is None
    assert match_route(ROUTES, "PUT", "/registrations") is None


def test_an_event_has_the_v2_shape() -> None:
    event = build_event(
        ROUTES[1],
        {},
        method="POST",
        path="/registrations",
        query="a=1&a=2&b=",
        headers={"Content-Type": "application/json", "Cookie": "x=1; y=2"},
        body=b'{"k": 1}',
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /registrations"
    assert event["headers"]["content-type"] == "application/json"
    assert event["cookies"] == ["x=1", "y=2"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False


def test_binary_bodies_are_base64_encoded() -> None:
    event = build_event(
        ROUTES[1], {}, method="POST", path="/registrations", headers={"content-type": "image/png"}, body=b"\x89PNG"
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"


def test_a_lambda_answer_becomes_http() -> None:
    response = to_http_response(
        {
            "statusCode": 201,
            "headers": {"Location": "/x"},
            "body": base64.b64encode(b"hi").decode(),
            "isBase64Encoded": True,
        }
    )
    assert (response.status, response.headers["location"], response.body) == (201, "/x", b"hi")
