"""Who may call each organiser route: one middleware for the whole resolver, the contract's table of groups, the
person's email as the audit's actor, MFA for the groups that need it; refusals through the problem map."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from infra.apigw import HttpResponse, LambdaContext, build_event, to_http_response
from infra.template import http_api_routes
from shared.api.admin_auth import MAY_CALL, Organiser, OrganiserAccount, groups_of, organisers_only
from shared.api.problems import install_problem_responses

ROUTE = "POST /admin/registrations/{registration_id}/refund"  # finance's (and admin's)
ACCOUNTS = {
    "u-admin": OrganiserAccount("admin@example.org", enabled=True, has_mfa=True),
    "u-finance": OrganiserAccount("finance@example.org", enabled=True, has_mfa=False),
    "u-viewer": OrganiserAccount("viewer@example.org", enabled=True, has_mfa=False),
    "u-disabled": OrganiserAccount("gone@example.org", enabled=False, has_mfa=True),
}


class Directory:
    def __init__(self) -> None:
        self.reads: list[str] = []

    def account(self, username: str) -> OrganiserAccount | None:
        self.reads.append(username)
        return ACCOUNTS.get(username)


@pytest.fixture
def directory() -> Directory:
    return Directory()


def resolver(directory: Directory, mfa_groups: frozenset[str] = frozenset()):
    app = APIGatewayHttpResolver()
    install_problem_responses(app)
    app.use(middlewares=[organisers_only(lambda: directory, lambda: mfa_groups)])
    ran: list[Organiser] = []

    @app.post("/admin/registrations/<registration_id>/refund")
    def refund(registration_id: str) -> Response[str]:
        ran.append(app.context["organiser"])
        return Response(HTTPStatus.ACCEPTED, "application/json", "{}")

    return app, ran


def call(app: APIGatewayHttpResolver, claims: dict[str, Any] | None) -> HttpResponse:
    (route,) = [r for r in http_api_routes() if f"{r.method} {r.path}" == ROUTE]
    event = build_event(route, {"registration_id": "reg_x"}, method="POST", path="/admin/registrations/reg_x/refund")
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return to_http_response(app.resolve(event, LambdaContext("AdminApi")))  # type: ignore[arg-type]


def claims(username: str, groups: str) -> dict[str, str]:
    # As API Gateway's HTTP API passes a verified access token's claims: every value a string, arrays too.
    return {"username": username, "token_use": "access", "cognito:groups": groups, "client_id": "c1"}


def problem(answer: HttpResponse) -> tuple[int, str]:
    return answer.status, json.loads(answer.body)["code"]


def test_a_group_that_may_runs_the_route_and_the_actor_is_the_person_s_email(directory) -> None:
    app, ran = resolver(directory)
    assert call(app, claims("u-finance", "[finance]")).status == 202
    assert ran == [Organiser(actor="finance@example.org", groups=frozenset({"finance"}))]


def test_a_group_that_may_not_is_a_403_before_the_pool_is_read(directory) -> None:
    app, ran = resolver(directory)
    assert problem(call(app, claims("u-viewer", "[viewer support]"))) == (403, "forbidden")
    assert ran == [] and directory.reads == []


@pytest.mark.parametrize(
    "sent",
    [
        None,
        {},
        {"token_use": "access", "cognito:groups": "[admin]"},
        claims("u-admin", "[admin]") | {"token_use": "id"},
    ],
    ids=["no authorizer", "no claims", "no username", "an id token"],
)
def test_without_a_person_s_access_token_claims_it_is_a_401(directory, sent) -> None:
    app, ran = resolver(directory)
    assert problem(call(app, sent)) == (401, "unauthorized")
    assert ran == []


def test_a_removed_or_disabled_account_is_a_401_even_with_a_valid_token(directory) -> None:
    app, ran = resolver(directory)
    assert problem(call(app, claims("u-deleted", "[admin]"))) == (401, "unauthorized")
    assert problem(call(app, claims("u-disabled", "[admin]"))) == (401, "unauthorized")
    assert ran == []


def test_the_groups_that_need_mfa_are_refused_without_it(directory) -> None:
    app, ran = resolver(directory, mfa_groups=frozenset({"admin", "finance"}))
    assert problem(call(app, claims("u-finance", "[finance]"))) == (403, "forbidden")
    assert call(app, claims("u-admin", "[admin]")).status == 202
    assert [o.actor for o in ran] == ["admin@example.org"]


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("[admin support]", {"admin", "support"}),
        (["finance"], {"finance"}),
        ("[]", set()),
        ("[admin,viewer]", {"admin", "viewer"}),
        ("[superuser admin]", {"admin"}),
    ],
)
def test_groups_are_read_as_api_gateway_passes_them(value, groups) -> None:
    assert groups_of({"cognito:groups": value}) == groups


def test_the_table_names_every_admin_route_of_the_template_and_nothing_else() -> None:
    admin_routes = {f"{r.method} {r.path}" for r in http_api_routes() if r.path.startswith("/admin/")}
    assert set(MAY_CALL) == admin_routes


def test_the_table_is_the_contract_s() -> None:
    def who(route: str) -> set[str]:
        return set(MAY_CALL[route])

    assert who("GET /admin/registrations") == {"viewer", "support", "finance", "admin"}
    assert who("POST /admin/registrations/{registration_id}/refund") == {"finance", "admin"}
    assert who("POST /admin/registrations/{registration_id}/resend-confirmation") == {"support", "admin"}
    assert who("PUT /admin/events/{event_id}") == {"support", "admin"}
    assert who("POST /admin/people/erase") == who("POST /admin/people/export") == {"admin"}
