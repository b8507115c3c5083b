"""The organiser's side: registrations page by page, exports, refunds and resent confirmations."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from shared.clock import Clock
from shared.conference.ports import Conferences
from shared.errors import FieldError, InvalidRequest, NotFound, NotRefundable, PaymentProviderUnavailable
from shared.models import Model
from shared.payments.models import HistoryAction, HistoryEntry
from shared.payments.seat_refunds import SeatRefunds
from shared.reactions.models import Attendee, EmailKind, EmailStatus, OutboxEmail
from shared.registration.models import Registration
from shared.registration.ports import PaymentProviderError
from shared.registration.status import RegistrationStatus

PAGE_SIZE = 50
REFUNDABLE = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED})


class AdminRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def registration_page(
        self, event_id: str, status: RegistrationStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Registration], dict[str, Any] | None]: ...

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def emails(self, registration_id: str) -> list[OutboxEmail]: ...

    def add_emails(self, emails: list[OutboxEmail]) -> None: ...

    def append_history(self, registration_id: str, entry: HistoryEntry) -> None: ...


class Refunds(Protocol):
    def refund(self, payment_intent_id: str, registration_id: str) -> str:
        """Ask Stripe for a full refund (idempotent per registration); returns the refund's id."""


class ListedAttendee(Model):
    attendee_id: str
    first_name: str
    last_name: str
    email: str
    # What SES last said of the address (shared/admin/corrections.py with_email_status fills them in).
    email_status: EmailStatus = EmailStatus.OK
    email_status_reason: str | None = None


class ListedInvoice(Model):
    """A registration's Stripe invoice: finance's overdue list is `status=invoiced` with these due dates."""

    invoice_id: str
    due_at: datetime | None
    hosted_invoice_url: str | None


class ListedRegistration(Model):
    registration_id: str
    kind: str
    status: RegistrationStatus
    seats: int
    created_at: str
    attendees: list[ListedAttendee]
    invoice: ListedInvoice | None = None  # only on a registration paid by invoice, once approved


class RegistrationPage(Model):
    items: list[ListedRegistration]
    next_cursor: str | None


class Accepted(Model):
    registration_id: str
    detail: str


