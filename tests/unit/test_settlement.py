"""The payment state machine as pure decisions: Stripe's state in, the registration's status out."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.conference.models import Money
from shared.payments.models import FindingKind, HistoryAction, PaymentTruth
from shared.payments.settlement import settle
from shared.registration.models import Checkout, Registration, Seat
from shared.registration.status import ALLOWED_TRANSITIONS, RegistrationStatus

AT = datetime(2026, 11, 27, tzinfo=UTC)
SESSION = "cs_test_current"


def registration(status: RegistrationStatus = RegistrationStatus.PENDING_PAYMENT) -> Registration:
    seat = Seat(attendee_id="att_1", first_name="Ana", last_name="Lopez", email="a@example.org", organization="PD")
    return Registration(
        event_id="nasro-2020",
        registration_id="reg_" + "a" * 24,
        kind="individual",
        status=status,
        seats=[seat],
        amount=Money(amount=20000, currency="usd"),
        created_at=AT,
        checkout_attempt=1,
        checkout_expires_at=AT,
        checkout=Checkout(session_id=SESSION, url="https://x/cs", expires_at=AT),
    )


def truth(**facts: object) -> PaymentTruth:
    base: dict[str, object] = {
        "registration_id": "reg_" + "a" * 24,
        "livemode": False,
        "session_id": SESSION,
        "amount": 20000,
        "currency": "usd",
    }
    return PaymentTruth(**(base | facts))  # type: ignore[arg-type]


OPEN = truth(session_status="open", payment_status="unpaid")
PAID = truth(session_status="complete", payment_status="paid", charge_id="ch_1", charge_succeeded=True)
PROCESSING = truth(session_status="complete", payment_status="unpaid")
FAILED = truth(session_status="complete", payment_status="unpaid", payment_failed=True)
EXPIRED = truth(session_status="expired", payment_status="unpaid")


def write(current: Registration, stripe_says: PaymentTruth) -> tuple[Registration, bool]:
    """One settlement write, as the repository would store it; and whether more steps follow."""
    outcome = settle(current, stripe_says, expected_livemode=False, at=AT, actor="stripe")
    if not outcome.changed:
        return current, False
    stored = current.model_copy(
        update={"status": outcome.status, "payment": outcome.facts, "history": current.history + outcome.history}
    )
    return stored, outcome.more


def apply(
    current: Registration, stripe_says: PaymentTruth, seen: list[RegistrationStatus] | None = None
) -> Registration:
    """What the payment service does for one delivery: write until nothing more follows."""
    more = True
    while more:
        current, more = write(current, stripe_says)
        if seen is not None:
            seen.append(current.status)
    return current


def test_paid_at_stripe_makes_it_paid() -> None:
    assert apply(registration(), PAID).status is RegistrationStatus.PAID


def test_a_session_still_processing_a_delayed_payment_changes_nothing() -> None:
    assert apply(registration(), PROCESSING) == registration()


def test_a_failed_delayed_payment_cancels() -> None:
    assert apply(registration(), FAILED).status is RegistrationStatus.CANCELLED


def test_only_the_current_session_expiring_expires_the_registration() -> None:
    old_attempt = truth(session_id="cs_test_old", session_status="expired", payment_status="unpaid")
    assert apply(registration(), old_attempt).status is RegistrationStatus.PENDING_PAYMENT
    assert apply(registration(), EXPIRED).status is RegistrationStatus.EXPIRED


def test_an_amount_that_differs_is_not_fulfilled() -> None:
    underpaid = truth(session_status="complete", payment_status="paid", amount=100)
    outcome = settle(registration(), underpaid, expected_livemode=False, at=AT, actor="stripe")
    assert not outcome.changed and outcome.findings == [FindingKind.AMOUNT_MISMATCH]


def test_a_payment_in_another_currency_is_not_fulfilled() -> None:
    outcome = settle(
        registration(),
        truth(session_status="complete", payment_status="paid", currency="eur"),
        expected_livemode=False,
        at=AT,
        actor="stripe",
    )
    assert outcome.findings == [FindingKind.AMOUNT_MISMATCH]


def test_livemode_must_match() -> None:
    outcome = settle(registration(), PAID, expected_livemode=True, at=AT, actor="stripe")
    assert outcome.findings == [FindingKind.LIVEMODE_MISMATCH] and not outcome.changed


def test_money_for_an_expired_registration_is_a_finding_not_a_backwards_step() -> None:
    outcome = settle(registration(RegistrationStatus.EXPIRED), PAID, expected_livemode=False, at=AT, actor="stripe")
    assert outcome.status is RegistrationStatus.EXPIRED
    assert outcome.findings == [FindingKind.UNREACHABLE_STATUS]


def test_refunded_before_the_payment_was_recorded_takes_two_writes() -> None:
    refunded = truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=20000)
    first, more = write(registration(), refunded)
    assert (first.status, more) == (RegistrationStatus.PAID, True)
    second, more = write(first, refunded)
    assert (second.status, more) == (RegistrationStatus.REFUNDED, False)


def test_a_second_payment_for_a_paid_registration_is_a_finding_and_its_refund_changes_nothing() -> None:
    # Given a registration paid through its session and payment intent
    paid = apply(registration(), replace(PAID, payment_intent_id="pi_1"))

    # When Stripe shows another paid session for it (two tabs), and later that other payment refunded
    second = truth(session_id="cs_test_other", session_status="complete", payment_status="paid",
                   payment_intent_id="pi_2", charge_id="ch_2", charge_succeeded=True)  # fmt: skip
    refunded = truth(session_id=None, payment_intent_id="pi_2", charge_id="ch_2", charge_succeeded=True,
                     amount_refunded=20000)  # fmt: skip
    outcomes = [settle(paid, t, expected_livemode=False, at=AT, actor="stripe") for t in (second, refunded)]

    # Then each is flagged for a person (and alarmed), and the registration stays paid with its own payment
    assert [(o.changed, o.findings) for o in outcomes] == [(False, [FindingKind.DUPLICATE_PAYMENT])] * 2
    assert apply(paid, refunded).status is RegistrationStatus.PAID


def test_a_partial_refund_is_recorded_and_the_rest_refunds() -> None:
    paid = apply(registration(), PAID)
    partly = apply(paid, truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=5000))
    fully = apply(partly, truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=20000))
    assert partly.status is RegistrationStatus.PAID
    assert fully.status is RegistrationStatus.REFUNDED
    assert [(h.action, h.from_status, h.to_status, h.amount_refunded, h.total_refunded) for h in fully.history] == [
        (HistoryAction.STATUS_CHANGED, RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.PAID, None, None),
        (HistoryAction.PARTIALLY_REFUNDED, None, None, 5000, 5000),
        (HistoryAction.STATUS_CHANGED, RegistrationStatus.PAID, RegistrationStatus.REFUNDED, None, None),
    ]


# A Stripe history for one payment, as the states Stripe can be in over time; an event delivered at any
# moment makes the webhook re-read one of them (never a state from before the event was sent).
TIMELINES = {
    "refunded": [OPEN, PAID, truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=20000)],
    "refunded in two parts": [
        OPEN,
        PAID,
        truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=5000),
        truth(charge_id="ch_1", charge_succeeded=True, amount_refunded=20000),
    ],
    "dispute lost": [
        OPEN,
        PAID,
        truth(charge_id="ch_1", charge_succeeded=True, dispute_id="dp_1", dispute_status="needs_response"),
        truth(charge_id="ch_1", charge_succeeded=True, dispute_id="dp_1", dispute_status="lost"),
    ],
    "dispute won": [
        OPEN,
        PAID,
        truth(charge_id="ch_1", charge_succeeded=True, dispute_id="dp_1", dispute_status="under_review"),
        truth(charge_id="ch_1", charge_succeeded=True, dispute_id="dp_1", dispute_status="won"),
    ],
    "delayed then paid": [OPEN, PROCESSING, PAID],
    "delayed then failed": [OPEN, PROCESSING, FAILED],
    "abandoned": [OPEN, EXPIRED],
}
FINAL = {
    "refunded": RegistrationStatus.REFUNDED,
    "refunded in two parts": RegistrationStatus.REFUNDED,
    "dispute lost": RegistrationStatus.REFUNDED,
    "dispute won": RegistrationStatus.PAID,
    "delayed then paid": RegistrationStatus.PAID,
    "delayed then failed": RegistrationStatus.CANCELLED,
    "abandoned": RegistrationStatus.EXPIRED,
}


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A timeline and the states re-read by a random sequence of deliveries (duplicates and any order),
    at least one of them after Stripe reached its final state."""
    name = draw(st.sampled_from(sorted(TIMELINES)))
    last = len(TIMELINES[name]) - 1
    reads = draw(st.lists(st.integers(min_value=0, max_value=last), min_size=0, max_size=12))
    position = draw(st.integers(min_value=0, max_value=len(reads)))
    return name, [*reads[:position], last, *reads[position:]]


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_sequence_of_deliveries_moves_only_along_allowed_transitions(case: tuple[str, list[int]]) -> None:
    name, reads = case
    current = registration()
    statuses = [current.status]
    for index in reads:
        current = apply(current, TIMELINES[name][index], statuses)

    # Only transitions API.md allows, between consecutive observed statuses and in the audit history
    for before, after in itertools.pairwise(statuses):
        assert before == after or after in ALLOWED_TRANSITIONS[before], (name, reads, statuses)
    steps = [(h.from_status, h.to_status) for h in current.history if h.action == HistoryAction.STATUS_CHANGED]
    for source, destination in steps:
        assert source is not None and destination in ALLOWED_TRANSITIONS[source]
    # One paid transition at most, and the end is what Stripe's final state says
    assert steps.count((RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.PAID)) <= 1
    assert current.status is FINAL[name], (name, reads)


