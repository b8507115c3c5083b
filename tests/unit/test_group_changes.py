"""One seat's changes (shared/admin/group_changes.py) and a registration's detail (shared/admin/detail.py) with an
in-memory repository: what is refused before anything is written, what each change writes, races read again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.admin.detail import RegistrationDetails
from shared.admin.group_changes import GroupChangeService, Resend, Substitution, conference_start
from shared.clock import FixedClock
from shared.errors import (
    AlreadyRegistered,
    ConferenceStarted,
    InvalidTransition,
    NotAGroupSeat,
    NotFound,
    NotRefundable,
    TemporarilyUnavailable,
)
from shared.payments.models import HistoryAction, HistoryEntry
from shared.reactions.models import Attendee, AttendeeStatus, EmailKind, EmailStatus, OutboxEmail
from shared.registration.models import Attendee as Person
from shared.registration.models import Billing, Registration, SeatStatus
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus
from tests.support.fakes_events import catalog_of
from tests.support.fakes_reactions import CONFERENCE, group, individual

NOW = datetime(2020, 7, 22, 14, tzinfo=UTC)
BEFORE_START = conference_start(CONFERENCE) - timedelta(minutes=1)
NEW = Person(first_name="Ben", last_name="Okafor", email="Ben.Okafor@example.org", organization="Springfield PD")


class InMemoryGroupChanges:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.attendees: dict[str, Attendee] = {}
        self.guards: dict[tuple[str, str], str] = {}
        self.outbox: list[OutboxEmail] = []
        self.resent: list[Resend] = []
        self.substituted: list[Substitution] = []
        self.races = 0

    def add(self, registration: Registration, status: AttendeeStatus = AttendeeStatus.ACTIVE) -> Registration:
        self.registrations[registration.registration_id] = registration
        for seat in registration.seats:
            self.attendees[seat.attendee_id] = Attendee.of_seat(registration, seat).model_copy(
                update={"status": status}
            )
            self.guards[(registration.event_id, seat.email_key)] = registration.registration_id
        return registration

    def registration(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self.attendees.get(attendee_id)

    def attendees_of(self, attendee_ids: Iterable[str]) -> dict[str, Attendee]:
        return {a: self.attendees[a] for a in attendee_ids if a in self.attendees}

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        return self.guards.get((event_id, email_key))

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return [e for e in self.outbox if e.registration_id == registration_id]

    def _race(self) -> None:
        if self.races:
            self.races -= 1
            raise StaleWrite("changed meanwhile")

    def resend(self, resend: Resend) -> None:
        self._race()
        self.resent.append(resend)
        self.outbox.append(resend.email)

    def substitute(self, substitution: Substitution) -> None:
        self._race()
        self.substituted.append(substitution)


class DetailView:
    """The detail's port over the same records: the registration, and its attendees read together."""

    def __init__(self, table: InMemoryGroupChanges) -> None:
        self._table = table

    def registration(self, registration_id: str) -> Registration | None:
        return self._table.registration(registration_id)

    def attendees(self, attendee_ids: Iterable[str]) -> dict[str, Attendee]:
        return self._table.attendees_of(attendee_ids)


@pytest.fixture
def repository() -> InMemoryGroupChanges:
    return InMemoryGroupChanges()


def service_at(repository: InMemoryGroupChanges, conference_now: datetime = BEFORE_START) -> GroupChangeService:
    ids = iter(f"att_new{n}" for n in range(1, 10))
    return GroupChangeService(
        events=catalog_of(CONFERENCE),
        repository=repository,
        wall_clock=FixedClock(NOW),
        conference_clock=FixedClock(conference_now),
        new_attendee_id=lambda: next(ids),
    )


@pytest.fixture
def service(repository) -> GroupChangeService:
    return service_at(repository)


