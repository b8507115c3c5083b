"""Webhook delivery: Stripe's signature scheme and headers, background retries, resends and skewed timestamps."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
import requests
import stripe

from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.stripe_standin.webhooks import signature_header
from tests.integration.stripe_standin.conftest import WEBHOOK_SECRET, WebhookReceiver, as_dict

CreateSession = Callable[..., stripe.checkout.Session]


def test_deliveries_are_signed_and_sent_as_stripe_sends_them(
    create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a session whose metadata is not ASCII
    session = create_session(metadata={"attendee": "Zoë Ångström"})

    # When it is paid
    standin.pay(session.id)

    # Then the request carries Stripe's headers and a t=...,v1=... signature over the exact UTF-8 body
    [received] = receiver.received
    assert received.headers["Content-Type"] == "application/json; charset=utf-8"
    assert received.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    header = received.headers["Stripe-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert "Zoë Ångström".encode() in received.body
    assert standin.webhook_secret == WEBHOOK_SECRET
    event = stripe.Webhook.construct_event(received.body, header, standin.webhook_secret)
    assert as_dict(event)["data"]["object"]["metadata"]["attendee"] == "Zoë Ångström"
    timestamp = int(header.split(",")[0][2:])
    assert header == signature_header(received.body, WEBHOOK_SECRET, timestamp)

    # And a receiver with another secret rejects it
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body, header, "whsec_someone_else")


def test_failed_background_delivery_is_retried_until_accepted(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a paid session, and a webhook endpoint that fails the next request
    session = create_session()
    standin.pay(session.id)
    intent = as_dict(client.v1.checkout.sessions.retrieve(session.id))["payment_intent"]
    receiver.answer_with(500)

    # When a refund emits its events in the background
    client.v1.refunds.create(params={"payment_intent": intent})
    assert standin.wait_idle(5)

    # Then charge.refunded is retried after the 500, and every event ends up delivered
    statuses = [(e.type, r.status) for r, e in zip(receiver.received[1:], receiver.events[1:], strict=True)]
    assert statuses == [("charge.refunded", 500), ("refund.created", 200), ("charge.refunded", 200)]
    refunded_id = receiver.events[1].id
    assert [a.status_code for a in standin.delivery_attempts(refunded_id)] == [500, 200]
    assert receiver.received[1].body == receiver.received[3].body
    assert client.v1.events.list(params={"delivery_success": False}).data == []


def test_retries_stop_after_the_schedule_and_the_event_stays_undelivered(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given an endpoint that keeps failing (one attempt plus the fixture's three retries)
    receiver.answer_with(503, 503, 503, 503)

    # When an expiry is delivered in the background
    session = create_session()
    client.v1.checkout.sessions.expire(session.id)
    assert standin.wait_idle(5)

    # Then four attempts were made and the event is listed as undelivered, still pending
    [event] = client.v1.events.list(params={"delivery_success": False}).data
    assert [a.status_code for a in standin.delivery_attempts(event.id)] == [503, 503, 503, 503]
    assert event.pending_webhooks == 1


def test_a_failed_synchronous_delivery_is_retried_in_the_background(
    create_session: CreateSession, server: StripeStandInServer, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given an endpoint that fails the next request
    receiver.answer_with(500)

    # When a session is paid through the test route
    answer = requests.post(f"{server.url}/_test/checkout_sessions/{create_session().id}/pay", timeout=10)

    # Then the route reports the 500, and the event is delivered by a retry
    [summary] = answer.json()["events"]
    assert summary["status_code"] == 500
    assert standin.wait_idle(5)
    assert [a.status_code for a in standin.delivery_attempts(summary["id"])] == [500, 200]


def test_resend_sends_the_same_event_freshly_signed(
    create_session: CreateSession, server: StripeStandInServer, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a delivered event
    [delivery] = standin.pay(create_session().id)

    # When it is resent
    answer = requests.post(f"{server.url}/_test/events/{delivery.id}/resend", timeout=10)

    # Then the same id and bytes arrive again, with a valid signature
    assert answer.json() == {"events": [{"id": delivery.id, "type": delivery.type, "status_code": 200}]}
    first, second = receiver.received
    assert second.body == first.body
    assert second.event is not None
    assert second.event.id == delivery.id


def test_a_stale_timestamp_is_rejected_by_the_receiver(
    create_session: CreateSession, server: StripeStandInServer, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a delivered event
    [delivery] = standin.pay(create_session().id)

    # When it is delivered again signed 400 seconds in the past (beyond the SDK's 300 s tolerance)
    answer = requests.post(
        f"{server.url}/_test/events/{delivery.id}/deliver", json={"timestamp_offset": -400}, timeout=10
    )

    # Then the receiver refuses it, and the probe is not retried
    assert answer.json()["events"][0]["status_code"] == 400
    assert standin.wait_idle(5)
    assert [r.status for r in receiver.received] == [200, 400]


def test_the_webhook_handler_can_call_back_into_the_stand_in(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given a webhook handler that retrieves the session from Stripe, as handlers commonly do
    seen: list[str] = []

    def retrieve_session(event: stripe.Event) -> None:
        session_id = as_dict(event)["data"]["object"]["id"]
        seen.append(as_dict(client.v1.checkout.sessions.retrieve(session_id))["payment_status"])

    receiver.on_event = retrieve_session

    # When a payment is delivered synchronously
    worker = threading.Thread(target=standin.pay, args=(create_session().id,))
    worker.start()
    worker.join(timeout=5)

    # Then the callback completed (no lock is held during delivery) and saw the paid session
    assert not worker.is_alive()
    assert seen == ["paid"]


def test_without_a_webhook_url_events_are_recorded_only(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given no webhook endpoint
    standin.webhook_url = None

    # When a session is paid
    [delivery] = standin.pay(create_session().id)

    # Then nothing is sent, and the event is listed as having nothing pending
    assert delivery.status_code is None
    assert receiver.received == []
    assert client.v1.events.retrieve(delivery.id).pending_webhooks == 0

    # And once an endpoint is configured, the event can be resent to it
    standin.webhook_url = receiver.url
    assert standin.resend(delivery.id).status_code == 200
    assert receiver.types == ["checkout.session.completed"]


def test_an_unreachable_endpoint_is_recorded_as_an_error(create_session: CreateSession, standin: StripeStandIn) -> None:
    # Given an endpoint nobody listens on
    standin.webhook_url = "http://127.0.0.1:9/webhooks/stripe"

    # When a session is paid
    [delivery] = standin.pay(create_session().id)
    standin.close()

    # Then the attempt is recorded with the connection error instead of a status
    [attempt, *_] = standin.delivery_attempts(delivery.id)
    assert delivery.status_code is None
    assert (attempt.status_code, attempt.ok) == (None, False)
    assert attempt.error