def invoiced() -> Registration:
    current = registration(RegistrationStatus.INVOICED).model_copy(update={"checkout": None})
    return current.model_copy(update={"payment": current.payment.model_copy(update={"invoice_id": "in_1"})})


def invoice(status: str, **facts: object) -> PaymentTruth:
    return truth(session_id=None, invoice_id="in_1", invoice_status=status, **facts)


# An invoice's history at Stripe: open, then paid (by card or out of band), voided, or uncollectible (which Stripe
# still lets be paid later: money after cancellation is a finding, never a step back).
INVOICE_TIMELINES = {
    "paid by card": [invoice("open"), invoice("paid", payment_intent_id="pi_1")],
    "paid out of band": [invoice("open"), invoice("paid")],
    "voided": [invoice("open"), invoice("void")],
    "uncollectible": [invoice("open"), invoice("uncollectible")],
    "uncollectible, then paid": [invoice("open"), invoice("uncollectible"), invoice("paid")],
}
INVOICE_FINAL = {
    "paid by card": RegistrationStatus.PAID,
    "paid out of band": RegistrationStatus.PAID,
    "voided": RegistrationStatus.CANCELLED,
    "uncollectible": RegistrationStatus.CANCELLED,
    "uncollectible, then paid": RegistrationStatus.CANCELLED,
}