class TestResendToOneAttendee:
    def test_one_access_code_email_for_that_attendee_numbered_after_every_earlier_round(
        self, service, repository
    ) -> None:
        registration = repository.add(group(3))
        first, second = registration.seats[0], registration.seats[1]
        repository.outbox.append(
            OutboxEmail(
                registration_id=registration.registration_id,
                kind=EmailKind.ACCESS_CODE,
                attendee_id=second.attendee_id,
                resend=2,
            )
        )
        answer = service.resend_to_attendee(first.attendee_id, actor="s@example.org")
        (resend,) = repository.resent
        # an organiser's resend (not a request): its code replaces this attendee's earlier ones, nobody else's
        assert (resend.email.kind, resend.email.attendee_id, resend.email.resend, resend.email.request) == (
            EmailKind.ACCESS_CODE,
            first.attendee_id,
            3,
            None,
        )
        assert (resend.entry.action, resend.entry.actor, resend.entry.attendee_id, resend.entry.resend) == (
            "attendee.code_resent",
            "s@example.org",
            first.attendee_id,
            3,
        )
        assert resend.registration == registration
        assert answer.attendee_id == first.attendee_id

    @pytest.mark.parametrize(
        ("status", "seat_status", "access"),
        [
            (RegistrationStatus.REFUNDED, SeatStatus.REFUNDED, AttendeeStatus.REVOKED),
            (RegistrationStatus.PAID, SeatStatus.REFUNDED, AttendeeStatus.ACTIVE),
            (RegistrationStatus.PAID, SeatStatus.ACTIVE, AttendeeStatus.REVOKED),
            (RegistrationStatus.CANCELLED, SeatStatus.ACTIVE, AttendeeStatus.REVOKED),
        ],
    )
    def test_a_seat_not_held_is_refused_and_nothing_is_written(
        self, service, repository, status, seat_status, access
    ) -> None:
        registration = group(2, status)
        registration = registration.model_copy(
            update={"seats": registration.with_seats({registration.seats[0].attendee_id: seat_status})}
        )
        repository.add(registration, access)
        with pytest.raises(NotRefundable):
            service.resend_to_attendee(registration.seats[0].attendee_id, actor="s@example.org")
        assert repository.resent == []

    def test_an_unknown_attendee_is_not_found(self, service) -> None:
        with pytest.raises(NotFound):
            service.resend_to_attendee("att_nobody", actor="s@example.org")

    def test_a_race_is_numbered_again_and_a_lasting_one_is_a_503(self, service, repository) -> None:
        seat = repository.add(group(2)).seats[0]
        repository.races = 1
        service.resend_to_attendee(seat.attendee_id, actor="s@example.org")
        assert len(repository.resent) == 1
        repository.races = 3
        with pytest.raises(TemporarilyUnavailable):
            service.resend_to_attendee(seat.attendee_id, actor="s@example.org")
        assert len(repository.resent) == 1


