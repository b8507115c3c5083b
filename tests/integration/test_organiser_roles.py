"""Every admin route against each organiser group, through the local gateway's JWT verification and the admin
function's table: allowed groups get past the check (whatever the route then answers), the others get 403
`forbidden` and change nothing; the audit trail names the person."""

from __future__ import annotations

import re

import pytest

from infra.samples import JSON, encoded, individual
from infra.template import http_api_routes
from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.api.admin_auth import GROUPS, MAY_CALL
from tests.integration.conftest import drain
from tests.support.tables import scan_all

ADMIN_ROUTES = sorted((r for r in http_api_routes() if r.path.startswith("/admin/")), key=lambda r: (r.path, r.method))


def path_of(template_path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "nasro-2020", template_path)


def test_each_group_may_call_exactly_its_routes_and_a_refusal_changes_nothing(api, aws, stack, organiser) -> None:
    before = scan_all(aws.client("dynamodb"), stack.resources["MainTable"], include_events=True)
    refused: list[str] = []
    for group in sorted(GROUPS):
        headers = organiser(group) | JSON
        for route in ADMIN_ROUTES:
            key = f"{route.method} {route.path}"
            if group in MAY_CALL[key]:
                continue  # the allowed calls are below: they may change things
            answer = api.request(route.method, path_of(route.path), headers=headers, body=encoded({}))
            assert (answer.status, answer.json()["code"]) == (403, "forbidden"), (group, key)
            refused.append(f"{group} {key}")
    assert len(refused) == sum(len(GROUPS - MAY_CALL[f"{r.method} {r.path}"]) for r in ADMIN_ROUTES)
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"], include_events=True) == before


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_an_allowed_group_gets_past_the_check_on_every_route_it_may_call(api, organiser, group) -> None:
    headers = organiser(group) | JSON
    for route in ADMIN_ROUTES:
        if group not in MAY_CALL[f"{route.method} {route.path}"]:
            continue
        # Reads of the seed event; writes of ids and an event that do not exist, so that they are refused by their
        # own rules (404, 415, 422...) and change nothing: past the group check, whatever the route then answers
        path = path_of(route.path) if route.method == "GET" else re.sub(r"\{[a-z_]+\}", "no-such-id", route.path)
        query = "email=nobody@example.org" + ("" if route.method == "GET" else "&event_id=no-such-event")
        answer = api.request(route.method, path, headers=headers, query=query, body=encoded({}))
        assert answer.status not in (401, 403) and answer.status < 500, (group, route.path, answer.body[:200])


def test_the_audit_trail_names_the_organiser_s_email(api, stack, stripe_standin, stream, organiser) -> None:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual())).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    drain(stripe_standin, stream)

    resent = api.request(
        "POST", f"/admin/registrations/{created['registration_id']}/resend-confirmation", headers=organiser("support")
    )
    assert resent.status == 202
    registration = DynamoRegistrationRepository(stack.resources["MainTable"]).get(created["registration_id"])
    assert registration is not None and registration.history[-1].actor == "support@example.org"
    saved = api.request("GET", "/admin/events/nasro-2020", headers=organiser("viewer")).json()
    edited = api.request(
        "PUT", "/admin/events/nasro-2020", headers=organiser("support") | JSON | {"if-match": f'"{saved["version"]}"'},
        body=encoded(saved["document"] | {"name": "NASRO 2020 (renamed)"}),
    )  # fmt: skip
    assert edited.status == 200
    history = api.request("GET", "/admin/events/nasro-2020", headers=organiser("viewer")).json()["history"]
    assert history[-1]["actor"] == "support@example.org"
