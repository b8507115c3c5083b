"""GET /admin/registrations/{registration_id}: one registration as an organiser needs it: its seats with what SES
last said of each address, its payment (Checkout or invoice), the people it had before a substitution, and its
history oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.conference.models import Money
from shared.errors import NotFound
from shared.models import Model
from shared.payments.models import HistoryAction, HistoryEntry, describe
from shared.reactions.models import Attendee, AttendeeStatus, EmailStatus
from shared.registration.models import Registration, SeatStatus
from shared.registration.status import RegistrationStatus


class SeatDetail(Model):
    attendee_id: str
    first_name: str
    last_name: str
    email: str
    organization: str
    job_title: str | None
    status: SeatStatus
    # None until the seat is paid (no attendee yet); revoked when a refund or dispute ended its access.
    access: AttendeeStatus | None
    email_status: EmailStatus
    email_status_reason: str | None


class FormerAttendee(Model):
    """A person a substitution took the seat from (their attendee is revoked): the history names them by id."""

    attendee_id: str
    first_name: str
    last_name: str
    email: str


class InvoiceDetail(Model):
    invoice_id: str | None  # None while the request waits for a finance organiser's approval
    hosted_invoice_url: str | None
    due_at: datetime | None
    closed: bool  # voided or uncollectible
    po_number: str | None
    billing_email: str
    billing_name: str


class PaymentDetail(Model):
    method: Literal["checkout", "invoice"]
    amount: Money  # the registration's price
    amount_due: Money  # less the seats left off an invoice
    amount_paid: int  # minor units, as Stripe reported
    amount_refunded: int
    payment_intent_id: str | None
    invoice: InvoiceDetail | None


class RegistrationDetail(Model):
    registration_id: str
    event_id: str
    kind: str
    status: RegistrationStatus
    created_at: datetime
    purchaser_email: str | None
    seats: list[SeatDetail]
    former_attendees: list[FormerAttendee]
    payment: PaymentDetail
    history: list[dict[str, Any]]


class DetailRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def attendees(self, attendee_ids: Iterable[str]) -> dict[str, Attendee]:
        """The attendee items that exist among these ids (a seat not yet paid has none)."""


def _history(registration: Registration) -> list[dict[str, Any]]:
    # Every registration's view starts with its creation (read from created_at: stored registrations, older ones
    # included, have no entry for it); `description` is for people, code reads the fields.
    created = HistoryEntry(at=registration.created_at, actor="system", action=HistoryAction.REGISTRATION_CREATED)
    entries = [created, *sorted(registration.history, key=lambda entry: entry.at)]
    return [entry.as_record() | {"description": describe(entry)} for entry in entries]


def registration_detail(registration: Registration, attendees: Mapping[str, Attendee]) -> RegistrationDetail:
    seats = []
    for seat in registration.seats:
        found = attendees.get(seat.attendee_id)
        seats.append(
            SeatDetail(
                attendee_id=seat.attendee_id,
                first_name=seat.first_name,
                last_name=seat.last_name,
                email=seat.email,
                organization=seat.organization,
                job_title=seat.job_title,
                status=seat.status,
                access=found.status if found else None,
                email_status=found.email_status if found else EmailStatus.OK,
                email_status_reason=found.email_status_reason if found else None,
            )
        )
    former = [
        FormerAttendee.model_validate(attendees[attendee_id], from_attributes=True)
        for attendee_id in former_attendee_ids(registration)
        if attendee_id in attendees
    ]
    facts, billing = registration.payment, registration.billing
    invoice = (
        InvoiceDetail(
            invoice_id=facts.invoice_id,
            hosted_invoice_url=facts.hosted_invoice_url,
            due_at=facts.invoice_due_at,
            closed=facts.invoice_closed,
            po_number=billing.po_number,
            billing_email=billing.billing_email,
            billing_name=billing.billing_name,
        )
        if billing is not None
        else None
    )
    return RegistrationDetail(
        registration_id=registration.registration_id,
        event_id=registration.event_id,
        kind=registration.kind,
        status=registration.status,
        created_at=registration.created_at,
        purchaser_email=registration.purchaser.email if registration.purchaser else None,
        seats=seats,
        former_attendees=former,
        payment=PaymentDetail(
            method="invoice" if billing is not None else "checkout",
            amount=registration.amount,
            amount_due=registration.amount_due,
            amount_paid=facts.amount_paid,
            amount_refunded=facts.amount_refunded,
            payment_intent_id=facts.payment_intent_id,
            invoice=invoice,
        ),
        history=_history(registration),
    )


def former_attendee_ids(registration: Registration) -> list[str]:
    """The people substitutions took this registration's seats from, in order."""
    return [
        e.from_attendee_id
        for e in registration.history
        if e.action == HistoryAction.ATTENDEE_SUBSTITUTED and e.from_attendee_id
    ]


class RegistrationDetails:
    def __init__(self, *, repository: DetailRepository) -> None:
        self._repository = repository

    def detail(self, registration_id: str) -> RegistrationDetail:
        registration = self._repository.registration(registration_id)
        if registration is None:
            raise NotFound("No registration has this id.")
        wanted = [seat.attendee_id for seat in registration.seats] + former_attendee_ids(registration)
        return registration_detail(registration, self._repository.attendees(wanted) if wanted else {})