class TestSubstitution:
    def test_a_new_person_takes_the_seat_with_a_new_attendee_and_a_confirmation(self, service, repository) -> None:
        registration = repository.add(group(3))
        old = registration.seats[1]
        answer = service.substitute(old.attendee_id, NEW, actor="s@example.org")
        (written,) = repository.substituted
        assert written.seat_index == 1 and written.registration == registration
        assert written.replaced == repository.attendees[old.attendee_id]
        assert (written.seat.attendee_id, written.seat.email, written.seat.status) == (
            "att_new1",
            "Ben.Okafor@example.org",
            SeatStatus.ACTIVE,
        )
        assert (written.attendee.attendee_id, written.attendee.registration_id, written.attendee.kind) == (
            "att_new1",
            registration.registration_id,
            "group",
        )
        assert written.attendee.access_code_hash is None  # the confirmation brings its code
        assert written.take_guard_from is None
        assert written.confirmation.key == "confirmation#att_new1"
        assert (written.entry.action, written.entry.actor) == ("attendee.substituted", "s@example.org")
        assert (written.entry.from_attendee_id, written.entry.to_attendee_id) == (old.attendee_id, "att_new1")
        assert (answer.attendee_id, answer.replaced_attendee_id, answer.confirmation_queued) == (
            "att_new1",
            old.attendee_id,
            True,
        )

    def test_an_invoiced_group_s_seat_may_pass_too(self, service, repository) -> None:
        seat = repository.add(group(2, RegistrationStatus.INVOICED)).seats[0]
        service.substitute(seat.attendee_id, NEW, actor="s@example.org")
        assert len(repository.substituted) == 1

    def test_an_individual_seat_is_refused(self, service, repository) -> None:
        seat = repository.add(individual()).seats[0]
        with pytest.raises(NotAGroupSeat):
            service.substitute(seat.attendee_id, NEW, actor="s@example.org")
        assert repository.substituted == []

    def test_from_the_conference_s_first_session_on_it_is_refused(self, repository) -> None:
        seat = repository.add(group(2)).seats[0]
        assert conference_start(CONFERENCE) == CONFERENCE.sessions[0].starts_at
        for late in (conference_start(CONFERENCE), conference_start(CONFERENCE) + timedelta(days=2)):
            with pytest.raises(ConferenceStarted):
                service_at(repository, late).substitute(seat.attendee_id, NEW, actor="s@example.org")
        assert repository.substituted == []

    @pytest.mark.parametrize(
        ("status", "seat_status", "access"),
        [
            (RegistrationStatus.REFUNDED, SeatStatus.REFUNDED, AttendeeStatus.REVOKED),
            (RegistrationStatus.DISPUTED, SeatStatus.ACTIVE, AttendeeStatus.ACTIVE),
            (RegistrationStatus.PAID, SeatStatus.REFUNDED, AttendeeStatus.ACTIVE),
            (RegistrationStatus.PAID, SeatStatus.REFUND_DUE, AttendeeStatus.ACTIVE),
            (RegistrationStatus.PAID, SeatStatus.ACTIVE, AttendeeStatus.REVOKED),
            (RegistrationStatus.CANCELLED, SeatStatus.ACTIVE, AttendeeStatus.REVOKED),
        ],
    )
    def test_a_seat_not_paid_and_active_is_an_invalid_transition(
        self, service, repository, status, seat_status, access
    ) -> None:
        registration = group(2, status)
        registration = registration.model_copy(
            update={"seats": registration.with_seats({registration.seats[0].attendee_id: seat_status})}
        )
        repository.add(registration, access)
        with pytest.raises(InvalidTransition):
            service.substitute(registration.seats[0].attendee_id, NEW, actor="s@example.org")
        assert repository.substituted == []

    def test_an_email_holding_a_paid_seat_or_another_seat_of_the_group_is_refused(self, service, repository) -> None:
        registration = repository.add(group(2))
        elsewhere = repository.add(individual(email="ben.okafor@example.org"))
        with pytest.raises(AlreadyRegistered):
            service.substitute(registration.seats[0].attendee_id, NEW, actor="s@example.org")
        same_group = NEW.model_copy(update={"email": registration.seats[1].email.upper()})
        with pytest.raises(AlreadyRegistered):
            service.substitute(registration.seats[0].attendee_id, same_group, actor="s@example.org")
        assert repository.substituted == [] and elsewhere.status is RegistrationStatus.PAID

    @pytest.mark.parametrize("status", [RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.REFUNDED])
    def test_a_guard_left_by_a_registration_holding_no_seat_for_the_email_is_taken(
        self, service, repository, status
    ) -> None:
        registration = repository.add(group(2))
        stale = repository.add(individual(status, email="ben.okafor@example.org"))
        service.substitute(registration.seats[0].attendee_id, NEW, actor="s@example.org")
        (written,) = repository.substituted
        assert written.take_guard_from == stale.registration_id

    def test_a_race_is_read_again_and_a_lasting_one_is_a_503(self, service, repository) -> None:
        seat = repository.add(group(2)).seats[0]
        repository.races = 2
        service.substitute(seat.attendee_id, NEW, actor="s@example.org")
        assert len(repository.substituted) == 1
        repository.races = 3
        with pytest.raises(TemporarilyUnavailable):
            service.substitute(seat.attendee_id, NEW, actor="s@example.org")

    def test_an_unknown_attendee_is_not_found(self, service) -> None:
        with pytest.raises(NotFound):
            service.substitute("att_nobody", NEW, actor="s@example.org")

    @pytest.mark.parametrize(
        "body",
        [
            {"first_name": "Ben", "last_name": "Okafor", "email": "ben@example.org"},  # no organization
            {"first_name": "Ben", "last_name": "Okafor", "email": "not an address", "organization": "PD"},
            {"first_name": "", "last_name": "Okafor", "email": "ben@example.org", "organization": "PD"},
            {"first_name": "Ben", "last_name": "Okafor", "email": "ben@example.org", "organization": "PD", "x": 1},
        ],
    )
    def test_a_bad_body_is_refused(self, body) -> None:
        with pytest.raises(ValidationError):
            Person.model_validate(body)


