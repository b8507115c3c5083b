"""An organiser's correction of an attendee (PATCH /admin/attendees/{attendee_id}): a misspelt name, or an address
that bounced. A new address moves the seat's email guard, ends the old code (and its session) and gets the
confirmation with a new code, all decided here and written in one transaction by the adapter."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, model_validator

from shared.admin.service import RegistrationPage
from shared.clock import Clock
from shared.errors import (
    AlreadyRegistered,
    FieldError,
    InvalidRequest,
    NotFound,
    NotRefundable,
    TemporarilyUnavailable,
)
from shared.payments.models import HistoryAction, HistoryEntry
from shared.reactions.models import Attendee, AttendeeStatus, EmailKind, EmailStatus, OutboxEmail
from shared.registration.models import SEAT_HOLDING_STATUSES, Email, Registration, SeatStatus, normalize_email
from shared.registration.ports import StaleWrite
from shared.text import Name

# A seat's holder keeps it while paid, disputed (access stays until the dispute is decided) or invoiced (an approved
# invoice holds the seats and sends the confirmations).
HOLDS_SEAT = SEAT_HOLDING_STATUSES
# Confirmations and access-code emails are numbered by resend round; a correction's confirmation takes the next.
_NUMBERED = frozenset({EmailKind.CONFIRMATION, EmailKind.ACCESS_CODE})
WRITE_ATTEMPTS = 3
PAGE_SIZE = 50


class AttendeeCorrection(BaseModel):
    """The body of PATCH /admin/attendees/{attendee_id}: what to correct, at least one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email | None = None
    first_name: Name | None = None
    last_name: Name | None = None

    @model_validator(mode="after")
    def _something(self) -> AttendeeCorrection:
        if self.email is None and self.first_name is None and self.last_name is None:
            raise ValueError("Send at least one of email, first_name, last_name.")
        return self


class CorrectedAttendee(BaseModel):
    attendee_id: str
    registration_id: str
    first_name: str
    last_name: str
    email: str
    email_status: EmailStatus
    confirmation_queued: bool  # a new address: the confirmation with a new code is on its way


@dataclass(frozen=True)
class Correction:
    """Everything one correction writes, for the adapter's single transaction."""

    registration: Registration  # as read: the write is conditional on its version
    attendee: Attendee  # as read: conditional on its address
    seat_index: int
    first_name: str
    last_name: str
    email: str
    new_guard: str | None  # the new address's email key, when the address changes
    take_guard_from: str | None  # the registration a stale guard of the new address names (not holding a seat)
    confirmation: OutboxEmail | None
    entry: HistoryEntry


class MailProblem(BaseModel):
    """An attendee whose address bounced, or who marked our mail as spam: for the organiser to correct."""

    attendee_id: str
    registration_id: str
    first_name: str
    last_name: str
    email: str
    email_status: EmailStatus
    email_status_reason: str | None
    email_status_at: datetime | None


class MailProblemPage(BaseModel):
    items: list[MailProblem]
    next_cursor: str | None


class CorrectionRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        """The registration the email guard of this address names in this event, if any."""

    def emails(self, registration_id: str) -> list[OutboxEmail]: ...

    def correct(self, correction: Correction) -> None:
        """Write it all or nothing; StaleWrite when anything read changed meanwhile."""

    def mail_problems(
        self, event_id: str, status: EmailStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Attendee], dict[str, Any] | None]:
        """One page of the event's attendees with this mail status (bounced or complained), newest first."""


