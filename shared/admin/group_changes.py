"""An agency's changes to one seat, by a `support` organiser: one attendee's code sent again (POST
/admin/attendees/{id}/resend-confirmation) and another person on a paid group seat (POST
/admin/attendees/{id}/substitute). Everything is decided here; the adapter writes each change in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Protocol

from shared.clock import Clock
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.errors import (
    AlreadyRegistered,
    ConferenceStarted,
    InvalidTransition,
    NotAGroupSeat,
    NotFound,
    NotRefundable,
    TemporarilyUnavailable,
)
from shared.ids import new_id
from shared.models import Model
from shared.payments.models import HistoryAction, HistoryEntry
from shared.reactions.models import Attendee, AttendeeStatus, EmailKind, OutboxEmail
from shared.registration.models import SEAT_HOLDING_STATUSES, Registration, Seat, SeatStatus, normalize_email
from shared.registration.models import Attendee as Person
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

# Confirmations and access-code emails are numbered by resend round across the registration's seats.
_NUMBERED = frozenset({EmailKind.CONFIRMATION, EmailKind.ACCESS_CODE})
# A seat is substituted while it is held and settled or being invoiced; a disputed one waits for the dispute.
SUBSTITUTABLE = frozenset({RegistrationStatus.PAID, RegistrationStatus.INVOICED})
WRITE_ATTEMPTS = 3


class ResentToAttendee(Model):
    attendee_id: str
    registration_id: str
    detail: str


class SubstitutedAttendee(Model):
    """The answer to a substitution: the seat's new person, and whom they replaced."""

    attendee_id: str
    replaced_attendee_id: str
    registration_id: str
    first_name: str
    last_name: str
    email: str
    organization: str
    job_title: str | None
    confirmation_queued: bool


@dataclass(frozen=True)
class Resend:
    registration: Registration  # as read: the write is conditional on its version
    email: OutboxEmail
    entry: HistoryEntry


@dataclass(frozen=True)
class Substitution:
    """Everything one substitution writes, for the adapter's single transaction."""

    registration: Registration  # as read: conditional on its version and on the seat's attendee
    seat_index: int
    replaced: Attendee  # as read: revoked (codes and session gone), conditional on being active
    seat: Seat  # the new person's seat, in the same place
    attendee: Attendee  # the new person's attendee item, made now (a confirmation gives it a code)
    take_guard_from: str | None  # the registration a stale guard of the new address names (holding no seat for it)
    confirmation: OutboxEmail
    entry: HistoryEntry


class GroupChangeRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        """The registration the email guard of this address names in this event, if any."""

    def emails(self, registration_id: str) -> list[OutboxEmail]: ...

    def resend(self, resend: Resend) -> None:
        """The outbox entry and the history entry together; StaleWrite when the registration changed meanwhile."""

    def substitute(self, substitution: Substitution) -> None:
        """Write it all or nothing; StaleWrite when anything read changed meanwhile."""


def conference_start(conference: Conference) -> datetime:
    """When the conference starts: its first session, or the first day's midnight in its zone without an agenda."""
    first_day = datetime.combine(conference.starts_on, time(0), conference.zone)
    return min((session.starts_at for session in conference.sessions), default=first_day)


