"""Paying by invoice: a finance organiser approves a request (a Stripe invoice made and sent, the seats held) or
rejects it. Stripe's invoice events then settle it like any payment (shared/payments/service.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.clock import Clock
from shared.conference.models import Money
from shared.conference.ports import Conferences
from shared.errors import AlreadyRegistered, InvalidTransition, NotFound, PaymentProviderUnavailable
from shared.ids import is_id
from shared.models import Model
from shared.payments.models import HistoryAction, HistoryEntry
from shared.payments.ports import PaymentRepository
from shared.payments.service import read_seat_claims
from shared.payments.settlement import Settlement
from shared.registration.models import Registration, SeatStatus
from shared.registration.ports import PaymentProviderError, StaleWrite
from shared.registration.status import RegistrationStatus

# Two organisers (or a retry) at once each re-read and re-decide this often before giving up.
APPROVE_ROUNDS = 4


@dataclass(frozen=True)
class InvoiceLine:
    attendee_id: str
    description: str
    amount: Money


@dataclass(frozen=True)
class InvoiceRequest:
    """One registration's invoice: its payer, the PO number, one line per billed seat, net `days_until_due`."""

    registration_id: str
    billing_email: str
    billing_name: str
    po_number: str | None
    days_until_due: int
    description: str
    lines: tuple[InvoiceLine, ...]

    def idempotency_key(self, step: str, *parts: str) -> str:
        # Per registration and step: a retried approval (a timeout, a second click) makes one customer and invoice.
        return ":".join(("invoice", step, self.registration_id, *parts))


@dataclass(frozen=True)
class SentInvoice:
    invoice_id: str
    hosted_invoice_url: str
    due_at: datetime | None


class InvoiceSent(Model):
    """The answer to POST /admin/registrations/{id}/invoice: the invoice Stripe sent and where it is paid."""

    registration_id: str
    invoice_id: str
    hosted_invoice_url: str
    due_at: datetime | None

    @classmethod
    def of(cls, registration_id: str, sent: SentInvoice) -> InvoiceSent:
        return cls(
            registration_id=registration_id,
            invoice_id=sent.invoice_id,
            hosted_invoice_url=sent.hosted_invoice_url,
            due_at=sent.due_at,
        )


class InvoiceGateway(Protocol):
    def send_invoice(self, request: InvoiceRequest) -> SentInvoice:
        """Create (once per registration), finalize and send the invoice; PaymentProviderError if Stripe fails."""


class InvoiceService:
    def __init__(
        self, *, events: Conferences, repository: PaymentRepository, invoices: InvoiceGateway, wall_clock: Clock
    ) -> None:
        self._events = events
        self._repository = repository
        self._invoices = invoices
        self._wall_clock = wall_clock

    def approve(self, registration_id: str, *, actor: str) -> SentInvoice:
        """`invoice_requested` -> `invoiced`: the invoice sent by Stripe, the seats' guards taken in the same write
        as the status (as a payment takes them). A seat whose person holds a paid seat elsewhere is left off the
        invoice (`not_billed`): that person keeps the seat they hold, as with a second payment."""
        for _ in range(APPROVE_ROUNDS):
            registration = self._requested(registration_id)
            claims, duplicates = read_seat_claims(self._repository, registration, SeatStatus.NOT_BILLED)
            if len(duplicates) == len(registration.seats):
                raise AlreadyRegistered(
                    "This email already holds a seat at the conference."
                    if registration.kind == "individual"
                    else "Every attendee already holds a seat at the conference."
                )
            billed = registration.model_copy(update={"seats": registration.with_seats(duplicates)})
            try:
                sent = self._invoices.send_invoice(self._invoice_request(billed))
            except PaymentProviderError as exc:
                raise PaymentProviderUnavailable(
                    "Stripe did not take the invoice; nothing was sent. Try again."
                ) from exc
            now = self._wall_clock.now()
            history = [
                HistoryEntry(
                    at=now,
                    actor=actor,
                    action=HistoryAction.STATUS_CHANGED,
                    from_status=registration.status,
                    to_status=RegistrationStatus.INVOICED,
                ),
                *(
                    HistoryEntry(at=now, actor=actor, action=HistoryAction.SEAT_NOT_BILLED, attendee_id=attendee_id)
                    for attendee_id in duplicates
                ),
            ]
            facts = registration.payment.model_copy(
                update={
                    "invoice_id": sent.invoice_id,
                    "hosted_invoice_url": sent.hosted_invoice_url,
                    "invoice_due_at": sent.due_at,
                }
            )
            settlement = Settlement(
                facts,
                RegistrationStatus.INVOICED,
                history,
                changed=True,
                claims=claims,
                seats=billed.seats if duplicates else None,
            )
            try:
                self._repository.save_settlement(registration, settlement)
            except StaleWrite:
                continue  # a guard was taken meanwhile, or another approval won: read again (the invoice is the same)
            return sent
        raise PaymentProviderUnavailable("The registration kept changing; try again.")

    def reject(self, registration_id: str, *, actor: str) -> Registration:
        """`invoice_requested` -> `cancelled`: nothing was sent or held, so nothing else changes."""
        for _ in range(APPROVE_ROUNDS):
            registration = self._requested(registration_id)
            entry = HistoryEntry(
                at=self._wall_clock.now(),
                actor=actor,
                action=HistoryAction.STATUS_CHANGED,
                from_status=registration.status,
                to_status=RegistrationStatus.CANCELLED,
            )
            settlement = Settlement(registration.payment, RegistrationStatus.CANCELLED, [entry], changed=True)
            try:
                self._repository.save_settlement(registration, settlement)
            except StaleWrite:
                continue
            return registration.model_copy(update={"status": RegistrationStatus.CANCELLED})
        raise PaymentProviderUnavailable("The registration kept changing; try again.")

    def _requested(self, registration_id: str) -> Registration:
        found = self._repository.get(registration_id) if is_id(registration_id, "reg") else None
        if found is None:
            raise NotFound("No registration has this id.")
        if found.status is not RegistrationStatus.INVOICE_REQUESTED:
            raise InvalidTransition(
                f"Only a request to pay by invoice can be approved or rejected; this is {found.status}."
            )
        return found

    def _invoice_request(self, registration: Registration) -> InvoiceRequest:
        assert registration.billing is not None, "an invoice request has its billing contact"
        conference = self._events.conference(registration.event_id)
        fee = registration.seat_fee
        item = conference.registration.checkout_item_name
        return InvoiceRequest(
            registration_id=registration.registration_id,
            billing_email=registration.billing.billing_email,
            billing_name=registration.billing.billing_name,
            po_number=registration.billing.po_number,
            days_until_due=conference.registration.invoice_days_until_due,
            description=f"{conference.name}: registration {registration.registration_id}",
            lines=tuple(
                InvoiceLine(seat.attendee_id, f"{item}: {seat.first_name} {seat.last_name}", fee)
                for seat in registration.seats
                if seat.status is SeatStatus.ACTIVE
            ),
        )