class CorrectionService:
    def __init__(self, *, repository: CorrectionRepository, wall_clock: Clock) -> None:
        self._repository = repository
        self._wall_clock = wall_clock

    def correct(self, attendee_id: str, correction: AttendeeCorrection, *, actor: str) -> CorrectedAttendee:
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._correct(attendee_id, correction, actor=actor)
            except StaleWrite:
                continue  # something read changed meanwhile (a payment, a resend, a second correction): read again
        raise TemporarilyUnavailable("The attendee kept changing while being corrected; please try again.")

    def mail_problems(self, event_id: str, status: str | None, cursor: str | None) -> MailProblemPage:
        """GET /admin/attendees?email_status=: the event's attendees whose address bounced (the default) or who
        complained, newest first, a page at a time (the cursor is opaque)."""
        try:
            wanted = EmailStatus(status or EmailStatus.BOUNCED)
            if wanted is EmailStatus.OK:
                raise ValueError(wanted)
        except ValueError as exc:
            raise InvalidRequest([FieldError("email_status", "Use bounced or complained.")]) from exc
        start = _read_cursor(cursor, event_id, wanted) if cursor else None
        attendees, key = self._repository.mail_problems(event_id, wanted, start, PAGE_SIZE)
        items = [
            MailProblem.model_validate(attendee, from_attributes=True)
            for attendee in attendees
            if attendee.email_status is wanted  # the index is eventually consistent: as the item says now
        ]
        next_cursor = _cursor(event_id, wanted, key) if key else None
        return MailProblemPage(items=items, next_cursor=next_cursor)

    def _correct(self, attendee_id: str, correction: AttendeeCorrection, *, actor: str) -> CorrectedAttendee:
        attendee = self._repository.attendee(attendee_id)
        registration = self._repository.registration(attendee.registration_id) if attendee else None
        index = next(
            (i for i, s in enumerate(registration.seats) if s.attendee_id == attendee_id) if registration else iter(()),
            None,
        )
        if attendee is None or registration is None or index is None:
            raise NotFound("No attendee has this id.")
        seat = registration.seats[index]
        email = correction.email if correction.email is not None else seat.email
        moves = normalize_email(email) != seat.email_key
        changed = [
            name
            for name, value, current in (
                ("email", email, seat.email),
                ("first_name", correction.first_name, seat.first_name),
                ("last_name", correction.last_name, seat.last_name),
            )
            if value is not None and value != current
        ]
        if moves:
            self._may_move(registration, attendee, normalize_email(email))
        take_from = self._stale_holder(registration, normalize_email(email)) if moves else None
        confirmation = None
        if moves:
            sent = [e for e in self._repository.emails(registration.registration_id) if e.kind in _NUMBERED]
            round_ = max((e.resend for e in sent), default=0) + 1
            confirmation = OutboxEmail(
                registration_id=registration.registration_id,
                kind=EmailKind.CONFIRMATION,
                attendee_id=attendee_id,
                resend=round_,
            )
        corrected = Correction(
            registration=registration,
            attendee=attendee,
            seat_index=index,
            first_name=correction.first_name or seat.first_name,
            last_name=correction.last_name or seat.last_name,
            email=email,
            new_guard=normalize_email(email) if moves else None,
            take_guard_from=take_from,
            confirmation=confirmation,
            entry=self._entry(actor, attendee_id, changed, self._wall_clock.now()),
        )
        if changed:
            self._repository.correct(corrected)
        return CorrectedAttendee(
            attendee_id=attendee_id,
            registration_id=registration.registration_id,
            first_name=corrected.first_name,
            last_name=corrected.last_name,
            email=email,
            email_status=EmailStatus.OK if moves else attendee.email_status,
            confirmation_queued=confirmation is not None,
        )

    def _may_move(self, registration: Registration, attendee: Attendee, email_key: str) -> None:
        seat = next(s for s in registration.seats if s.attendee_id == attendee.attendee_id)
        held = registration.status in HOLDS_SEAT and seat.status is SeatStatus.ACTIVE
        if attendee.status is not AttendeeStatus.ACTIVE or not held:
            raise NotRefundable(
                f"This seat is not held (registration {registration.status}, seat {seat.status}): its address is "
                "not corrected."
            )
        if any(s.email_key == email_key for s in registration.seats):
            raise AlreadyRegistered("Another seat of this registration has this email.")

    def _stale_holder(self, registration: Registration, email_key: str) -> str | None:
        """The registration a leftover guard of the new address names, if that one holds no seat for it; a holder of
        a paid seat for that address is a 409."""
        holder_id = self._repository.holder_of(registration.event_id, email_key)
        if holder_id is None:
            return None
        holder = self._repository.registration(holder_id)
        if holder is not None and holder.holds_paid_seat(email_key):  # held, and that seat neither refunded nor due
            seat = next(s for s in holder.active_seats if s.email_key == email_key)
            person = self._repository.attendee(seat.attendee_id)
            if person is None or person.status is AttendeeStatus.ACTIVE:
                raise AlreadyRegistered("This email already holds a paid seat for this event.")
        return holder_id

    @staticmethod
    def _entry(actor: str, attendee_id: str, changed: list[str], at: datetime) -> HistoryEntry:
        # The fields' names only: the values are the registration's own, and the old ones are personal data.
        return HistoryEntry(
            at=at, actor=actor, action=HistoryAction.ATTENDEE_CORRECTED, attendee_id=attendee_id,
            changed=",".join(changed) or "-",
        )  # fmt: skip


def _cursor(event_id: str, status: EmailStatus, key: dict[str, Any]) -> str:
    text = json.dumps({"event": event_id, "status": status.value, "key": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str, event_id: str, status: EmailStatus) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if value["event"] != event_id or value["status"] != status.value or not isinstance(value["key"], dict):
            raise ValueError("another listing's cursor")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidRequest([FieldError("cursor", "Use the next_cursor of a previous page of this list.")]) from exc
    return dict(value["key"])


def with_email_status(page: RegistrationPage, attendees: Mapping[str, Attendee]) -> RegistrationPage:
    """The page as GET /admin/registrations answers it: each attendee with what SES last said of their address
    (`ok` for a seat not paid yet, which has no attendee and was sent nothing)."""
    items = []
    for item in page.items:
        listed = []
        for person in item.attendees:
            found = attendees.get(person.attendee_id)
            if found is not None:
                mail = {"email_status": found.email_status, "email_status_reason": found.email_status_reason}
                person = person.model_copy(update=mail)
            listed.append(person)
        items.append(item.model_copy(update={"attendees": listed}))
    return page.model_copy(update={"items": items})
