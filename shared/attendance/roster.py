"""The attendance roster (GET /admin/exports/attendance.csv): one row per attendee of a paid, disputed or refunded
seat, with what a training unit asks of its officers' attendance (organization, licence id, minutes per session and
where they came from, eligibility, the certificate and whether it is valid), for the whole event or one registration
(`?registration_id=`: a purchaser's officers, for the agency that sent them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from shared.attendance.facts import AttendanceReader, attendance_facts
from shared.attendance.policy import evaluate
from shared.certificates.models import Certificate
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.errors import FieldError, InvalidRequest, NotFound
from shared.ids import is_id
from shared.reactions.models import Attendee
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus

ROSTER_STATUSES = (RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.REFUNDED)


class RosterRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def current_certificate(self, attendee_id: str) -> str | None: ...

    def certificate(self, certificate_id: str) -> Certificate | None: ...


class AttendanceRoster:
    def __init__(self, *, events: Conferences, repository: RosterRepository, attendance: AttendanceReader) -> None:
        self._events = events
        self._repository = repository
        self._attendance = attendance

    def header(self, event_id: str) -> tuple[str, ...]:
        return (
            "attendee_id", "registration_id", "first_name", "last_name", "email", "organization", "license_id",
            *(f"minutes:{s.id}" for s in self._events.conference(event_id).sessions),
            "minutes_total", "minutes_from_page", "minutes_from_platform", "days_logged_in", "eligible", "hours",
            "shared_login_signals", "certificate_id", "certificate_status",
        )  # fmt: skip

    def registrations(self, event_id: str, registration_id: str | None) -> Iterable[Registration]:
        """The event's registrations with attendees, read as they are used (an export of any size holds a page),
        or the one asked for (404 if it is not the event's)."""
        self._events.conference(event_id)  # NotFound for an unknown event
        if registration_id is None:
            return (
                r for status in ROSTER_STATUSES for r in self._repository.registrations_with_status(event_id, status)
            )
        if not is_id(registration_id, "reg"):
            raise InvalidRequest([FieldError("registration_id", "Use a registration id (reg_...).")])
        registration = self._repository.registration(registration_id)
        if registration is None or registration.event_id != event_id:
            raise NotFound("This event has no registration with this id.")
        return [registration] if registration.status in ROSTER_STATUSES else []

    def rows(self, event_id: str, registrations: Iterable[Registration]) -> Iterator[tuple[object, ...]]:
        conference = self._events.conference(event_id)
        for registration in registrations:
            for seat in registration.seats:
                attendee = self._repository.attendee(seat.attendee_id)
                if attendee is not None:  # a seat the stream has not made an attendee of yet has no attendance
                    yield self._row(conference, registration, attendee)

    def _row(self, conference: Conference, registration: Registration, attendee: Attendee) -> tuple[object, ...]:
        facts = attendance_facts(self._attendance, attendee, registration.status)
        result = evaluate(conference, facts)

        def capped(by_session: dict[str, int]) -> list[int]:
            return [min(by_session.get(s.id, 0), s.scheduled_minutes) for s in conference.sessions]

        page = facts.minutes_by_session if facts.page_minutes_by_session is None else facts.page_minutes_by_session
        certificate_id = self._repository.current_certificate(attendee.attendee_id)
        certificate = self._repository.certificate(certificate_id) if certificate_id else None
        return (
            attendee.attendee_id, registration.registration_id, attendee.first_name, attendee.last_name,
            attendee.email, attendee.organization, attendee.license_id or "", *capped(facts.minutes_by_session),
            result.minutes_attended, sum(capped(page)), sum(capped(facts.platform_minutes_by_session)),
            facts.days_logged_in, "yes" if result.eligible else "no", result.hours, facts.shared_login_signals,
            certificate.certificate_id if certificate else "", certificate.status.value if certificate else "",
        )  # fmt: skip
