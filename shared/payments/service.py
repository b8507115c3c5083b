"""Payments: Stripe events and the reconciler settle registrations from what Stripe says now."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta

from shared.clock import Clock
from shared.errors import PaymentProviderUnavailable, TemporarilyUnavailable
from shared.ids import is_id
from shared.payments.models import (
    CHARGE_EVENTS,
    DISPUTE_EVENTS,
    HANDLED_EVENTS,
    INVOICE_EVENTS,
    SESSION_EVENTS,
    FindingKind,
    HistoryAction,
    HistoryEntry,
    PaymentTruth,
    SeatClaims,
    SettlementOutcome,
    StripeEvent,
)
from shared.payments.ports import PaymentRepository, StripeObjectMissing, StripeReader
from shared.payments.seat_refunds import SeatRefunds
from shared.payments.settlement import Settlement, settle
from shared.registration.models import Registration, Seat, SeatStatus
from shared.registration.ports import PaymentProviderError, StaleWrite
from shared.registration.status import RegistrationStatus

# Concurrent writers (two deliveries of one change, the reconciler) each re-read and re-decide.
SETTLE_ROUNDS = 8
# Statuses a payment's first write can reach from pending_payment: the seats' guards are taken in that write.
SEAT_HOLDING = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.REFUNDED})
# A registration that never got a Checkout Session this long after creation was abandoned by a crash.
ABANDONED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class ReconcileReport:
    examined: int = 0
    settled: list[SettlementOutcome] = field(default_factory=list)
    discarded: int = 0


class PaymentService:
    def __init__(
        self,
        *,
        repository: PaymentRepository,
        stripe: StripeReader,
        expected_livemode: bool,
        wall_clock: Clock,
        seat_refunds: SeatRefunds,
    ) -> None:
        self._repository = repository
        self._stripe = stripe
        self._expected_livemode = expected_livemode
        self._wall_clock = wall_clock
        self._seat_refunds = seat_refunds

    def handle(self, event: StripeEvent) -> SettlementOutcome:
        """Act once on a verified event; the event itself is only a hint of which object to re-read."""
        if event.type not in HANDLED_EVENTS:
            return SettlementOutcome(None, ignored=True)
        if self._repository.event_seen(event.id):
            return SettlementOutcome(None, duplicate=True)
        if event.livemode != self._expected_livemode:
            outcome = SettlementOutcome(None, findings=[FindingKind.LIVEMODE_MISMATCH])
        else:
            outcome = self._settle(self._read(event), actor="stripe", event=event)
            if outcome.registration_id and outcome.seats_due_refund:
                # Raises while Stripe does not take a refund: the event is not remembered, so its redelivery (or the
                # reconciler) asks again, idempotently per seat.
                self._seat_refunds.refund_due(outcome.registration_id, actor="stripe")
        self._repository.remember_event(event, outcome.registration_id)
        return outcome

    def reconcile(self, *, pending_for: timedelta, event_ids: Iterable[str]) -> ReconcileReport:
        """Settle registrations still pending after `pending_for` from their Checkout Session's state, and invoiced
        ones from their invoice's: a webhook that never arrived never leaves a payer unregistered or an email
        blocked."""
        event_ids = list(event_ids)
        now = self._wall_clock.now()
        examined, settled, discarded = 0, [], 0
        pending = (
            registration
            for event_id in event_ids
            for registration in self._repository.pending_registrations(event_id, created_before=now - pending_for)
        )
        for registration in pending:
            examined += 1
            if registration.checkout is None:
                if now - registration.created_at > ABANDONED_AFTER:
                    try:
                        self._repository.discard(registration)
                    except StaleWrite:
                        continue  # its creator finished after all (a Checkout Session is attached): not abandoned
                    discarded += 1
                continue
            outcome = self._settle(
                self._stripe_call(self._stripe.session_truth, registration.checkout.session_id), actor="system"
            )
            if outcome.seats_due_refund:
                self._seat_refunds.refund_due(registration.registration_id, actor="system")
            if outcome.changes or outcome.findings:
                settled.append(outcome)
        # Open invoices, whatever their age: a paid (or voided) invoice whose webhook was lost is settled here.
        for event_id in event_ids:
            for registration in self._repository.invoiced_registrations(event_id):
                examined += 1
                if registration.payment.invoice_id is None:
                    continue
                outcome = self._settle(
                    self._stripe_call(self._stripe.invoice_truth, registration.payment.invoice_id), actor="system"
                )
                if outcome.changes or outcome.findings:
                    settled.append(outcome)
        return ReconcileReport(examined, settled, discarded)

    def _read(self, event: StripeEvent) -> PaymentTruth:
        if event.type in SESSION_EVENTS:
            return self._stripe_call(self._stripe.session_truth, event.object_id)
        if event.type in CHARGE_EVENTS:
            return self._stripe_call(self._stripe.charge_truth, event.object_id)
        if event.type in INVOICE_EVENTS:
            return self._stripe_call(self._stripe.invoice_truth, event.object_id)
        assert event.type in DISPUTE_EVENTS
        return self._stripe_call(self._stripe.dispute_truth, event.object_id)

    def _stripe_call(self, read: Callable[[str], PaymentTruth], object_id: str) -> PaymentTruth:
        try:
            return read(object_id)
        except StripeObjectMissing:
            return PaymentTruth(registration_id=None, livemode=self._expected_livemode)
        except PaymentProviderError as exc:
            # Answered 503: Stripe delivers the event again later.
            raise PaymentProviderUnavailable("Stripe could not be read back; retry later.") from exc

    def _settle(self, truth: PaymentTruth, *, actor: str, event: StripeEvent | None = None) -> SettlementOutcome:
        """Write settlements until the registration reflects `truth`, one transition per write."""
        registration_id = truth.registration_id
        changes: list[HistoryEntry] = []
        findings: list[FindingKind] = []
        contended = False  # a write was refused: the next one reads the seats' guards before taking them
        for _ in range(SETTLE_ROUNDS):
            registration = (
                self._repository.get(registration_id) if registration_id and is_id(registration_id, "reg") else None
            )
            if registration is None:
                return SettlementOutcome(registration_id, findings=[FindingKind.UNKNOWN_REGISTRATION])
            settlement = settle(
                registration,
                truth,
                expected_livemode=self._expected_livemode,
                at=self._wall_clock.now(),
                actor=actor,
                event=event,
            )
            findings = settlement.findings
            if not settlement.changed:
                due = _refunds_due(registration.seats)
                return SettlementOutcome(registration_id, changes=changes, findings=findings, seats_due_refund=due)
            if registration.status is RegistrationStatus.PENDING_PAYMENT and settlement.status in SEAT_HOLDING:
                settlement = self._with_seat_claims(registration, settlement, actor, event, read_guards=contended)
            try:
                self._repository.save_settlement(registration, settlement)
            except StaleWrite:
                contended = True
                continue  # another writer got there first: re-read and decide again
            changes += settlement.history
            if not settlement.more:
                due = _refunds_due(settlement.seats or registration.seats)
                return SettlementOutcome(registration_id, changes=changes, findings=findings, seats_due_refund=due)
        raise TemporarilyUnavailable("The registration is changing too often; retry later.")

    def _with_seat_claims(
        self,
        registration: Registration,
        settlement: Settlement,
        actor: str,
        event: StripeEvent | None,
        *,
        read_guards: bool,
    ) -> Settlement:
        """The write that records a payment takes each seat's guard. First as if every guard were free (no read:
        the usual case costs one write); once a write was refused, from the guards read. A person whose guard
        another registration holds with a paid seat keeps that seat: this one is due a refund. A guard left by a
        registration that holds no paid seat for that person (refunded, say) is taken over, conditional on it
        naming that registration still."""
        if not read_guards:
            return replace(settlement, claims=SeatClaims(take=list(dict.fromkeys(registration.email_keys))))
        claims, due = read_seat_claims(self._repository, registration, SeatStatus.REFUND_DUE)
        entries = [
            HistoryEntry(
                at=self._wall_clock.now(),
                actor=actor,
                action=HistoryAction.SEAT_DUPLICATE,
                attendee_id=attendee_id,
                stripe_event_id=event.id if event else None,
                stripe_event_type=event.type if event else None,
            )
            for attendee_id in due
        ]
        seats = registration.with_seats(due) if due else None
        return replace(settlement, claims=claims, seats=seats, history=[*settlement.history, *entries])


def read_seat_claims(
    repository: PaymentRepository, registration: Registration, duplicate: SeatStatus
) -> tuple[SeatClaims, dict[str, SeatStatus]]:
    """From the seats' guards as read: the guards to take (free ones, and those left by a registration that holds
    no paid seat for that person, taken over conditional on naming it still), and the seats whose person holds a
    paid seat elsewhere, each to become `duplicate` (that person keeps the seat they hold)."""
    holders = repository.seat_holders(registration.event_id, registration.email_keys)
    claims, read, due = SeatClaims(), dict[str, Registration | None](), dict[str, SeatStatus]()
    for seat in registration.seats:
        holder_id = holders.get(seat.email_key)
        if holder_id is None:
            claims.take.append(seat.email_key)
            continue
        if holder_id == registration.registration_id:
            continue
        if holder_id not in read:
            read[holder_id] = repository.get(holder_id)
        holder = read[holder_id]
        if holder is not None and holder.holds_paid_seat(seat.email_key):
            due[seat.attendee_id] = duplicate
        else:
            claims.take_over[seat.email_key] = holder_id
    return claims, due


def _refunds_due(seats: list[Seat]) -> bool:
    return any(seat.status is SeatStatus.REFUND_DUE for seat in seats)
