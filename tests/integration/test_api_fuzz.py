"""The reduced fuzz run (make fuzz runs the long one): requests generated from GET /openapi.json, valid and
invalid, with and without the organiser's token; no 5xx, every error a problem document with a documented code."""

from __future__ import annotations

import pytest

from bench.fuzz_api import fuzz
from infra.gateway import LocalGateway
from infra.samples import JSON, encoded, individual
from shared.conference import load_conference
from tests.integration.conftest import ADMIN


@pytest.mark.runs
def test_generated_requests_get_no_server_error_and_only_documented_problems(api) -> None:
    # When
    report = fuzz(
        LocalGateway(api, load_conference().zone),
        admin_token=ADMIN["authorization"].removeprefix("Bearer "),
        examples=10,
        random_seed=7,
    )

    # Then
    assert report.violations == []
    assert report.requests >= 400
    assert not [status for status in report.by_status if status >= 500]
    # The run reached past validation: successes, refusals of the missing token, and validation errors
    assert report.by_status[200] and report.by_status[401] and report.by_status[422]
    assert len(report.by_operation) >= 18  # every documented operation


def test_erasing_a_person_whose_registration_awaits_payment_erases_it_and_frees_the_email(api) -> None:
    # Found by the fuzz run: no attendee item exists before payment, and erasing answered 500.
    admin = JSON | ADMIN
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email="0@0.com"))).json()

    # When
    erased = api.request("POST", "/admin/people/erase", headers=admin, body=encoded({"email": "0@0.com"}))

    # Then
    assert erased.status == 200 and erased.json()["registration_id"] == created["registration_id"]
    export = api.request("POST", "/admin/people/export", headers=admin | JSON, body=encoded({"email": "0@0.com"}))
    assert export.status == 404
    again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email="0@0.com")))
    assert again.status == 201