@st.composite
def invoice_deliveries(draw: st.DrawFn) -> tuple[str, list[int]]:
    name = draw(st.sampled_from(sorted(INVOICE_TIMELINES)))
    last = len(INVOICE_TIMELINES[name]) - 1
    reads = draw(st.lists(st.integers(min_value=0, max_value=last), min_size=0, max_size=10))
    position = draw(st.integers(min_value=0, max_value=len(reads)))
    return name, [*reads[:position], last, *reads[position:]]


@settings(max_examples=200, deadline=None)
@given(invoice_deliveries())
def test_invoice_events_in_any_order_and_repeated_move_only_along_allowed_transitions(
    case: tuple[str, list[int]],
) -> None:
    name, reads = case
    current = invoiced()
    statuses = [current.status]
    for index in reads:
        current = apply(current, INVOICE_TIMELINES[name][index], statuses)
    for before, after in itertools.pairwise(statuses):
        assert before == after or after in ALLOWED_TRANSITIONS[before], (name, reads, statuses)
    # The first end seen is the one kept: once cancelled, money that comes later is a finding, not a step back.
    expected = INVOICE_FINAL[name]
    if name == "uncollectible, then paid" and reads.index(2) < (reads.index(1) if 1 in reads else len(reads)):
        expected = RegistrationStatus.PAID  # paid was read before uncollectible ever was
    assert current.status is expected, (name, reads, statuses)


def test_money_after_the_invoice_was_cancelled_is_a_finding() -> None:
    cancelled = apply(invoiced(), invoice("void"))
    outcome = settle(cancelled, invoice("paid"), expected_livemode=False, at=AT, actor="stripe")
    assert outcome.status is RegistrationStatus.CANCELLED and outcome.findings == [FindingKind.UNREACHABLE_STATUS]


def test_an_invoice_paid_short_is_not_fulfilled() -> None:
    outcome = settle(invoiced(), invoice("paid", amount=100), expected_livemode=False, at=AT, actor="stripe")
    assert outcome.status is RegistrationStatus.INVOICED and outcome.findings == [FindingKind.AMOUNT_MISMATCH]
