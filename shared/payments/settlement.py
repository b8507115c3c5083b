"""The payment state machine's decisions: pure functions of a registration and what Stripe says now."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.payments.models import (
    DISPUTE_LOST,
    DISPUTE_WON,
    INVOICE_CLOSED,
    OPEN_DISPUTE,
    FindingKind,
    HistoryAction,
    HistoryEntry,
    PaymentFacts,
    PaymentTruth,
    SeatClaims,
    StripeEvent,
)
from shared.registration.models import Registration, Seat
from shared.registration.status import RegistrationStatus, path


@dataclass(frozen=True)
class Settlement:
    facts: PaymentFacts
    status: RegistrationStatus
    history: list[HistoryEntry] = field(default_factory=list)
    findings: list[FindingKind] = field(default_factory=list)

    changed: bool = False  # anything to write (facts alone may change without a status change)
    more: bool = False  # Stripe's state is further along: settle again after this write
    # Set on the write that records the payment: the seats' guards to take, and the seats (some due a refund).
    claims: SeatClaims | None = None
    seats: list[Seat] | None = None


def merge(facts: PaymentFacts, truth: PaymentTruth) -> PaymentFacts:
    """Fold what Stripe says now into what we knew; nothing already known is ever taken back."""
    paying = truth.shows_payment
    dispute_id, dispute_status = facts.dispute_id, facts.dispute_status
    if truth.dispute_id and not (
        truth.dispute_id == facts.dispute_id and facts.dispute_status in DISPUTE_WON | DISPUTE_LOST
    ):
        dispute_id, dispute_status = truth.dispute_id, truth.dispute_status
    expired = list(facts.expired_session_ids)
    if truth.session_status == "expired" and truth.session_id and truth.session_id not in expired:
        expired.append(truth.session_id)
    return PaymentFacts(
        paid=facts.paid or paying,
        paid_session_id=facts.paid_session_id or (truth.session_id if paying else None),
        payment_intent_id=facts.payment_intent_id or (truth.payment_intent_id if paying else None),
        charge_id=facts.charge_id or truth.charge_id,
        amount_paid=max(facts.amount_paid, (truth.amount or 0) if paying else 0),
        amount_refunded=max(facts.amount_refunded, truth.amount_refunded),
        dispute_id=dispute_id,
        dispute_status=dispute_status,
        failed_session_id=truth.session_id if truth.payment_failed else facts.failed_session_id,
        expired_session_ids=expired,
        invoice_id=facts.invoice_id,
        hosted_invoice_url=facts.hosted_invoice_url,
        invoice_due_at=facts.invoice_due_at,
        invoice_closed=facts.invoice_closed or (truth.invoice_status in INVOICE_CLOSED and not paying),
    )


def _another_payment(facts: PaymentFacts, truth: PaymentTruth) -> bool:
    """Whether Stripe shows a payment other than the one this registration already recorded."""
    if not (facts.paid and truth.shows_payment):
        return False
    other_session = bool(truth.session_id and facts.paid_session_id and truth.session_id != facts.paid_session_id)
    other_intent = bool(
        truth.payment_intent_id and facts.payment_intent_id and truth.payment_intent_id != facts.payment_intent_id
    )
    return other_session or other_intent


def target_status(registration: Registration, facts: PaymentFacts) -> RegistrationStatus:
    if facts.paid:
        if facts.fully_refunded or facts.dispute_status in DISPUTE_LOST:
            return RegistrationStatus.REFUNDED
        if facts.dispute_status in OPEN_DISPUTE:
            return RegistrationStatus.DISPUTED
        return RegistrationStatus.PAID
    if facts.invoice_closed:
        return RegistrationStatus.CANCELLED
    # Only the registration's current Checkout Session decides; an older attempt expiring changes nothing.
    current = registration.checkout.session_id if registration.checkout else None
    if current and facts.failed_session_id == current:
        return RegistrationStatus.CANCELLED
    if current and current in facts.expired_session_ids:
        return RegistrationStatus.EXPIRED
    return registration.status


def settle(
    registration: Registration,
    truth: PaymentTruth,
    *,
    expected_livemode: bool,
    at: datetime,
    actor: str,
    event: StripeEvent | None = None,
) -> Settlement:
    """The next write for this registration: the merged facts and at most ONE allowed transition.

    One transition per write keeps every change a reader or the table's stream sees inside API.md's
    table; when Stripe's state is further along (refunded before the completion was recorded), the
    caller settles again and takes the next step (`Settlement.more`).
    """
    unchanged = Settlement(registration.payment, registration.status)
    if truth.livemode != expected_livemode:
        return replace(unchanged, findings=[FindingKind.LIVEMODE_MISMATCH])
    if truth.invoice_id is not None and truth.invoice_id != registration.payment.invoice_id:
        # Not the invoice the approval sent (or its write is not done: the approval's retry finishes it, and the
        # reconciler reads the invoice then): it changes nothing here.
        findings = [FindingKind.DUPLICATE_PAYMENT] if truth.shows_payment and registration.payment.paid else []
        return replace(unchanged, findings=findings)
    due = registration.amount_due
    if truth.shows_payment and (truth.amount, truth.currency) != (due.amount, due.currency):
        return replace(unchanged, findings=[FindingKind.AMOUNT_MISMATCH])
    if _another_payment(registration.payment, truth):
        # A second Checkout Session paid for the same registration (two tabs, a retried redirect): it buys nothing,
        # so it changes nothing here (not even when it is refunded), and a person refunds it alone in Stripe.
        return replace(unchanged, findings=[FindingKind.DUPLICATE_PAYMENT])
    facts = merge(registration.payment, truth)
    target = target_status(registration, facts)
    steps = path(registration.status, target)
    if steps is None:
        findings, following = [FindingKind.UNREACHABLE_STATUS], registration.status
    else:
        findings, following = [], steps[0] if steps else registration.status

    def entry(action: HistoryAction, **fields: Any) -> HistoryEntry:
        return HistoryEntry(
            at=at,
            actor=actor,
            action=action,
            stripe_event_id=event.id if event else None,
            stripe_event_type=event.type if event else None,
            **fields,
        )

    history = []
    if following != registration.status:
        history.append(entry(HistoryAction.STATUS_CHANGED, from_status=registration.status, to_status=following))
    refunded_now = facts.amount_refunded - registration.payment.amount_refunded
    if refunded_now > 0 and target != RegistrationStatus.REFUNDED:
        history.append(
            entry(HistoryAction.PARTIALLY_REFUNDED, amount_refunded=refunded_now, total_refunded=facts.amount_refunded)
        )
    changed = facts != registration.payment or following != registration.status
    return Settlement(facts, following, history, findings, changed=changed, more=bool(steps and len(steps) > 1))
