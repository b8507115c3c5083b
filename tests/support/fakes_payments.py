"""In-memory fakes of the payment ports (shared/payments/ports.py), with the adapters' conditional semantics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from shared.conference.models import Money
from shared.payments.invoices import InvoiceRequest, SentInvoice
from shared.payments.models import HistoryEntry, PaymentTruth, StripeEvent
from shared.payments.ports import StripeObjectMissing
from shared.payments.settlement import Settlement
from shared.registration.models import Registration, Seat
from shared.registration.ports import PaymentProviderError, StaleWrite
from shared.registration.status import RELEASES_EMAILS, RegistrationStatus


def save_seats(
    registrations: dict[str, Registration], registration: Registration, seats: list[Seat], entry: HistoryEntry
) -> None:
    """The adapter's seats write: conditional on the version read, the entry appended, the version moved."""
    current = registrations.get(registration.registration_id)
    if current is None or current.version != registration.version:
        raise StaleWrite("version moved on")
    registrations[registration.registration_id] = current.model_copy(
        update={"seats": seats, "history": [*current.history, entry], "version": current.version + 1}
    )


class InMemoryPaymentRepository:
    """Registrations with their version, the email guards they hold, and the Stripe events acted on.

    `before_save` plays another writer: it runs at the start of every `save_settlement`, before the
    version is compared, so whatever it writes makes that save a StaleWrite (as on DynamoDB).
    """

    def __init__(self, *registrations: Registration) -> None:
        self.registrations: dict[str, Registration] = {}
        self.guards: dict[tuple[str, str], str] = {}  # (event id, email) -> registration
        self.events: dict[str, str | None] = {}
        self.saves = 0  # attempted settlement writes, refused ones included
        self.lookups: list[str] = []  # registration ids read
        self.before_save: Callable[[Registration], None] | None = None
        for registration in registrations:
            self.add(registration)

    def add(self, registration: Registration) -> None:
        """A registration as stored: one past its payment holds its active seats' guards."""
        self.registrations[registration.registration_id] = registration
        unheld = {RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.INVOICE_REQUESTED, *RELEASES_EMAILS}
        if registration.status not in unheld:
            for seat in registration.active_seats:
                self.guards[registration.event_id, seat.email_key] = registration.registration_id

    def seat_holders(self, event_id: str, email_keys: list[str]) -> dict[str, str]:
        return {key: self.guards[event_id, key] for key in email_keys if (event_id, key) in self.guards}

    def bump(self, registration_id: str) -> None:
        """Another writer's unrelated write (a personal-data erasure, say): only the version moves."""
        current = self.registrations[registration_id]
        self.registrations[registration_id] = current.model_copy(update={"version": current.version + 1})

    def get(self, registration_id: str) -> Registration | None:
        self.lookups.append(registration_id)
        return self.registrations.get(registration_id)

    def save_settlement(self, registration: Registration, settlement: Settlement) -> None:
        self.saves += 1
        if self.before_save is not None:
            self.before_save(registration)
        current = self.registrations.get(registration.registration_id)
        if current is None or current.version != registration.version:
            raise StaleWrite("version moved on")
        event, claims = registration.event_id, settlement.claims
        if claims is not None:  # one transaction with the guards, as the adapter's
            if any((event, key) in self.guards for key in claims.take) or any(
                self.guards.get((event, key)) != holder for key, holder in claims.take_over.items()
            ):
                raise StaleWrite("a guard moved on")
            for key in [*claims.take, *claims.take_over]:
                self.guards[event, key] = registration.registration_id
        self.registrations[registration.registration_id] = current.model_copy(
            update={
                "status": settlement.status,
                "payment": settlement.facts,
                "history": [*current.history, *settlement.history],
                "version": current.version + 1,
            }
            | ({"seats": settlement.seats} if settlement.seats is not None else {})
        )

    def save_seats(self, registration: Registration, seats: list[Seat], entry: HistoryEntry) -> None:
        save_seats(self.registrations, registration, seats, entry)

    def event_seen(self, event_id: str) -> bool:
        return event_id in self.events

    def remember_event(self, event: StripeEvent, registration_id: str | None) -> None:
        self.events[event.id] = registration_id

    def pending_registrations(self, event_id: str, created_before: datetime) -> Iterator[Registration]:
        pending = [
            r
            for r in self.registrations.values()
            if r.event_id == event_id
            and r.status is RegistrationStatus.PENDING_PAYMENT
            and r.created_at < created_before
        ]
        yield from sorted(pending, key=lambda r: (r.created_at, r.registration_id))  # the index's order

    def invoiced_registrations(self, event_id: str) -> Iterator[Registration]:
        invoiced = [
            r for r in self.registrations.values() if r.event_id == event_id and r.status is RegistrationStatus.INVOICED
        ]
        yield from sorted(invoiced, key=lambda r: (r.created_at, r.registration_id))

    def discard(self, registration: Registration) -> None:
        """As the adapter's conditional delete: only a registration without a Checkout Session."""
        current = self.registrations.get(registration.registration_id)
        if current is None or current.checkout is not None:
            raise StaleWrite("checkout attached")
        del self.registrations[registration.registration_id]


