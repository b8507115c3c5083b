"""What the payment state machine needs from Stripe and from the table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.payments.models import HistoryEntry, PaymentTruth, StripeEvent

if TYPE_CHECKING:
    from shared.payments.settlement import Settlement
    from shared.registration.models import Registration, Seat


class StripeObjectMissing(Exception):
    """Stripe does not know the object an event names (another account, or a forged id)."""


class StripeReader(Protocol):
    """Re-reads objects from Stripe; raises PaymentProviderError when Stripe cannot answer."""

    def session_truth(self, session_id: str) -> PaymentTruth: ...

    def charge_truth(self, charge_id: str) -> PaymentTruth: ...

    def dispute_truth(self, dispute_id: str) -> PaymentTruth: ...

    def invoice_truth(self, invoice_id: str) -> PaymentTruth: ...


class PaymentRepository(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def seat_holders(self, event_id: str, email_keys: list[str]) -> dict[str, str]:
        """For each email whose guard a registration holds in this event, that registration's id."""

    def save_settlement(self, registration: Registration, settlement: Settlement) -> None:
        """Write the new status, facts, history (and seats) if the registration is still at its version, taking
        `settlement.claims`' guards in the same transaction (StaleWrite if any condition fails)."""

    def save_seats(self, registration: Registration, seats: list[Seat], entry: HistoryEntry) -> None: ...

    def event_seen(self, event_id: str) -> bool: ...

    def remember_event(self, event: StripeEvent, registration_id: str | None) -> None: ...

    def pending_registrations(self, event_id: str, created_before: datetime) -> Iterator[Registration]: ...

    def invoiced_registrations(self, event_id: str) -> Iterator[Registration]:
        """The event's registrations whose invoice is open (status `invoiced`)."""

    def discard(self, registration: Registration) -> None: ...
