"""One seat's fee back through Stripe: the seat of a person who ended up paid twice (automatically, when the later
payment settles) and an organiser's refund of one seat use this one mechanism.

The Stripe refund is asked with an idempotency key per seat, so a retry (a redelivered event, the organiser asking
twice, a crash between Stripe's answer and the write) never refunds a seat twice; the seat is marked `refunded` in a
write conditional on the registration's version. Stripe's `charge.refunded` then settles the amounts as for any
refund, and the registration becomes `refunded` once every seat's fee is back.
"""

from __future__ import annotations

from typing import Protocol

from shared.clock import Clock
from shared.conference.models import Money
from shared.errors import NotFound, NotRefundable, PaymentProviderUnavailable, TemporarilyUnavailable
from shared.payments.models import HistoryAction, HistoryEntry
from shared.registration.models import Registration, Seat, SeatStatus
from shared.registration.ports import PaymentProviderError, StaleWrite
from shared.registration.status import RegistrationStatus

# Concurrent writers (a settlement, an erasure) move the version; each round re-reads and writes again.
SEAT_WRITE_ROUNDS = 5
# The statuses in which a seat's fee can go back: paid. (A disputed payment is the bank's to return.)
REFUNDABLE = frozenset({RegistrationStatus.PAID})


class SeatRefundGateway(Protocol):
    def refund_seat(self, payment_intent_id: str, registration_id: str, attendee_id: str, amount: Money) -> str:
        """Ask Stripe to refund `amount` of the payment, once per seat however often asked; the refund's id.
        Raises PaymentProviderError when Stripe does not take it."""


class SeatRepository(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def save_seats(self, registration: Registration, seats: list[Seat], entry: HistoryEntry) -> None:
        """Write the seats and the entry if the registration is still at its version (StaleWrite)."""


class SeatRefunds:
    def __init__(self, *, repository: SeatRepository, refunds: SeatRefundGateway, wall_clock: Clock) -> None:
        self._repository = repository
        self._refunds = refunds
        self._wall_clock = wall_clock

    def refund(self, registration_id: str, attendee_id: str, *, actor: str) -> Seat:
        """An organiser's refund of one active seat of a paid registration; asking again for a refunded seat is
        answered with that seat (nothing refunded twice)."""
        registration = self._repository.get(registration_id)
        seat = _seat(registration, attendee_id)
        if seat.status is SeatStatus.REFUNDED:
            return seat
        assert registration is not None
        if registration.status not in REFUNDABLE:
            raise NotRefundable(f"Only a paid registration's seat can be refunded; this one is {registration.status}.")
        return self._refund(registration_id, attendee_id, actor=actor)

    def refund_due(self, registration_id: str, *, actor: str) -> list[Seat]:
        """Refund every seat due a refund (its person already held a paid seat when this one was paid)."""
        registration = self._repository.get(registration_id)
        if registration is None:
            return []
        due = [seat for seat in registration.seats if seat.status is SeatStatus.REFUND_DUE]
        return [self._refund(registration_id, seat.attendee_id, actor=actor) for seat in due]

    def _refund(self, registration_id: str, attendee_id: str, *, actor: str) -> Seat:
        for _ in range(SEAT_WRITE_ROUNDS):
            registration = self._repository.get(registration_id)
            seat = _seat(registration, attendee_id)
            assert registration is not None
            if seat.status is SeatStatus.REFUNDED:
                return seat
            intent = registration.payment.payment_intent_id
            if intent is None:
                raise NotRefundable("This registration has no payment to refund.")
            fee = registration.seat_fee
            try:
                refund_id = self._refunds.refund_seat(intent, registration_id, attendee_id, fee)
            except PaymentProviderError as exc:
                raise PaymentProviderUnavailable("Stripe did not take the seat's refund; try again.") from exc
            seats = registration.with_seats({attendee_id: SeatStatus.REFUNDED}, {attendee_id: refund_id})
            entry = HistoryEntry(
                at=self._wall_clock.now(),
                actor=actor,
                action=HistoryAction.SEAT_REFUNDED,
                attendee_id=attendee_id,
                refund_id=refund_id,
                amount_refunded=fee.amount,
            )
            try:
                self._repository.save_seats(registration, seats, entry)
            except StaleWrite:
                continue  # another writer moved the version: re-read (the Stripe call repeats, idempotently)
            return next(s for s in seats if s.attendee_id == attendee_id)
        raise TemporarilyUnavailable("The registration is changing too often; retry later.")


def _seat(registration: Registration | None, attendee_id: str) -> Seat:
    seat = next((s for s in registration.seats if s.attendee_id == attendee_id), None) if registration else None
    if seat is None:
        raise NotFound("This registration has no seat for this attendee.")
    return seat
