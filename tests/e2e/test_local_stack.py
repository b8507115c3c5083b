"""`make run` as a user meets it: the local stack started as a process (the `local_stack` fixture of
conftest.py), used over HTTP, stopped with Ctrl-C."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest
import requests

from infra.samples import individual

if TYPE_CHECKING:
    from tests.e2e.conftest import RunningStack


def test_a_registration_over_http_leads_to_a_checkout_page_with_pay_and_cancel(local_stack: RunningStack) -> None:
    # When
    response = requests.post(f"{local_stack.api}/registrations", json=individual(), timeout=10)

    # Then
    assert response.status_code == 201
    created = response.json()
    assert created["checkout_url"].startswith(f"{local_stack.stripe}/checkout/cs_")
    page = requests.get(created["checkout_url"], timeout=5)
    assert page.status_code == 200
    assert "Pay" in page.text and "Cancel" in page.text
    status = requests.get(f"{local_stack.api}/registrations/{created['registration_id']}", timeout=5)
    assert status.json()["status"] == "pending_payment"


def test_conference_time_can_be_read_and_set(local_stack: RunningStack) -> None:
    assert requests.get(f"{local_stack.api}/_local/clock", timeout=5).json()["now"].startswith("2020-07-22T09:0")
    moved = requests.post(
        f"{local_stack.api}/_local/clock", json={"now": "2020-08-05T09:30:00-05:00"}, timeout=5
    ).json()
    assert moved["now"].startswith("2020-08-05T09:30")
    bad = requests.post(f"{local_stack.api}/_local/clock", json={"now": "soon"}, timeout=5)
    assert bad.status_code == 422


def test_an_unknown_route_is_a_404_problem(local_stack: RunningStack) -> None:
    response = requests.get(f"{local_stack.api}/nowhere", timeout=5)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_paying_refunding_and_draining_over_http_only(local_stack: RunningStack) -> None:
    # Given a registration paid on the stand-in (its test route delivers the webhook before answering)
    created = requests.post(
        f"{local_stack.api}/registrations", json=individual(email="e2e.payer@example.org"), timeout=10
    ).json()
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    paid = requests.post(f"{local_stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10)
    assert paid.json()["events"][0]["status_code"] == 200
    status_url = f"{local_stack.api}/registrations/{created['registration_id']}"
    assert requests.get(status_url, timeout=5).json()["status"] == "paid"

    # When it is refunded through Stripe's API (its webhook follows in the background) and the stack drained
    intent = requests.get(
        f"{local_stack.stripe}/v1/checkout/sessions/{session_id}", auth=("sk_test_local", ""), timeout=5
    ).json()["payment_intent"]
    refund = requests.post(
        f"{local_stack.stripe}/v1/refunds", data={"payment_intent": intent}, auth=("sk_test_local", ""), timeout=5
    )
    assert refund.status_code == 200
    drained = requests.post(f"{local_stack.api}/_local/drain", timeout=70)

    # Then
    assert drained.json() == {"drained": True}
    assert requests.get(status_url, timeout=5).json()["status"] == "refunded"


def test_the_local_mailbox_answers_in_its_documented_shape(local_stack: RunningStack) -> None:
    emails = requests.get(f"{local_stack.api}/_local/emails", timeout=5)
    assert emails.status_code == 200
    assert isinstance(emails.json(), list)
    missing = requests.get(f"{local_stack.api}/_local/emails/nope.eml", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


# Last: it stops the module's stack.
def test_ctrl_c_stops_everything(local_stack: RunningStack) -> None:
    # When
    local_stack.process.send_signal(signal.SIGINT)

    # Then
    assert local_stack.process.wait(timeout=20) == 0
    output = local_stack.output()
    assert "Stopped." in output
    assert "LOCAL_ORGANISER_PASSWORD" in output and "admin@example.org" in output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{local_stack.api}/conference", timeout=2)