class TestRegistrationDetail:
    def test_seats_payment_former_people_and_history_oldest_first(self) -> None:
        table = InMemoryGroupChanges()
        registration = group(2).model_copy(
            update={
                "billing": Billing(billing_email="ap@agency.gov", billing_name="Springfield AP", po_number="PO-1"),
                "history": [
                    HistoryEntry(
                        at=NOW,
                        actor="s@example.org",
                        action=HistoryAction.ATTENDEE_SUBSTITUTED,
                        from_attendee_id="att_former",
                        to_attendee_id="x",
                    ),
                    HistoryEntry(
                        at=NOW - timedelta(days=1),
                        actor="stripe",
                        action=HistoryAction.STATUS_CHANGED,
                        from_status=RegistrationStatus.INVOICED,
                        to_status=RegistrationStatus.PAID,
                    ),
                ],
            }
        )
        table.add(registration)
        first = registration.seats[0].attendee_id
        table.attendees[first] = table.attendees[first].model_copy(
            update={"email_status": EmailStatus.BOUNCED, "email_status_reason": "550"}
        )
        del table.attendees[registration.seats[1].attendee_id]  # not paid yet: no attendee
        table.attendees["att_former"] = Attendee.of_seat(registration, registration.seats[0]).model_copy(
            update={"attendee_id": "att_former", "first_name": "Old", "status": AttendeeStatus.REVOKED}
        )
        detail = RegistrationDetails(repository=DetailView(table)).detail(registration.registration_id)
        assert [(s.attendee_id, s.status, s.access, s.email_status) for s in detail.seats] == [
            (first, SeatStatus.ACTIVE, AttendeeStatus.ACTIVE, EmailStatus.BOUNCED),
            (registration.seats[1].attendee_id, SeatStatus.ACTIVE, None, EmailStatus.OK),
        ]
        assert [(f.attendee_id, f.first_name) for f in detail.former_attendees] == [("att_former", "Old")]
        assert detail.payment.method == "invoice"
        assert detail.payment.invoice is not None and detail.payment.invoice.po_number == "PO-1"
        assert [(h["action"], h["actor"]) for h in detail.history] == [
            ("registration.created", "system"),
            ("registration.status_changed", "stripe"),
            ("attendee.substituted", "s@example.org"),
        ]
        assert detail.history[2]["from_attendee_id"] == "att_former" and detail.history[1]["description"]

    def test_a_checkout_registration_has_no_invoice_and_an_unknown_id_is_not_found(self) -> None:
        table = InMemoryGroupChanges()
        registration = table.add(individual())
        detail = RegistrationDetails(repository=DetailView(table)).detail(registration.registration_id)
        assert (detail.payment.method, detail.payment.invoice, detail.former_attendees) == ("checkout", None, [])
        with pytest.raises(NotFound):
            RegistrationDetails(repository=DetailView(table)).detail("reg_nobody")