class GroupChangeService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: GroupChangeRepository,
        wall_clock: Clock,
        conference_clock: Clock,
        new_attendee_id: Callable[[], str] = lambda: new_id("att"),
    ) -> None:
        self._events = events
        self._repository = repository
        self._wall_clock = wall_clock
        self._conference_clock = conference_clock
        self._new_attendee_id = new_attendee_id

    def resend_to_attendee(self, attendee_id: str, *, actor: str) -> ResentToAttendee:
        """An access-code email to this attendee alone: its new code replaces this attendee's earlier ones when it
        goes out (as the registration-wide resend does for each seat); the other seats' codes are untouched."""
        for _ in range(WRITE_ATTEMPTS):
            registration, index, attendee = self._seat_of(attendee_id)
            seat = registration.seats[index]
            if registration.status not in SEAT_HOLDING_STATUSES or seat.status is not SeatStatus.ACTIVE:
                raise NotRefundable(f"This seat is not held (registration {registration.status}, seat {seat.status}).")
            if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
                raise NotRefundable("This seat's attendee has no access to resend.")
            round_ = self._next_round(registration.registration_id)
            email = OutboxEmail(
                registration_id=registration.registration_id,
                kind=EmailKind.ACCESS_CODE,
                attendee_id=attendee_id,
                resend=round_,
            )
            entry = HistoryEntry(
                at=self._wall_clock.now(),
                actor=actor,
                action=HistoryAction.ATTENDEE_CODE_RESENT,
                attendee_id=attendee_id,
                resend=round_,
            )
            try:
                self._repository.resend(Resend(registration=registration, email=email, entry=entry))
            except StaleWrite:
                continue  # another change (a resend, a payment) came between: number the round again
            return ResentToAttendee(
                attendee_id=attendee_id,
                registration_id=registration.registration_id,
                detail="An access code email is queued; its new code replaces this attendee's earlier ones.",
            )
        raise TemporarilyUnavailable("The registration kept changing; please try again.")

    def substitute(self, attendee_id: str, person: Person, *, actor: str) -> SubstitutedAttendee:
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._substitute(attendee_id, person, actor=actor)
            except StaleWrite:
                continue  # something read changed meanwhile (a payment, a refund, another change): read again
        raise TemporarilyUnavailable("The seat kept changing while being substituted; please try again.")

    def _substitute(self, attendee_id: str, person: Person, *, actor: str) -> SubstitutedAttendee:
        registration, index, replaced = self._seat_of(attendee_id)
        seat = registration.seats[index]
        if registration.kind != "group":
            raise NotAGroupSeat("Only a group's seat can pass to another person; correct an individual's details.")
        conference = self._events.conference(registration.event_id)
        if self._conference_clock.now() >= conference_start(conference):
            raise ConferenceStarted("The conference has started: its seats no longer pass to other people.")
        held = replaced is not None and replaced.status is AttendeeStatus.ACTIVE
        if registration.status not in SUBSTITUTABLE or seat.status is not SeatStatus.ACTIVE or not held:
            raise InvalidTransition(
                f"Only a paid, active seat passes to another person (registration {registration.status}, "
                f"seat {seat.status})."
            )
        assert replaced is not None
        email_key = normalize_email(person.email)
        if any(s.email_key == email_key for s in registration.seats):
            raise AlreadyRegistered("A seat of this registration has this email already.")
        take_from = self._stale_holder(registration.event_id, email_key)
        new_seat = Seat(attendee_id=self._new_attendee_id(), **person.model_dump())
        now = self._wall_clock.now()
        substitution = Substitution(
            registration=registration,
            seat_index=index,
            replaced=replaced,
            seat=new_seat,
            attendee=Attendee.of_seat(registration, new_seat),
            take_guard_from=take_from,
            # The new person's first confirmation (its key is the one a later payment's reaction would make).
            confirmation=OutboxEmail(
                registration_id=registration.registration_id,
                kind=EmailKind.CONFIRMATION,
                attendee_id=new_seat.attendee_id,
            ),
            entry=HistoryEntry(
                at=now,
                actor=actor,
                action=HistoryAction.ATTENDEE_SUBSTITUTED,
                from_attendee_id=attendee_id,
                to_attendee_id=new_seat.attendee_id,
            ),
        )
        self._repository.substitute(substitution)
        return SubstitutedAttendee(
            attendee_id=new_seat.attendee_id,
            replaced_attendee_id=attendee_id,
            registration_id=registration.registration_id,
            first_name=new_seat.first_name,
            last_name=new_seat.last_name,
            email=new_seat.email,
            organization=new_seat.organization,
            job_title=new_seat.job_title,
            confirmation_queued=True,
        )

    def _seat_of(self, attendee_id: str) -> tuple[Registration, int, Attendee | None]:
        """The registration holding this attendee's seat, the seat's place, and the attendee item (None until paid)."""
        attendee = self._repository.attendee(attendee_id)
        registration = self._repository.registration(attendee.registration_id) if attendee else None
        index = next(
            (i for i, s in enumerate(registration.seats) if s.attendee_id == attendee_id) if registration else iter(()),
            None,
        )
        if registration is None or index is None:
            raise NotFound("No attendee has this id.")
        return registration, index, attendee

    def _next_round(self, registration_id: str) -> int:
        sent = [e for e in self._repository.emails(registration_id) if e.kind in _NUMBERED]
        return max((e.resend for e in sent), default=0) + 1

    def _stale_holder(self, event_id: str, email_key: str) -> str | None:
        """The registration a leftover guard of the new address names, if it holds no seat for it; a holder of a
        paid (or invoiced) seat for that address is a 409."""
        holder_id = self._repository.holder_of(event_id, email_key)
        if holder_id is None:
            return None
        holder = self._repository.registration(holder_id)
        if holder is not None and holder.holds_paid_seat(email_key):
            seat = next(s for s in holder.active_seats if s.email_key == email_key)
            person = self._repository.attendee(seat.attendee_id)
            if person is None or person.status is AttendeeStatus.ACTIVE:
                raise AlreadyRegistered("This email already holds a paid seat for this event.")
        return holder_id
