"""An organiser's correction of an attendee (shared/admin/corrections.py) with an in-memory repository: what is
refused before anything is written, what one correction writes, and a race read again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.admin.corrections import AttendeeCorrection, Correction, CorrectionService
from shared.clock import FixedClock
from shared.errors import AlreadyRegistered, InvalidRequest, NotFound, NotRefundable, TemporarilyUnavailable
from shared.reactions.models import Attendee, AttendeeStatus, EmailKind, EmailStatus, OutboxEmail
from shared.registration.models import Registration, SeatStatus
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus
from tests.support.fakes_reactions import group, individual

NOW = datetime(2020, 7, 22, 14, tzinfo=UTC)


class InMemoryCorrections:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.attendees: dict[str, Attendee] = {}
        self.guards: dict[tuple[str, str], str] = {}
        self.outbox: list[OutboxEmail] = []
        self.written: list[Correction] = []
        self.races = 0

    def add(self, registration: Registration, status: AttendeeStatus = AttendeeStatus.ACTIVE) -> Registration:
        self.registrations[registration.registration_id] = registration
        for seat in registration.seats:
            attendee = Attendee.of_seat(registration, seat).model_copy(update={"status": status})
            self.attendees[seat.attendee_id] = attendee
            self.guards[(registration.event_id, seat.email_key)] = registration.registration_id
        return registration

    def registration(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self.attendees.get(attendee_id)

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        return self.guards.get((event_id, email_key))

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return [e for e in self.outbox if e.registration_id == registration_id]

    def mail_problems(
        self, event_id: str, status: EmailStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Attendee], dict[str, Any] | None]:
        found = [a for a in self.attendees.values() if a.event_id == event_id and a.email_status is status]
        offset = int(start["offset"]) if start else 0
        page = found[offset : offset + limit]
        return page, ({"offset": offset + limit} if offset + limit < len(found) else None)

    def correct(self, correction: Correction) -> None:
        if self.races:
            self.races -= 1
            raise StaleWrite("changed meanwhile")
        self.written.append(correction)


@pytest.fixture
def repository() -> InMemoryCorrections:
    return InMemoryCorrections()


@pytest.fixture
def service(repository) -> CorrectionService:
    return CorrectionService(repository=repository, wall_clock=FixedClock(NOW))


def test_a_new_address_moves_the_guard_and_queues_the_next_confirmation_round(service, repository) -> None:
    registration = repository.add(individual())
    seat = registration.seats[0]
    repository.outbox.append(
        OutboxEmail(registration_id=registration.registration_id, kind=EmailKind.ACCESS_CODE, attendee_id="x", resend=2)
    )
    answer = service.correct(seat.attendee_id, AttendeeCorrection(email="Ana.Fixed@example.org"), actor="s@example.org")
    (written,) = repository.written
    assert (written.email, written.new_guard, written.take_guard_from) == (
        "Ana.Fixed@example.org",
        "ana.fixed@example.org",
        None,
    )
    assert written.confirmation is not None and written.confirmation.resend == 3
    assert written.confirmation.key == f"confirmation#{seat.attendee_id}#resend3"
    assert (written.entry.action, written.entry.actor, written.entry.changed) == (
        "attendee.corrected",
        "s@example.org",
        "email",
    )
    assert answer.confirmation_queued and answer.email_status is EmailStatus.OK


def test_names_alone_are_written_without_a_guard_or_a_mail(service, repository) -> None:
    seat = repository.add(individual()).seats[0]
    answer = service.correct(seat.attendee_id, AttendeeCorrection(last_name="López"), actor="s@example.org")
    (written,) = repository.written
    assert (written.new_guard, written.confirmation, written.last_name, written.first_name) == (
        None,
        None,
        "López",
        seat.first_name,
    )
    assert written.entry.changed == "last_name" and not answer.confirmation_queued


def test_the_same_address_in_another_case_changes_only_its_spelling(service, repository) -> None:
    seat = repository.add(individual()).seats[0]
    correction = AttendeeCorrection(email=seat.email.upper())
    service.correct(seat.attendee_id, correction, actor="s@example.org")
    (written,) = repository.written
    assert written.email == correction.email != seat.email
    assert written.new_guard is None and written.confirmation is None


def test_an_address_that_holds_a_paid_seat_is_refused_one_left_by_an_unpaid_registration_is_taken(
    service, repository
) -> None:
    seat = repository.add(individual()).seats[0]
    other = repository.add(individual())
    with pytest.raises(AlreadyRegistered):
        service.correct(seat.attendee_id, AttendeeCorrection(email=other.seats[0].email), actor="s@example.org")
    expired = repository.add(individual(status=RegistrationStatus.EXPIRED))
    service.correct(seat.attendee_id, AttendeeCorrection(email=expired.seats[0].email), actor="s@example.org")
    (written,) = repository.written
    assert written.take_guard_from == expired.registration_id


def test_another_seat_of_the_same_group_is_refused(service, repository) -> None:
    team = repository.add(group(2))
    with pytest.raises(AlreadyRegistered, match="Another seat"):
        service.correct(team.seats[0].attendee_id, AttendeeCorrection(email=team.seats[1].email), actor="s")
    assert repository.written == []


def test_a_seat_no_longer_held_keeps_its_address(service, repository) -> None:
    seat = repository.add(individual(), status=AttendeeStatus.REVOKED).seats[0]
    with pytest.raises(NotRefundable):
        service.correct(seat.attendee_id, AttendeeCorrection(email="new@example.org"), actor="s")
    with pytest.raises(NotFound):
        service.correct("att_unknown", AttendeeCorrection(first_name="Ana"), actor="s")
    assert repository.written == []


def test_an_invoiced_seat_is_corrected_and_an_address_holding_an_invoiced_seat_is_refused(service, repository) -> None:
    # An approved invoice holds the seats and sent the confirmations: its seats are held like paid ones.
    invoiced = repository.add(group(2, status=RegistrationStatus.INVOICED))
    seat = repository.add(individual()).seats[0]
    with pytest.raises(AlreadyRegistered):
        service.correct(seat.attendee_id, AttendeeCorrection(email=invoiced.seats[0].email), actor="s")
    service.correct(invoiced.seats[0].attendee_id, AttendeeCorrection(email="fixed@example.org"), actor="s")
    (written,) = repository.written
    assert written.new_guard == "fixed@example.org" and written.confirmation is not None


def test_a_seat_refunded_alone_keeps_its_address_and_its_address_may_be_taken(service, repository) -> None:
    # Its own refund marks the seat before the stream revokes its attendee: the seat no longer counts.
    team = group(2)
    refunded = team.seats[0]
    team = repository.add(
        team.model_copy(update={"seats": team.with_seats({refunded.attendee_id: SeatStatus.REFUNDED})})
    )
    with pytest.raises(NotRefundable):
        service.correct(refunded.attendee_id, AttendeeCorrection(email="new@example.org"), actor="s")
    seat = repository.add(individual()).seats[0]
    service.correct(seat.attendee_id, AttendeeCorrection(email=refunded.email), actor="s")
    (written,) = repository.written
    assert written.take_guard_from == team.registration_id


def test_a_race_is_read_again_and_a_lasting_one_is_a_503(service, repository) -> None:
    seat = repository.add(individual()).seats[0]
    repository.races = 1
    service.correct(seat.attendee_id, AttendeeCorrection(first_name="Anaïs"), actor="s")
    assert len(repository.written) == 1
    repository.races = 5
    with pytest.raises(TemporarilyUnavailable):
        service.correct(seat.attendee_id, AttendeeCorrection(first_name="Anaïs"), actor="s")


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"first_name": ""}, {"phone": "1"}])
def test_a_body_with_nothing_to_correct_or_bad_fields_is_refused(body) -> None:
    with pytest.raises(ValidationError):
        AttendeeCorrection.model_validate(body)


def test_the_mail_problems_list_pages_by_status_and_refuses_what_is_not_a_problem(service, repository) -> None:
    for _ in range(51):
        seat = repository.add(individual()).seats[0]
        attendee = repository.attendees[seat.attendee_id]
        repository.attendees[seat.attendee_id] = attendee.model_copy(update={"email_status": EmailStatus.BOUNCED})
    first = service.mail_problems("nasro-2020", None, None)  # bounced by default
    assert len(first.items) == 50 and first.next_cursor is not None
    rest = service.mail_problems("nasro-2020", "bounced", first.next_cursor)
    assert len(rest.items) == 1 and rest.next_cursor is None
    assert service.mail_problems("nasro-2020", "complained", None).items == []
    for status, cursor in (("ok", None), ("lost", None), ("complained", first.next_cursor), ("bounced", "x!")):
        with pytest.raises(InvalidRequest):
            service.mail_problems("nasro-2020", status, cursor)
    with pytest.raises(InvalidRequest):
        service.mail_problems("other-2020", "bounced", first.next_cursor)  # another event's cursor