class FakeStripe:
    """Stripe's current state of each object, by id. An id it does not know is StripeObjectMissing (a 404);
    while `unavailable` is above zero each read fails with PaymentProviderError (and counts it down)."""

    def __init__(self) -> None:
        self.sessions: dict[str, PaymentTruth] = {}
        self.charges: dict[str, PaymentTruth] = {}
        self.disputes: dict[str, PaymentTruth] = {}
        self.invoices: dict[str, PaymentTruth] = {}
        self.unavailable = 0
        self.reads: list[str] = []

    def session_truth(self, session_id: str) -> PaymentTruth:
        return self._read(self.sessions, session_id)

    def charge_truth(self, charge_id: str) -> PaymentTruth:
        return self._read(self.charges, charge_id)

    def dispute_truth(self, dispute_id: str) -> PaymentTruth:
        return self._read(self.disputes, dispute_id)

    def invoice_truth(self, invoice_id: str) -> PaymentTruth:
        return self._read(self.invoices, invoice_id)

    def _read(self, objects: dict[str, PaymentTruth], object_id: str) -> PaymentTruth:
        self.reads.append(object_id)
        if self.unavailable:
            self.unavailable -= 1
            raise PaymentProviderError("APIConnectionError")
        if object_id not in objects:
            raise StripeObjectMissing(object_id)
        return objects[object_id]


class FakeSeatRefunds:
    """Stripe's refunds of one seat: one refund per (registration, seat) key however often asked, as with Stripe's
    idempotency keys; while `unavailable` is above zero each call fails (and counts it down)."""

    def __init__(self) -> None:
        self.refunds: dict[tuple[str, str], tuple[str, str, Money]] = {}  # key -> (refund id, intent, amount)
        self.calls = 0
        self.unavailable = 0

    def refund_seat(self, payment_intent_id: str, registration_id: str, attendee_id: str, amount: Money) -> str:
        self.calls += 1
        if self.unavailable:
            self.unavailable -= 1
            raise PaymentProviderError("APIConnectionError")
        key = (registration_id, attendee_id)
        if key not in self.refunds:
            self.refunds[key] = (f"re_{len(self.refunds) + 1}", payment_intent_id, amount)
        return self.refunds[key][0]


class FakeInvoices:
    """Stripe's invoices as the approval makes them: one per registration however often asked (its idempotency
    keys); while `unavailable` is above zero each call fails (and counts it down)."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[InvoiceRequest, SentInvoice]] = {}
        self.calls = 0
        self.unavailable = 0

    def send_invoice(self, request: InvoiceRequest) -> SentInvoice:
        self.calls += 1
        if self.unavailable:
            self.unavailable -= 1
            raise PaymentProviderError("APIConnectionError")
        if request.registration_id not in self.sent:
            invoice_id = f"in_{len(self.sent) + 1}"
            due = datetime(2026, 12, 27, tzinfo=UTC) + timedelta(days=request.days_until_due - 30)
            invoice = SentInvoice(invoice_id, f"https://invoice.stripe.test/{invoice_id}", due)
            self.sent[request.registration_id] = (request, invoice)
        return self.sent[request.registration_id][1]