def _encode(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        RegistrationStatus(value["status"])
        if value["key"] is not None and not isinstance(value["key"], dict):
            raise TypeError("key")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidRequest([FieldError("cursor", "Use the next_cursor of a previous page.")]) from exc
    return dict(value)


class AdminService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: AdminRepository,
        refunds: Refunds,
        seat_refunds: SeatRefunds,
        wall_clock: Clock,
    ) -> None:
        self._events = events
        self._repository = repository
        self._refunds = refunds
        self._seat_refunds = seat_refunds
        self._wall_clock = wall_clock

    def _audit(self, registration_id: str, actor: str, action: HistoryAction, **fields: str | int) -> None:
        entry = HistoryEntry(at=self._wall_clock.now(), actor=actor, action=action, **fields)
        self._repository.append_history(registration_id, entry)

    def registrations(self, event_id: str, status: str | None, cursor: str | None) -> RegistrationPage:
        """The event's registrations, oldest first within a status; without a status, every status in turn.
        The cursor is opaque."""
        self._events.conference(event_id)  # NotFound for an unknown event
        try:
            statuses = [RegistrationStatus(status)] if status else list(RegistrationStatus)
        except ValueError as exc:
            allowed = ", ".join(s.value for s in RegistrationStatus)
            raise InvalidRequest([FieldError("status", f"Use one of: {allowed}.")]) from exc
        start = {"event": event_id, "status": statuses[0].value, "key": None}
        position: dict[str, Any] = _decode(cursor) if cursor else start
        current = RegistrationStatus(position["status"])
        if current not in statuses or position.get("event") != event_id:
            raise InvalidRequest([FieldError("cursor", "This cursor belongs to another event or status filter.")])
        items, key = self._repository.registration_page(event_id, current, position["key"], PAGE_SIZE)
        following = statuses.index(current) + 1
        if key is not None:
            next_cursor: str | None = _encode({"event": event_id, "status": current.value, "key": key})
        elif following < len(statuses):
            next_cursor = _encode({"event": event_id, "status": statuses[following].value, "key": None})
        else:
            next_cursor = None
        return RegistrationPage(items=[self._listed(r) for r in items], next_cursor=next_cursor)

    @staticmethod
    def _listed(registration: Registration) -> ListedRegistration:
        return ListedRegistration(
            registration_id=registration.registration_id,
            kind=registration.kind,
            status=registration.status,
            seats=len(registration.seats),
            created_at=registration.created_at.isoformat(),
            attendees=[ListedAttendee.model_validate(seat, from_attributes=True) for seat in registration.seats],
            invoice=(
                ListedInvoice(
                    invoice_id=payment.invoice_id,
                    due_at=payment.invoice_due_at,
                    hosted_invoice_url=payment.hosted_invoice_url,
                )
                if (payment := registration.payment).invoice_id
                else None
            ),
        )

    def all_registrations(self, event_id: str) -> Iterator[Registration]:
        for status in RegistrationStatus:
            yield from self._repository.registrations_with_status(event_id, status)

    def registration_rows(self, event_id: str) -> Iterator[tuple[object, ...]]:
        self._events.conference(event_id)
        for r in self.all_registrations(event_id):
            payer = r.purchaser.email if r.purchaser else ""
            for seat in r.seats:
                yield (
                    r.registration_id, seat.attendee_id, r.kind, r.status.value, seat.first_name, seat.last_name,
                    seat.email, seat.organization, seat.job_title or "", seat.phone or "", payer,
                    r.created_at.isoformat(), r.amount.amount // len(r.seats), r.amount.currency,
                    seat.license_id or "",
                )  # fmt: skip

    REGISTRATION_HEADER = (
        "registration_id", "attendee_id", "kind", "status", "first_name", "last_name", "email", "organization",
        "job_title", "phone", "purchaser_email", "created_at", "seat_amount", "currency", "license_id",
    )  # fmt: skip

    def refund(self, registration_id: str, *, actor: str) -> Accepted:
        registration = self._existing(registration_id)
        if registration.status not in REFUNDABLE or not registration.payment.payment_intent_id:
            raise NotRefundable(f"Only a paid registration can be refunded; this one is {registration.status}.")
        try:
            refund_id = self._refunds.refund(registration.payment.payment_intent_id, registration_id)
        except PaymentProviderError as exc:
            raise PaymentProviderUnavailable("Stripe did not take the refund; try again.") from exc
        self._audit(registration_id, actor, HistoryAction.REFUND_REQUESTED, refund_id=refund_id)
        return Accepted(
            registration_id=registration_id, detail=f"Refund {refund_id} requested; Stripe's webhook finishes it."
        )

    def refund_seat(self, registration_id: str, attendee_id: str, *, actor: str) -> Accepted:
        """One seat's fee back through Stripe: that seat becomes `refunded` now (its code stops working, its
        certificate is revoked, its person told); Stripe's webhook settles the amounts."""
        self._existing(registration_id)
        seat = self._seat_refunds.refund(registration_id, attendee_id, actor=actor)
        return Accepted(registration_id=registration_id, detail=f"Seat refunded (refund {seat.refund_id}).")

    def resend_confirmation(self, registration_id: str, *, actor: str) -> Accepted:
        registration = self._existing(registration_id)
        if registration.status not in REFUNDABLE:
            raise NotRefundable(f"Only a paid registration has confirmations; this one is {registration.status}.")
        # Each round is an access-code email per seat whose new code replaces every earlier one (rounds before
        # this one sent confirmations again: they count too).
        resent = {EmailKind.CONFIRMATION, EmailKind.ACCESS_CODE}
        sent = [e for e in self._repository.emails(registration_id) if e.kind in resent]
        round_ = max((e.resend for e in sent), default=0) + 1
        self._repository.add_emails(
            [
                OutboxEmail(
                    registration_id=registration_id,
                    kind=EmailKind.ACCESS_CODE,
                    attendee_id=s.attendee_id,
                    resend=round_,
                )
                for s in registration.seats
            ]
        )
        self._audit(registration_id, actor, HistoryAction.CONFIRMATION_RESENT, resend=round_)
        return Accepted(
            registration_id=registration_id,
            detail=f"{len(registration.seats)} access code email(s) queued; each new code replaces the earlier ones.",
        )

    def _existing(self, registration_id: str) -> Registration:
        registration = self._repository.registration(registration_id)
        if registration is None:
            raise NotFound("No registration has this id.")
        return registration
