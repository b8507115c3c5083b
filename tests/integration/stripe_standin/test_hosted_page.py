"""The hosted Checkout page a browser (or an end-to-end test) pays on, and the module entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import stripe

from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.stripe_standin.money import format_amount
from tests.integration.stripe_standin.conftest import API_KEY, WebhookReceiver, as_dict

CreateSession = Callable[..., stripe.checkout.Session]
REPO = Path(__file__).resolve().parents[3]


def test_page_shows_items_total_email_and_both_buttons(create_session: CreateSession) -> None:
    # Given an open session
    session = create_session()
    assert session.url is not None

    # When its URL is opened
    page = requests.get(session.url, timeout=5)

    # Then it is a self-contained page with the order, the total as money, the email and Pay/Cancel forms
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="en">' in html
    assert "Conférence ticket" in html
    assert "$600.00 USD" in html
    assert "ada@example.com" in html
    assert f'action="/checkout/{session.id}/pay"' in html
    assert f'action="/checkout/{session.id}/cancel"' in html
    assert '<button class="pay" type="submit">Pay</button>' in html
    assert '<button class="cancel" type="submit">Cancel</button>' in html
    assert "<script" not in html
    assert "<link" not in html
    assert "src=" not in html


def test_pay_button_pays_then_redirects_to_the_success_url(
    client: stripe.StripeClient, create_session: CreateSession, server: StripeStandInServer, receiver: WebhookReceiver
) -> None:
    # Given an open session
    session = create_session()

    # When the customer presses Pay
    answer = requests.post(f"{server.url}/checkout/{session.id}/pay", allow_redirects=False, timeout=10)

    # Then the webhook was delivered and the browser goes to success_url with the session id filled in
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"https://conf.example/registered?session_id={session.id}"
    assert receiver.types == ["checkout.session.completed"]
    assert as_dict(client.v1.checkout.sessions.retrieve(session.id))["payment_status"] == "paid"


def test_cancel_button_redirects_and_leaves_the_session_open(
    client: stripe.StripeClient, create_session: CreateSession, server: StripeStandInServer, receiver: WebhookReceiver
) -> None:
    session = create_session()

    answer = requests.post(f"{server.url}/checkout/{session.id}/cancel", allow_redirects=False, timeout=10)

    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://conf.example/register"
    assert as_dict(client.v1.checkout.sessions.retrieve(session.id))["status"] == "open"
    assert receiver.received == []


@pytest.mark.parametrize(
    ("close", "message"),
    [("pay", "This Checkout Session is complete."), ("expire", "This Checkout Session has expired.")],
)
def test_a_closed_session_page_says_so_without_buttons(
    create_session: CreateSession, standin: StripeStandIn, server: StripeStandInServer, close: str, message: str
) -> None:
    # Given a paid or expired session
    session = create_session()
    getattr(standin, close)(session.id)

    # When its page is opened, or Pay is pressed again in a stale tab
    page = requests.get(f"{server.url}/checkout/{session.id}", timeout=5)
    stale = requests.post(f"{server.url}/checkout/{session.id}/pay", allow_redirects=False, timeout=5)

    # Then the page explains, with nothing to press, and the stale Pay changes nothing
    assert page.status_code == 200
    assert message in page.text
    assert "<button" not in page.text
    assert stale.status_code == 409
    assert message in stale.text


def test_unknown_session_page_is_404(server: StripeStandInServer) -> None:
    page = requests.get(f"{server.url}/checkout/cs_test_missing", timeout=5)
    pay = requests.post(f"{server.url}/checkout/cs_test_missing/pay", timeout=5)

    assert (page.status_code, pay.status_code) == (404, 404)
    assert "text/html" in page.headers["Content-Type"]


def test_without_email_or_success_url_the_page_asks_and_confirms(
    client: stripe.StripeClient, create_session: CreateSession, server: StripeStandInServer
) -> None:
    # Given a session with no customer email, success URL or cancel URL
    session = create_session(customer_email=None, success_url=None, cancel_url=None)

    # When the page is opened and paid with an email typed in
    page = requests.get(f"{server.url}/checkout/{session.id}", timeout=5).text
    paid = requests.post(f"{server.url}/checkout/{session.id}/pay", data={"email": "grace@example.com"}, timeout=10)

    # Then it asked for a labelled email, offered no Cancel, confirmed in place and recorded the email
    assert '<label for="email">Email</label>' in page
    assert "Cancel" not in page
    assert (paid.status_code, "Payment complete" in paid.text) == (200, True)
    details = as_dict(client.v1.checkout.sessions.retrieve(session.id))["customer_details"]
    assert details["email"] == "grace@example.com"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (60000, "usd", "$600.00 USD"),
        (123456789, "eur", "€1,234,567.89 EUR"),
        (5000, "jpy", "¥5,000 JPY"),
        (1500, "chf", "15.00 CHF"),
        (1234, "kwd", "1.234 KWD"),
    ],
)
def test_amounts_are_shown_in_major_units(amount: int, currency: str, shown: str) -> None:
    assert format_amount(amount, currency) == shown


def test_module_entry_point_serves_the_api() -> None:
    # Given the stand-in started as the dev stack starts it, on a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.stripe_standin", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]

        # When the SDK creates a session against it
        client = stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}},
                    }
                ],
            }
        )

        # Then it answers, with Checkout URLs on the port it bound
        assert session.url == f"{url}/checkout/{session.id}"
    finally:
        process.terminate()
        process.wait(timeout=5)
