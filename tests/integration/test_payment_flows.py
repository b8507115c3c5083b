"""Registrations moved by Stripe: payments, delayed methods, expiry, refunds, disputes, any order,
duplicates and concurrency, and the reconciler for webhooks that never arrived."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
import stripe

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, group, individual
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.payments.models import describe
from shared.registration.models import Registration
from tests.integration.conftest import STRIPE_SECRET_KEY
from tests.support.stripe_events import deliver, signature
from tests.support.stripe_events import refund_at_stripe as refund


def register(api: LocalHttpApi, body: dict | None = None) -> dict:
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(body or individual()))
    assert response.status == 201, response.body
    return response.json()


def session_of(created: dict) -> str:
    return str(created["checkout_url"]).rsplit("/", 1)[-1]


def stored(stack, registration_id: str) -> Registration:
    registration = DynamoRegistrationRepository(stack.resources["MainTable"]).get(registration_id)
    assert registration is not None
    return registration


def changes(stack, registration_id: str) -> list[str]:
    return [describe(entry) for entry in stored(stack, registration_id).history]


def stripe_client(stripe_standin: StripeStandIn) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_SECRET_KEY, base_addresses={"api": stripe_standin.public_url})


@contextmanager
def webhooks_held(stripe_standin: StripeStandIn) -> Iterator[None]:
    """Stripe acts, but its webhooks are not delivered (yet): they are resent by the test in its order."""
    url, stripe_standin.webhook_url = stripe_standin.webhook_url, None
    try:
        yield
    finally:
        stripe_standin.wait_idle()
        stripe_standin.webhook_url = url


def events_of(stripe_standin: StripeStandIn, *types: str) -> list[str]:
    listed = stripe_client(stripe_standin).v1.events.list(params={"limit": 100})
    return [e.id for e in reversed(listed.data) if e.type in types]


class TestPaying:
    def test_a_card_payment_makes_the_registration_paid_with_its_history(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When
        (delivery,) = stripe_standin.pay(session_of(created))

        # Then
        assert delivery.status_code == 200
        assert api.request("GET", f"/registrations/{created['registration_id']}").json()["status"] == "paid"
        registration = stored(stack, created["registration_id"])
        assert registration.payment.paid and registration.payment.amount_paid == 20000
        (entry,) = registration.history
        assert describe(entry) == "status pending_payment -> paid"
        assert entry.actor == "stripe" and entry.stripe_event_id == delivery.id

    def test_a_group_is_paid_for_all_its_seats(self, api, stripe_standin, stack) -> None:
        created = register(api, group(["a@example.org", "b@example.org", "c@example.org"]))
        stripe_standin.pay(session_of(created))
        assert stored(stack, created["registration_id"]).payment.amount_paid == 60000

    def test_a_delayed_payment_is_paid_only_when_it_succeeds(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When: completed unpaid, then async_payment_succeeded
        deliveries = stripe_standin.pay(session_of(created), flow="async_success")

        # Then
        assert [d.type for d in deliveries] == [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
        ]
        assert changes(stack, created["registration_id"]) == ["status pending_payment -> paid"]

    def test_a_completed_but_unpaid_session_does_not_fulfil(self, api, stripe_standin, stack) -> None:
        created = register(api)
        with webhooks_held(stripe_standin):
            completed, _ = stripe_standin.pay(session_of(created), flow="async_success")
        # Re-read now, Stripe says paid: the webhook acts on what Stripe says now, not on the snapshot
        # (the snapshot in the event says unpaid).
        assert completed.event["data"]["object"]["payment_status"] == "unpaid"
        stripe_standin.resend(completed.id)
        assert stored(stack, created["registration_id"]).status == "paid"

    def test_a_failed_delayed_payment_cancels_and_frees_the_email(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When
        stripe_standin.pay(session_of(created), flow="async_failure")

        # Then
        assert stored(stack, created["registration_id"]).status == "cancelled"
        again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
        assert again.status == 201
        assert again.json()["registration_id"] != created["registration_id"]


class TestExpiry:
    def test_an_expired_session_expires_the_registration_and_frees_the_email(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When
        stripe_standin.expire(session_of(created))

        # Then
        assert changes(stack, created["registration_id"]) == ["status pending_payment -> expired"]
        again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
        assert again.status == 201

    def test_an_expired_event_after_payment_leaves_it_paid(self, api, stripe_standin, stack) -> None:
        # Given a paid registration
        created = register(api)
        stripe_standin.pay(session_of(created))

        # When a (forged-order) expired event for the same session arrives late
        payload = json.dumps(
            {
                "id": "evt_late_expired",
                "object": "event",
                "type": "checkout.session.expired",
                "livemode": False,
                "created": 1,
                "data": {"object": {"id": session_of(created), "object": "checkout.session"}},
            }
        ).encode()
        response = deliver(api, payload, signature(payload))

        # Then Stripe says the session is complete: nothing goes backwards
        assert response.status == 200
        assert changes(stack, created["registration_id"]) == ["status pending_payment -> paid"]


class TestRefundsAndDisputes:
    def test_a_full_refund_refunds_the_registration(self, api, stripe_standin, stack) -> None:
        created = register(api)
        stripe_standin.pay(session_of(created))
        refund(stripe_standin, session_of(created))
        assert changes(stack, created["registration_id"]) == [
            "status pending_payment -> paid",
            "status paid -> refunded",
        ]

    def test_a_partial_refund_is_recorded_and_leaves_it_paid(self, api, stripe_standin, stack) -> None:
        # Given a group of two, paid
        created = register(api, group(["a@example.org", "b@example.org"]))
        stripe_standin.pay(session_of(created))

        # When one seat's worth is refunded, then the rest
        refund(stripe_standin, session_of(created), amount=20000)
        partially = stored(stack, created["registration_id"])
        refund(stripe_standin, session_of(created))

        # Then
        assert partially.status == "paid" and partially.payment.amount_refunded == 20000
        assert changes(stack, created["registration_id"]) == [
            "status pending_payment -> paid",
            "partial refund of 20000 (total 20000)",
            "status paid -> refunded",
        ]

    @pytest.mark.parametrize(("outcome", "final"), [("won", "paid"), ("lost", "refunded")])
    def test_a_dispute_flags_the_registration_until_decided(self, api, stripe_standin, stack, outcome, final) -> None:
        # Given
        created = register(api)
        stripe_standin.pay(session_of(created))

        # When
        (opened,) = stripe_standin.dispute(session_of(created))
        disputed = stored(stack, created["registration_id"]).status
        stripe_standin.close_dispute(opened.event["data"]["object"]["id"], outcome)

        # Then
        assert disputed == "disputed"
        assert stored(stack, created["registration_id"]).status == final

    def test_a_refund_event_before_the_completion_ends_refunded(self, api, stripe_standin, stack) -> None:
        # Given: paid and refunded at Stripe, no webhook delivered yet
        created = register(api)
        with webhooks_held(stripe_standin):
            (completed,) = stripe_standin.pay(session_of(created))
            refund(stripe_standin, session_of(created))
        (refunded,) = events_of(stripe_standin, "charge.refunded")[-1:]

        # When the refund arrives first, then the completion
        stripe_standin.resend(refunded)
        stripe_standin.resend(completed.id)

        # Then: refunded, both steps recorded by one write for one event (no confirmation is ever owed)
        registration = stored(stack, created["registration_id"])
        assert registration.status == "refunded"
        assert changes(stack, created["registration_id"]) == [
            "status pending_payment -> paid",
            "status paid -> refunded",
        ]
        assert {entry.stripe_event_id for entry in registration.history} == {refunded}


ALLOWED_STEPS = {
    "status pending_payment -> paid",
    "status paid -> disputed",
    "status paid -> refunded",
    "status disputed -> refunded",
    "status disputed -> paid",
}


def late_expired_event(session_id: str, event_id: str) -> bytes:
    """A checkout.session.expired for a session that is in fact complete (an impossible-late delivery)."""
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.expired",
            "livemode": False,
            "created": 1,
            "data": {"object": {"id": session_id, "object": "checkout.session"}},
        }
    ).encode()


class TestOrderings:
    """Every order of the events of one payment ends where Stripe's state says, through allowed steps only."""

    def deliver_in(self, order, send, stack, registration_id: str, final: str) -> None:
        for name in order:
            send[name]()
        registration = stored(stack, registration_id)
        assert registration.status == final, order
        steps = [c for c in changes(stack, registration_id) if "->" in c]
        assert set(steps) <= ALLOWED_STEPS
        assert steps.count("status pending_payment -> paid") == 1

    @pytest.mark.parametrize("order", list(itertools.permutations(["completed", "opened", "lost", "expired"])))
    def test_paid_then_a_lost_dispute_ends_refunded_in_any_order(self, api, stripe_standin, stack, order) -> None:
        # Given: at Stripe the session was paid, then disputed, and the dispute lost
        created = register(api)
        session_id = session_of(created)
        with webhooks_held(stripe_standin):
            (completed,) = stripe_standin.pay(session_id)
            (opened,) = stripe_standin.dispute(session_id)
            (lost,) = stripe_standin.close_dispute(opened.event["data"]["object"]["id"], "lost")
        late = late_expired_event(session_id, f"evt_expired_{created['registration_id']}")
        send = {
            "completed": lambda: stripe_standin.resend(completed.id),
            "opened": lambda: stripe_standin.resend(opened.id),
            "lost": lambda: stripe_standin.resend(lost.id),
            "expired": lambda: deliver(api, late, signature(late)),
        }

        # Then
        self.deliver_in(order, send, stack, created["registration_id"], "refunded")

    @pytest.mark.parametrize("order", list(itertools.permutations(["completed", "refunded", "expired"])))
    def test_paid_then_refunded_ends_refunded_in_any_order(self, api, stripe_standin, stack, order) -> None:
        created = register(api)
        session_id = session_of(created)
        with webhooks_held(stripe_standin):
            (completed,) = stripe_standin.pay(session_id)
            refund(stripe_standin, session_id)
        (refunded,) = events_of(stripe_standin, "charge.refunded")[-1:]
        late = late_expired_event(session_id, f"evt_expired_{created['registration_id']}")
        send = {
            "completed": lambda: stripe_standin.resend(completed.id),
            "refunded": lambda: stripe_standin.resend(refunded),
            "expired": lambda: deliver(api, late, signature(late)),
        }
        self.deliver_in(order, send, stack, created["registration_id"], "refunded")

    @pytest.mark.parametrize("order", list(itertools.permutations(["completed", "opened", "won"])))
    def test_a_won_dispute_ends_paid_in_any_order(self, api, stripe_standin, stack, order) -> None:
        created = register(api)
        session_id = session_of(created)
        with webhooks_held(stripe_standin):
            (completed,) = stripe_standin.pay(session_id)
            (opened,) = stripe_standin.dispute(session_id)
            (won,) = stripe_standin.close_dispute(opened.event["data"]["object"]["id"], "won")
        send = {
            "completed": lambda: stripe_standin.resend(completed.id),
            "opened": lambda: stripe_standin.resend(opened.id),
            "won": lambda: stripe_standin.resend(won.id),
        }
        self.deliver_in(order, send, stack, created["registration_id"], "paid")


