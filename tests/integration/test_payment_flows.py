"""Payments through the real adapters: one honest path per Stripe re-read (session, charge, dispute) through the
webhook handler and the Stripe stand-in, Stripe failing (503), the reconciler's handler, and the DynamoDB
adapter's settlement write (conditional on the version) and history read.

The payment rules themselves (orders of events, duplicates, concurrent writers, unknown registrations, the
reconciler's choices) are pinned against fakes in tests/unit/test_payment_service.py and test_settlement.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, individual
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import DynamoRegistrationRepository, registration_key, to_item
from shared.payments.models import HistoryAction, HistoryEntry, PaymentTruth, SeatClaims
from shared.payments.settlement import settle
from shared.registration.models import Registration, SeatStatus
from shared.registration.ports import StaleWrite
from tests.support.stripe_events import refund_at_stripe as refund


def register(api: LocalHttpApi) -> dict:
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
    assert response.status == 201, response.body
    return response.json()


def session_of(created: dict) -> str:
    return str(created["checkout_url"]).rsplit("/", 1)[-1]


def repository(stack) -> DynamoRegistrationRepository:
    return DynamoRegistrationRepository(stack.resources["MainTable"])


def stored(stack, registration_id: str) -> Registration:
    registration = repository(stack).get(registration_id)
    assert registration is not None
    return registration


def steps(stack, registration_id: str) -> list[tuple[str | None, str | None]]:
    return [
        (entry.from_status, entry.to_status)
        for entry in stored(stack, registration_id).history
        if entry.action == HistoryAction.STATUS_CHANGED
    ]


@contextmanager
def webhooks_held(stripe_standin: StripeStandIn) -> Iterator[None]:
    """Stripe acts, but its webhooks are not delivered."""
    url, stripe_standin.webhook_url = stripe_standin.webhook_url, None
    try:
        yield
    finally:
        stripe_standin.wait_idle()
        stripe_standin.webhook_url = url


class TestThroughTheWebhook:
    def test_a_card_payment_makes_the_registration_paid_with_its_history(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When Stripe's Checkout page is paid (the session re-read, with its PaymentIntent and charge)
        (delivery,) = stripe_standin.pay(session_of(created))

        # Then
        assert delivery.status_code == 200
        assert api.request("GET", f"/registrations/{created['registration_id']}").json()["status"] == "paid"
        registration = stored(stack, created["registration_id"])
        assert registration.payment.paid and registration.payment.amount_paid == 20000
        assert registration.payment.payment_intent_id.startswith("pi_")
        assert registration.payment.charge_id.startswith("ch_")
        (entry,) = registration.history
        assert (entry.action, entry.from_status, entry.to_status) == (
            HistoryAction.STATUS_CHANGED,
            "pending_payment",
            "paid",
        )
        assert (entry.actor, entry.stripe_event_id, entry.stripe_event_type) == (
            "stripe",
            delivery.id,
            "checkout.session.completed",
        )
        assert repository(stack).event_seen(delivery.id) and not repository(stack).event_seen("evt_never_sent")

    def test_a_failed_delayed_payment_cancels_and_frees_the_email(self, api, stripe_standin, stack) -> None:
        # Given
        created = register(api)

        # When the delayed method fails (the session stays complete and unpaid, its intent wanting a new method)
        stripe_standin.pay(session_of(created), flow="async_failure")

        # Then
        assert steps(stack, created["registration_id"]) == [("pending_payment", "cancelled")]
        again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
        assert again.status == 201
        assert again.json()["registration_id"] != created["registration_id"]

    def test_a_full_refund_at_stripe_refunds_the_registration(self, api, stripe_standin, stack) -> None:
        # Given a paid registration
        created = register(api)
        stripe_standin.pay(session_of(created))

        # When it is refunded at Stripe (charge.refunded: the charge re-read)
        refund(stripe_standin, session_of(created))

        # Then
        registration = stored(stack, created["registration_id"])
        assert registration.payment.amount_refunded == 20000
        assert steps(stack, created["registration_id"]) == [("pending_payment", "paid"), ("paid", "refunded")]
        assert registration.history[-1].stripe_event_type == "charge.refunded"

    def test_a_dispute_flags_the_registration_and_a_lost_one_refunds_it(self, api, stripe_standin, stack) -> None:
        # Given a paid registration
        created = register(api)
        stripe_standin.pay(session_of(created))

        # When a dispute opens, then is lost (the dispute re-read, with its charge)
        (opened,) = stripe_standin.dispute(session_of(created))
        disputed = stored(stack, created["registration_id"])
        stripe_standin.close_dispute(opened.event["data"]["object"]["id"], "lost")

        # Then
        assert disputed.status == "disputed" and disputed.payment.dispute_status == "needs_response"
        assert stored(stack, created["registration_id"]).status == "refunded"

    def test_stripe_failing_to_answer_the_re_read_is_a_503_then_settles_on_redelivery(
        self, api, stripe_standin, stack
    ) -> None:
        # Given Stripe answering 500 to the re-read (as often as the SDK retries)
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
        # Given: one registration paid at Stripe, the webhook lost; another whose session is still open
        created = register(api)
        with webhooks_held(stripe_standin):
            stripe_standin.pay(session_of(created))
        still_open = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email="o@x.org")))

        # When the scheduled reconciler runs (from a moment when the registrations count as old)
        report = reconcile(stack)

        # Then the paid one is settled by the reconciler, the open one left as it was
        assert report == {"examined": 2, "settled": 1, "discarded": 0}
        registration = stored(stack, created["registration_id"])
        assert registration.status == "paid"
        assert [(h.actor, h.stripe_event_id) for h in registration.history] == [("system", None)]
        assert stored(stack, still_open.json()["registration_id"]).history == []


class TestTheTable:
    def test_a_settlement_from_a_stale_version_is_refused_and_changes_nothing(self, api, stack) -> None:
        # Given a registration read once, and a settlement written from that read
        created = register(api)
        read = stored(stack, created["registration_id"])
        table = repository(stack)
        at = datetime.now(UTC)
        session = PaymentTruth(registration_id=read.registration_id, livemode=False, session_id=session_of(created))
        paid = replace(
            session,
            session_status="complete",
            payment_status="paid",
            amount=20000,
            currency="usd",
            charge_id="ch_test_stale",
            charge_succeeded=True,
        )
        settled = settle(read, paid, expected_livemode=False, at=at, actor="stripe")
        table.save_settlement(read, replace(settled, claims=SeatClaims(take=read.email_keys)))

        # When another settlement is written from the same (now stale) read
        expired_session = replace(session, session_status="expired", payment_status="unpaid")
        expired = settle(read, expired_session, expected_livemode=False, at=at, actor="system")
        with pytest.raises(StaleWrite):
            table.save_settlement(read, expired)

        # Then the first write stands alone, and the email it holds was not freed
        after = stored(stack, created["registration_id"])
        assert (after.status, after.version) == ("paid", read.version + 1)
        assert [(h.actor, h.to_status) for h in after.history] == [("stripe", "paid")]
        assert table.seat_holders(read.event_id, read.email_keys) == {read.email_keys[0]: read.registration_id}

    def test_a_payment_takes_its_seats_guards_only_with_every_condition_met(self, api, stack) -> None:
        # Given two registrations for one person, and the first one's payment recorded with the guard
        table, at = repository(stack), datetime.now(UTC)
        first = stored(stack, register(api)["registration_id"])
        other = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(first_name="Anna")))
        second = stored(stack, other.json()["registration_id"])
        paid = PaymentTruth(
            registration_id=None, livemode=False, session_status="complete", payment_status="paid", amount=20000,
            currency="usd", charge_succeeded=True,
        )  # fmt: skip
        settled = settle(first, paid, expected_livemode=False, at=at, actor="stripe")
        table.save_settlement(first, replace(settled, claims=SeatClaims(take=first.email_keys)))

        # When the second's payment tries to take the same guard as free, nothing of it is written
        late = settle(second, paid, expected_livemode=False, at=at, actor="stripe")
        with pytest.raises(StaleWrite):
            table.save_settlement(second, replace(late, claims=SeatClaims(take=second.email_keys)))
        assert stored(stack, second.registration_id) == second

        # Then taking it over from the registration named in it works, in one write with the seats
        seats = second.with_seats({second.seats[0].attendee_id: SeatStatus.REFUND_DUE})
        taken = replace(late, claims=SeatClaims(take_over={second.email_keys[0]: first.registration_id}), seats=seats)
        table.save_settlement(second, taken)
        assert table.seat_holders(first.event_id, first.email_keys) == {first.email_keys[0]: second.registration_id}
        assert stored(stack, second.registration_id).seats[0].status is SeatStatus.REFUND_DUE

    def test_a_seat_s_refund_is_written_only_at_the_version_read(self, api, stack) -> None:
        table = repository(stack)
        read = stored(stack, register(api)["registration_id"])
        seats = read.with_seats({read.seats[0].attendee_id: SeatStatus.REFUNDED}, {read.seats[0].attendee_id: "re_1"})
        entry = HistoryEntry(
            at=datetime.now(UTC), actor="finance@example.org", action=HistoryAction.SEAT_REFUNDED,
            attendee_id=read.seats[0].attendee_id, refund_id="re_1", amount_refunded=20000,
        )  # fmt: skip
        table.save_seats(read, seats, entry)
        with pytest.raises(StaleWrite):
            table.save_seats(read, seats, entry)
        after = stored(stack, read.registration_id)
        assert after.seats == seats and after.history == [entry] and after.version == read.version + 1

    def test_a_registration_stored_before_history_had_actions_still_loads(self, api, aws, stack) -> None:
        # Given a registration whose history an older version wrote as sentences
        created = register(api)
        at = datetime.now(UTC).isoformat()
        legacy = [
            {"at": at, "actor": "stripe", "change": "pending_payment -> paid", "stripe_event_id": "evt_1"},
            {"at": at, "actor": "admin:token", "change": "refund re_1 requested", "stripe_event_id": None},
        ]
        aws.client("dynamodb").update_item(
            TableName=stack.resources["MainTable"],
            Key=registration_key(created["registration_id"]),
            UpdateExpression="SET history = :history",
            ExpressionAttributeValues=to_item({":history": legacy}),
        )

        # When it is read
        registration = stored(stack, created["registration_id"])

        # Then
        assert [(h.action, h.to_status, h.text, h.stripe_event_id) for h in registration.history] == [
            (HistoryAction.STATUS_CHANGED, "paid", None, "evt_1"),
            (HistoryAction.LEGACY, None, "refund re_1 requested", None),
        ]


def reconcile(stack) -> dict:
    """Run the reconciler's Lambda handler as its schedule would, counting every pending registration as old
    enough to ask Stripe about (the deployed function waits 10 minutes)."""
    from functions.payment_reconciler import handler
    from infra.apigw import LambdaContext

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(handler, "PENDING_FOR", timedelta(0))
        return handler.lambda_handler({"source": "aws.scheduler"}, LambdaContext("PaymentReconciler"))
