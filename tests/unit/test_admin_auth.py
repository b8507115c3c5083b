"""The organiser's token check: one middleware for a whole resolver, answering 401 through the problem map."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from infra.apigw import HttpResponse, LambdaContext, build_event, to_http_response
from infra.template import Route
from shared.api.admin_auth import organiser_only
from shared.api.problems import install_problem_responses

TOKEN = "organiser-token-0123456789"
ROUTES = [Route("GET", "/admin/things", "AdminApi"), Route("POST", "/admin/things/{thing_id}/act", "AdminApi")]


@pytest.fixture
def resolver() -> tuple[APIGatewayHttpResolver, list[str]]:
    """A resolver with the middleware registered once, and two routes that record that they ran."""
    app = APIGatewayHttpResolver()
    install_problem_responses(app)
    app.use(middlewares=[organiser_only(lambda: TOKEN)])
    ran: list[str] = []

    @app.get("/admin/things")
    def things() -> Response[str]:
        ran.append("things")
        return Response(HTTPStatus.OK, "application/json", "[]")

    @app.post("/admin/things/<thing_id>/act")
    def act(thing_id: str) -> Response[str]:
        ran.append(f"act {thing_id}")
        return Response(HTTPStatus.ACCEPTED, "application/json", "{}")

    return app, ran


def call(app: APIGatewayHttpResolver, route: Route, path: str, headers: dict[str, str]) -> HttpResponse:
    parameters = {"thing_id": "t1"} if "{thing_id}" in route.path else {}
    event = build_event(route, parameters, method=route.method, path=path)
    event["headers"] = dict(headers)  # as sent: the check must not depend on the header name's case
    context: Any = LambdaContext("AdminApi")  # the attributes Powertools reads, as infra/apigw.py gives them
    return to_http_response(app.resolve(event, context))


REFUSED = {
    "no header": {},
    "empty": {"authorization": ""},
    "wrong token": {"authorization": "Bearer not-the-token"},
    "the token with Basic": {"authorization": f"Basic {TOKEN}"},
    "Basic credentials": {"authorization": "Basic b3JnYW5pc2VyOnNlY3JldA=="},
    "the scheme alone": {"authorization": "Bearer"},
    "the token without a scheme": {"authorization": TOKEN},
    "a longer token": {"authorization": f"Bearer {TOKEN}x"},
}


@pytest.mark.parametrize("headers", REFUSED.values(), ids=REFUSED.keys())
def test_every_route_refuses_a_missing_wrong_or_basic_token_before_it_runs(resolver, headers) -> None:
    # Given
    app, ran = resolver

    # When each route is called without the organiser's bearer token
    answers = [
        call(app, ROUTES[0], "/admin/things", headers),
        call(app, ROUTES[1], "/admin/things/t1/act", headers),
    ]

    # Then each is a 401 problem, and no route ran
    for answer in answers:
        assert answer.status == 401
        assert answer.content_type == "application/problem+json"
        assert json.loads(answer.body)["code"] == "unauthorized"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert ran == []


@pytest.mark.parametrize(
    "headers",
    [{"authorization": f"Bearer {TOKEN}"}, {"Authorization": f"bearer {TOKEN}"}, {"AUTHORIZATION": f"BEARER {TOKEN}"}],
    ids=["lower-case name", "canonical name, lower-case scheme", "upper case"],
)
def test_the_bearer_token_lets_every_route_run(resolver, headers) -> None:
    # Given
    app, ran = resolver

    # When
    listed = call(app, ROUTES[0], "/admin/things", headers)
    acted = call(app, ROUTES[1], "/admin/things/t1/act", headers)

    # Then
    assert (listed.status, acted.status) == (200, 202)
    assert ran == ["things", "act t1"]