class TestDuplicates:
    def test_the_same_event_delivered_concurrently_acts_once(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)
        with webhooks_held(stripe_standin):
            (completed,) = stripe_standin.pay(session_of(created))

        # When ten deliveries of it arrive at once
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(lambda _: stripe_standin.resend(completed.id), range(10)))

        # Then
        assert {a.status_code for a in answers} == {200}
        assert changes(stack, created["registration_id"]) == ["status pending_payment -> paid"]

    def test_two_different_events_for_one_payment_fulfil_once(self, api, stripe_standin, stack) -> None:
        # Given completed (unpaid) and async_payment_succeeded: two events, one payment
        created = register(api)
        deliveries = stripe_standin.pay(session_of(created), flow="async_success")

        # When both are delivered again
        for delivery in deliveries:
            stripe_standin.resend(delivery.id)

        # Then
        assert changes(stack, created["registration_id"]) == ["status pending_payment -> paid"]


class TestStripeUnavailable:
    def test_stripe_failing_to_answer_the_re_read_is_a_503_then_settles_on_redelivery(
        self, api, stripe_standin, stack
    ) -> None:
        # Given
        created = register(api)
        stripe_standin.fail_next("GET", "/v1/checkout/sessions", status=500, times=3)

        # When
        (first,) = stripe_standin.pay(session_of(created))

        # Then: Stripe is told to retry, and the retry settles it
        assert first.status_code == 503
        assert stored(stack, created["registration_id"]).status == "pending_payment"
        assert stripe_standin.resend(first.id).status_code == 200
        assert stored(stack, created["registration_id"]).status == "paid"


