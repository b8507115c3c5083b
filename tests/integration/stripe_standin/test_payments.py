"""Payment flows, refunds, disputes and the events API, as the backend's webhook handler sees them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import stripe

from infra.stripe_standin import StripeStandIn, StripeStandInServer
from tests.integration.stripe_standin.conftest import WebhookReceiver, as_dict

CreateSession = Callable[..., stripe.checkout.Session]


def post_json(server: StripeStandInServer, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(f"{server.url}{path}", json=body, timeout=10)


def paid_intent(client: stripe.StripeClient, session_id: str) -> dict[str, Any]:
    session = as_dict(client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["payment_intent"]}))
    intent: dict[str, Any] = session["payment_intent"]
    return intent


def test_card_payment_completes_the_session_and_delivers_the_event(
    client: stripe.StripeClient, create_session: CreateSession, server: StripeStandInServer, receiver: WebhookReceiver
) -> None:
    # Given an open session
    session = create_session()

    # When the customer pays by card through the test route
    answer = post_json(server, f"/_test/checkout_sessions/{session.id}/pay", {"flow": "card"})

    # Then the signed checkout.session.completed was delivered before the route answered
    assert answer.status_code == 200
    [summary] = answer.json()["events"]
    assert (summary["type"], summary["status_code"]) == ("checkout.session.completed", 200)
    [received] = receiver.received
    assert received.event is not None
    assert received.event.id == summary["id"]
    delivered = as_dict(received.event)["data"]["object"]
    assert (delivered["id"], delivered["status"], delivered["payment_status"]) == (session.id, "complete", "paid")
    assert delivered["metadata"]["registration_id"] == "reg_123"

    # And the session, its payment intent and charge are settled, with payment_intent_data's metadata copied
    completed = as_dict(client.v1.checkout.sessions.retrieve(session.id))
    assert (completed["status"], completed["payment_status"], completed["url"]) == ("complete", "paid", None)
    assert completed["customer_details"] == {
        "address": None,
        "email": "ada@example.com",
        "name": "Jenny Rosen",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    intent = paid_intent(client, session.id)
    assert intent["id"] == completed["payment_intent"]
    assert (intent["object"], intent["status"], intent["amount"], intent["amount_received"]) == (
        "payment_intent",
        "succeeded",
        60000,
        60000,
    )
    assert intent["metadata"] == {"registration_id": "reg_123"}
    charge = as_dict(client.v1.charges.retrieve(intent["latest_charge"]))
    assert (charge["status"], charge["paid"], charge["captured"], charge["amount_captured"]) == (
        "succeeded",
        True,
        True,
        60000,
    )
    assert (charge["payment_intent"], charge["refunded"], charge["disputed"]) == (intent["id"], False, False)
    assert charge["metadata"] == {"registration_id": "reg_123"}
    assert charge["payment_method_details"]["card"]["last4"] == "4242"


def test_async_success_completes_unpaid_then_pays(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # When a bank debit completes Checkout and later settles
    deliveries = standin.pay(create_session().id, "async_success")

    # Then completed arrives unpaid with the payment processing, then async_payment_succeeded arrives paid
    assert [d.type for d in deliveries] == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    assert [d.status_code for d in deliveries] == [200, 200]
    completed, succeeded = (d.event["data"]["object"] for d in deliveries)
    assert (completed["status"], completed["payment_status"]) == ("complete", "unpaid")
    assert (succeeded["status"], succeeded["payment_status"]) == ("complete", "paid")
    assert receiver.types == [d.type for d in deliveries]
    intent = paid_intent(client, completed["id"])
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 60000)


def test_async_failure_leaves_the_session_unpaid(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # When a bank debit completes Checkout and then fails
    session = create_session()
    deliveries = standin.pay(session.id, "async_failure")

    # Then async_payment_failed follows completed, and nothing is paid
    assert [d.type for d in deliveries] == ["checkout.session.completed", "checkout.session.async_payment_failed"]
    final = as_dict(client.v1.checkout.sessions.retrieve(session.id))
    assert (final["status"], final["payment_status"]) == ("complete", "unpaid")
    intent = paid_intent(client, session.id)
    assert (intent["status"], intent["amount_received"]) == ("requires_payment_method", 0)
    assert intent["last_payment_error"]["code"] == "insufficient_funds"
    charge = as_dict(client.v1.charges.retrieve(intent["latest_charge"]))
    assert (charge["status"], charge["paid"]) == ("failed", False)


def test_a_free_session_completes_without_a_payment(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a session whose total is zero
    free = [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 0, "product_data": {"name": "Comp"}}}]
    session = create_session(line_items=free)

    # When it is completed
    [delivery] = standin.pay(session.id)

    # Then it is complete with no payment required and no payment intent, as with Stripe
    completed = as_dict(client.v1.checkout.sessions.retrieve(session.id))
    assert delivery.type == "checkout.session.completed"
    assert (completed["status"], completed["payment_status"], completed["payment_intent"]) == (
        "complete",
        "no_payment_required",
        None,
    )


def test_paying_is_refused_unless_the_session_is_open(
    create_session: CreateSession, server: StripeStandInServer, standin: StripeStandIn
) -> None:
    # Given a paid session
    session = create_session()
    standin.pay(session.id)

    # When it is paid again, an unknown session is paid, or an unknown flow is asked for
    again = post_json(server, f"/_test/checkout_sessions/{session.id}/pay")
    unknown = post_json(server, "/_test/checkout_sessions/cs_test_missing/pay")
    bad_flow = post_json(server, f"/_test/checkout_sessions/{create_session().id}/pay", {"flow": "cash"})

    # Then each is refused in Stripe's error shape
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "invalid_request_error"
    assert unknown.status_code == 404
    assert bad_flow.status_code == 400
    assert bad_flow.json()["error"]["param"] == "flow"


def test_full_refund_updates_the_charge_and_emits_events_in_the_background(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a paid session
    session = create_session()
    standin.pay(session.id)
    intent = paid_intent(client, session.id)

    # When the backend refunds its payment intent in full
    refund = as_dict(
        client.v1.refunds.create(
            params={"payment_intent": intent["id"], "reason": "requested_by_customer", "metadata": {"by": "admin"}}
        )
    )

    # Then the refund is for the whole amount and the charge is refunded
    assert refund["id"].startswith("re_")
    assert (refund["object"], refund["status"], refund["amount"], refund["currency"]) == (
        "refund",
        "succeeded",
        60000,
        "usd",
    )
    assert (refund["charge"], refund["payment_intent"]) == (intent["latest_charge"], intent["id"])
    assert (refund["reason"], refund["metadata"]) == ("requested_by_customer", {"by": "admin"})
    charge = as_dict(client.v1.charges.retrieve(intent["latest_charge"]))
    assert (charge["amount_refunded"], charge["refunded"]) == (60000, True)
    assert as_dict(client.v1.refunds.retrieve(refund["id"])) == refund

    # And charge.refunded then refund.created are delivered in the background
    assert standin.wait_idle(5)
    assert receiver.types == ["checkout.session.completed", "charge.refunded", "refund.created"]
    refunded_event = as_dict(receiver.events[1])
    assert refunded_event["data"]["object"]["amount_refunded"] == 60000
    assert refunded_event["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}


def test_partial_refunds_then_the_rest(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a paid session
    session = create_session()
    standin.pay(session.id)
    charge_id = paid_intent(client, session.id)["latest_charge"]

    # When part is refunded by charge, then the remainder without an amount
    first = client.v1.refunds.create(params={"charge": charge_id, "amount": 10000})
    after_first = as_dict(client.v1.charges.retrieve(charge_id))
    rest = client.v1.refunds.create(params={"charge": charge_id})

    # Then the charge counts as refunded only once nothing remains, and lists both refunds when expanded
    assert (first.amount, rest.amount) == (10000, 50000)
    assert (after_first["amount_refunded"], after_first["refunded"]) == (10000, False)
    charge = as_dict(client.v1.charges.retrieve(charge_id, params={"expand": ["refunds"]}))
    assert (charge["amount_refunded"], charge["refunded"]) == (60000, True)
    assert [r["id"] for r in charge["refunds"]["data"]] == [first.id, rest.id]


def test_over_refunds_are_refused(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a paid session with most of it refunded
    session = create_session()
    standin.pay(session.id)
    intent_id = paid_intent(client, session.id)["id"]
    client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 50000})

    # When more than what remains is refunded
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 20000})
    # And, once it is fully refunded, anything at all
    client.v1.refunds.create(params={"payment_intent": intent_id})
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        client.v1.refunds.create(params={"payment_intent": intent_id})

    # Then both are Stripe's errors
    assert (too_much.value.http_status, too_much.value.param) == (400, "amount")
    assert "($200.00) is greater than unrefunded amount on charge ($100.00)" in str(too_much.value.user_message)
    assert nothing_left.value.code == "charge_already_refunded"


def test_refunds_need_a_successful_payment(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a failed bank debit
    failed = create_session()
    standin.pay(failed.id, "async_failure")
    intent_id = paid_intent(client, failed.id)["id"]

    # When its payment intent, an unknown one, or nothing at all is refunded
    with pytest.raises(stripe.InvalidRequestError) as not_paid:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.refunds.create(params={"payment_intent": "pi_missing"})
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create()

    # Then each is a 400 naming the parameter
    assert (not_paid.value.http_status, not_paid.value.param) == (400, "payment_intent")
    assert (unknown.value.http_status, unknown.value.code) == (400, "resource_missing")
    assert neither.value.param == "payment_intent"


def test_dispute_marks_the_charge_and_can_be_closed(
    client: stripe.StripeClient,
    create_session: CreateSession,
    server: StripeStandInServer,
    standin: StripeStandIn,
    receiver: WebhookReceiver,
) -> None:
    # Given a paid session
    session = create_session()
    standin.pay(session.id)
    intent = paid_intent(client, session.id)

    # When the cardholder disputes it
    answer = post_json(server, f"/_test/checkout_sessions/{session.id}/dispute")

    # Then charge.dispute.created is delivered with a fraudulent dispute needing a response
    [summary] = answer.json()["events"]
    assert (summary["type"], summary["status_code"]) == ("charge.dispute.created", 200)
    dispute = as_dict(receiver.events[-1])["data"]["object"]
    assert dispute["id"].startswith("dp_")
    assert (dispute["object"], dispute["status"], dispute["reason"]) == ("dispute", "needs_response", "fraudulent")
    assert (dispute["charge"], dispute["payment_intent"]) == (intent["latest_charge"], intent["id"])
    assert (dispute["amount"], dispute["currency"]) == (60000, "usd")
    assert as_dict(client.v1.charges.retrieve(intent["latest_charge"]))["disputed"] is True
    assert as_dict(client.v1.disputes.retrieve(dispute["id"]))["status"] == "needs_response"

    # And a refund of the disputed charge is refused while the dispute is open
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": intent["id"]})
    assert refused.value.code == "charge_disputed"

    # When the dispute is closed as won
    closed = post_json(server, f"/_test/disputes/{dispute['id']}/close", {"status": "won"})

    # Then charge.dispute.closed is delivered
    assert [e["type"] for e in closed.json()["events"]] == ["charge.dispute.closed"]
    assert as_dict(client.v1.disputes.retrieve(dispute["id"]))["status"] == "won"


def test_disputing_an_unpaid_session_is_refused(create_session: CreateSession, server: StripeStandInServer) -> None:
    answer = post_json(server, f"/_test/checkout_sessions/{create_session().id}/dispute")

    assert answer.status_code == 400
    assert "no successful charge" in answer.json()["error"]["message"]


def test_events_list_newest_first_with_filters_and_pagination(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a paid-then-refunded session and an expired one
    paid = create_session()
    standin.pay(paid.id)
    client.v1.refunds.create(params={"payment_intent": paid_intent(client, paid.id)["id"]})
    standin.expire(create_session().id)
    assert standin.wait_idle(5)

    # When events are listed
    everything = client.v1.events.list()
    first_two = client.v1.events.list(params={"limit": 2})
    next_page = client.v1.events.list(params={"limit": 2, "starting_after": first_two.data[-1].id})
    checkout_only = client.v1.events.list(params={"type": "checkout.session.*"})
    undelivered = client.v1.events.list(params={"delivery_success": False})
    recent = client.v1.events.list(params={"created": {"gte": int(time.time()) - 60}})
    ancient = client.v1.events.list(params={"created": {"lt": 1_000_000_000}})

    # Then they come newest first, page with has_more, and filter by type
    assert [e.type for e in everything.data] == [
        "checkout.session.expired",
        "refund.created",
        "charge.refunded",
        "checkout.session.completed",
    ]
    assert ([e.type for e in first_two.data], first_two.has_more) == (
        ["checkout.session.expired", "refund.created"],
        True,
    )
    assert ([e.type for e in next_page.data], next_page.has_more) == (
        ["charge.refunded", "checkout.session.completed"],
        False,
    )
    assert [e.type for e in checkout_only.data] == ["checkout.session.expired", "checkout.session.completed"]
    assert undelivered.data == []
    assert (len(recent.data), ancient.data) == (4, [])

    # And a retrieved event is the delivered one, with nothing pending
    event = as_dict(client.v1.events.retrieve(everything.data[-1].id))
    assert (event["object"], event["api_version"], event["livemode"]) == ("event", stripe.api_version, False)
    assert event["pending_webhooks"] == 0
    assert event["request"] == {"id": None, "idempotency_key": None}
    assert event["data"]["object"]["id"] == paid.id