class TestReconciler:
    def test_a_payment_whose_webhook_never_arrived_is_settled(self, api, stripe_standin, stack) -> None:
        # Given: paid at Stripe, the webhook lost
        created = register(api)
        with webhooks_held(stripe_standin):
            stripe_standin.pay(session_of(created))

        # When the scheduled reconciler runs (from a moment when the registration counts as old)
        report = reconcile(stack)

        # Then
        assert report["settled"] == 1
        registration = stored(stack, created["registration_id"])
        assert registration.status == "paid"
        assert registration.history[0].actor == "reconciler"

    def test_an_expired_session_whose_webhook_never_arrived_frees_the_email(self, api, stripe_standin, stack) -> None:
        created = register(api)
        with webhooks_held(stripe_standin):
            stripe_standin.expire(session_of(created))
        reconcile(stack)
        assert stored(stack, created["registration_id"]).status == "expired"
        assert api.request("POST", "/registrations", headers=JSON, body=encoded(individual())).status == 201

    def test_an_open_session_is_left_alone(self, api, stack) -> None:
        created = register(api)
        assert reconcile(stack)["settled"] == 0
        assert stored(stack, created["registration_id"]).status == "pending_payment"


def reconcile(stack) -> dict:
    """Run the reconciler's Lambda handler as its schedule would, counting every pending registration as old
    enough to ask Stripe about (the deployed function waits 10 minutes)."""
    from functions.payment_reconciler import handler
    from infra.apigw import LambdaContext

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(handler, "PENDING_FOR", timedelta(0))
        return handler.lambda_handler({"source": "aws.scheduler"}, LambdaContext("PaymentReconciler"))
