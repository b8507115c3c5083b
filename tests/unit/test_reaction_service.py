"""The reactions to a registration's changes, with in-memory fakes for the table, SES and the bucket.

What the emails say is tests/unit/test_email_messages.py; which stream record calls for which reaction is
tests/unit/test_reaction_routing.py; the adapters' conditions themselves are pinned against moto in
tests/integration/test_reactions.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.access import REQUESTED_CODES_KEPT, access_code_matches, hash_access_code
from shared.certificates.models import Certificate, CertificateStatus
from shared.clock import FixedClock
from shared.email import Email
from shared.email.render import date_and_time
from shared.errors import TemporarilyUnavailable
from shared.payments.models import HistoryAction, HistoryEntry
from shared.reactions.models import (
    Attendee,
    AttendeeStatus,
    EmailKind,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    ShipmentState,
)
from shared.reactions.ports import MailThrottled
from shared.reactions.routing import Reaction, ReactionKind
from shared.reactions.service import (
    ACCESS_CODE_WINDOW,
    ACCESS_CODES_PER_HOUR,
    CODE_WRITE_ATTEMPTS,
    RECORD_ATTEMPTS,
    SEND_LEASE,
    EmailBusy,
    ReactionService,
)
from shared.registration.models import Registration, SeatStatus, normalize_email
from shared.registration.status import RegistrationStatus
from tests.support.fakes_events import catalog_of
from tests.support.fakes_reactions import (
    CONFERENCE,
    InMemoryCertificateFiles,
    InMemoryCertificates,
    InMemoryTable,
    RecordingMailer,
    group,
    individual,
)

SITE = "https://conference.example.org/"
NOW = datetime(2020, 7, 22, 14, tzinfo=UTC)


@pytest.fixture
def wall() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def table(wall) -> InMemoryTable:
    return InMemoryTable(wall)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def certificates(table) -> InMemoryCertificates:
    return InMemoryCertificates(table)


@pytest.fixture
def files(certificates) -> InMemoryCertificateFiles:
    return InMemoryCertificateFiles(certificates)


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def service(table, mailer, files, wall, pauses) -> ReactionService:
    return ReactionService(
        events=catalog_of(CONFERENCE),
        repository=table,
        mailer=mailer,
        wall_clock=wall,
        site_url=SITE,
        certificates=files,
        pause=pauses.append,
    )


def paid(service: ReactionService, table: InMemoryTable, registration: Registration) -> Registration:
    """The registration as stored, and its `pending_payment -> paid` record processed."""
    table.save(registration)
    service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
    return registration


def refunded(service: ReactionService, table: InMemoryTable, registration: Registration) -> list[str]:
    table.save(registration.model_copy(update={"status": RegistrationStatus.REFUNDED}))
    return service.react(Reaction(ReactionKind.SEATS_REFUNDED, registration.registration_id)).done


def send(service: ReactionService, registration: Registration, key: str) -> list[str]:
    """The outbox entry's INSERT record processed."""
    return service.react(Reaction(ReactionKind.SEND_EMAIL, registration.registration_id, key)).done


def send_all(service: ReactionService, table: InMemoryTable, registration: Registration) -> None:
    for entry in table.emails(registration.registration_id):
        send(service, registration, entry.key)


def confirmation_key(registration: Registration, position: int = 0) -> str:
    return f"confirmation#{registration.seats[position].attendee_id}"


def code_in(email: Email) -> str:
    (code,) = re.findall(r"^Access code: (\S+)$", email.text, flags=re.MULTILINE)
    return code


class TestPaidSeats:
    def test_a_paid_individual_becomes_an_active_attendee_owed_a_confirmation_and_a_coin(self, service, table) -> None:
        # Given
        registration = table.save(individual(first_name="Ana", last_name="Lopez"))
        (seat,) = registration.seats

        # When
        result = service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))

        # Then one active attendee with no code yet, a confirmation and a receipt owed, the coin at the address
        attendee = table.attendee(seat.attendee_id)
        assert attendee is not None and attendee.status is AttendeeStatus.ACTIVE
        assert (attendee.first_name, attendee.email, attendee.kind) == ("Ana", seat.email, "individual")
        assert attendee.access_code_hash is None
        entry, receipt_entry = table.emails(registration.registration_id)
        assert (entry.kind, entry.attendee_id, entry.status) == (EmailKind.CONFIRMATION, seat.attendee_id, "pending")
        assert (receipt_entry.kind, receipt_entry.attendee_id) == (EmailKind.RECEIPT, None)
        shipment = table.shipment(registration.registration_id)
        assert shipment is not None and shipment.shipment_state is ShipmentState.PENDING
        assert (shipment.name, shipment.line1, shipment.postal_code) == ("Ana Lopez", "1 Main St", "62701")
        assert shipment.created_at == NOW
        assert result.done == ["1 attendee(s)", "2 email(s) queued", "coin on the mailing list"]

    def test_a_paid_group_owes_each_seat_a_confirmation_and_the_purchaser_a_receipt_but_no_coin(
        self, service, table
    ) -> None:
        # When
        registration = paid(service, table, group(size=3))

        # Then
        assert {table.attendee(s.attendee_id).kind for s in registration.seats} == {"group"}
        entries = table.emails(registration.registration_id)
        assert sorted((e.kind, e.attendee_id) for e in entries) == sorted(
            [(EmailKind.CONFIRMATION, s.attendee_id) for s in registration.seats] + [(EmailKind.RECEIPT, None)]
        )
        assert table.shipment(registration.registration_id) is None

    def test_a_registration_refunded_before_its_paid_record_was_processed_gets_no_attendee_or_email(
        self, service, table
    ) -> None:
        # Given the registration is already refunded when the `-> paid` record is processed
        registration = table.save(individual(status=RegistrationStatus.REFUNDED))

        # When
        service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))

        # Then nothing is created
        assert table.attendees == {} and table.outbox == {} and table.shipments == {}

    def test_a_disputed_registration_still_holds_its_seats(self, service, table) -> None:
        # Given paid then disputed before the `-> paid` record was processed
        registration = table.save(individual(status=RegistrationStatus.DISPUTED))

        # When
        service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))

        # Then access is given until the dispute is decided
        assert table.attendee(registration.seats[0].attendee_id) is not None
        assert [e.kind for e in table.emails(registration.registration_id)] == [
            EmailKind.CONFIRMATION,
            EmailKind.RECEIPT,
        ]

    def test_a_record_for_a_registration_gone_from_the_table_does_nothing(self, service, table) -> None:
        result = service.react(Reaction(ReactionKind.SEATS_PAID, "reg_gone"))
        assert result.done == ["registration gone: nothing to do"]
        assert table.attendees == {} and table.outbox == {}

    def test_replaying_the_records_of_a_paid_seat_creates_and_sends_nothing_new(
        self, service, table, mailer, wall
    ) -> None:
        # Given a paid individual whose confirmation went out
        registration = paid(service, table, individual())
        send_all(service, table, registration)
        attendee = table.attendee(registration.seats[0].attendee_id)
        shipment = table.shipment(registration.registration_id)

        # When the stream delivers every record again, later
        wall.advance(timedelta(hours=1))
        paid(service, table, registration)
        done = send(service, registration, confirmation_key(registration))

        # Then the same attendee (same code), the same coin, one confirmation and one receipt
        assert done == ["already settled"]
        assert table.attendee(registration.seats[0].attendee_id) == attendee
        assert table.shipment(registration.registration_id) == shipment
        assert [e.kind for e in mailer.sent] == ["confirmation", "receipt"] and mailer.attempts == 2

    def test_an_opened_dispute_keeps_access_and_sends_nothing(self, service, table, mailer) -> None:
        # Given a paid, confirmed individual
        registration = paid(service, table, individual())
        send_all(service, table, registration)
        before = dict(table.outbox)

        # When a dispute opens
        table.save(registration.model_copy(update={"status": RegistrationStatus.DISPUTED}))
        result = service.react(Reaction(ReactionKind.DISPUTE_OPENED, registration.registration_id))

        # Then
        assert result.done == ["flagged for the organiser; access kept"]
        assert table.attendee(registration.seats[0].attendee_id).status is AttendeeStatus.ACTIVE
        assert table.outbox == before and len(mailer.sent) == 2  # the confirmation and the receipt, before it


class TestSending:
    def test_a_confirmation_carries_a_fresh_code_of_which_only_the_digest_is_stored(
        self, service, table, mailer
    ) -> None:
        # Given
        registration = paid(service, table, individual())
        (seat,) = registration.seats

        # When
        done = send(service, registration, confirmation_key(registration))

        # Then one email to the seat, whose code matches the stored digest; the entry records the send
        assert done == ["sent"]
        (email,) = mailer.sent
        assert email.kind == "confirmation" and email.to.address == seat.email
        attendee = table.attendee(seat.attendee_id)
        assert attendee is not None and attendee.access_code_hash is not None
        assert access_code_matches(code_in(email), attendee.access_code_hash)
        assert attendee.access_code_issued_at == NOW
        assert code_in(email) not in str(attendee.model_dump())
        entry = table.email(registration.registration_id, confirmation_key(registration))
        assert entry is not None
        assert (entry.status, entry.message_id, entry.attempts, entry.lease_until) == ("sent", "msg-1", 1, None)

    def test_a_resent_confirmation_issues_a_new_code_and_the_old_one_stops_working(
        self, service, table, mailer
    ) -> None:
        # Given a confirmation sent
        registration = paid(service, table, individual())
        (seat,) = registration.seats
        send(service, registration, confirmation_key(registration))

        # When the organiser resends it (a new entry, as the admin service queues it)
        resend = OutboxEmail(
            registration_id=registration.registration_id,
            kind=EmailKind.CONFIRMATION,
            attendee_id=seat.attendee_id,
            resend=1,
        )
        table.add_emails([resend])
        send(service, registration, resend.key)

        # Then only the new code works
        first, second = (code_in(email) for email in mailer.sent)
        stored = table.attendee(seat.attendee_id).access_code_hash
        assert first != second
        assert access_code_matches(second, stored) and not access_code_matches(first, stored)

    def test_each_seat_of_a_group_gets_its_own_code_and_the_purchaser_the_receipt(self, service, table, mailer) -> None:
        # Given
        registration = paid(service, table, group(size=3))

        # When
        send_all(service, table, registration)

        # Then
        confirmations = [email for email in mailer.sent if email.kind == "confirmation"]
        assert sorted(e.to.address for e in confirmations) == sorted(s.email for s in registration.seats)
        assert len({code_in(email) for email in confirmations}) == 3
        (receipt,) = [email for email in mailer.sent if email.kind == "receipt"]
        assert receipt.to.address == "chief@example.org"

    @pytest.mark.parametrize("with_history", [True, False], ids=["when it became paid", "when it was created"])
    def test_the_receipt_is_dated_when_the_payment_was_recorded(self, service, table, mailer, with_history) -> None:
        # Given a group paid the day after it registered (or stored before history was kept)
        paid_at = datetime(2020, 7, 21, 16, 30, tzinfo=UTC)
        history = [
            HistoryEntry(
                at=paid_at,
                actor="stripe",
                action=HistoryAction.STATUS_CHANGED,
                from_status=RegistrationStatus.PENDING_PAYMENT,
                to_status=RegistrationStatus.PAID,
            )
        ]
        registration = group(size=1).model_copy(update={"history": history if with_history else []})
        paid(service, table, registration)

        # When
        send(service, registration, "receipt#purchaser")

        # Then
        (receipt,) = mailer.sent
        expected = paid_at if with_history else registration.created_at
        assert f"Paid on: {date_and_time(expected, CONFERENCE.zone)}" in receipt.text

    def test_a_confirmation_for_a_seat_refunded_before_it_went_out_is_skipped_and_gets_no_code(
        self, service, table, mailer
    ) -> None:
        # Given a confirmation queued, then the registration refunded before it was sent
        registration = paid(service, table, individual())
        table.save(registration.model_copy(update={"status": RegistrationStatus.REFUNDED}))

        # When its record is processed
        done = send(service, registration, confirmation_key(registration))

        # Then no email and no code; the entry is settled as skipped, for good
        assert done == ["skipped: registration refunded"]
        assert mailer.attempts == 0
        assert table.attendee(registration.seats[0].attendee_id).access_code_hash is None
        entry = table.email(registration.registration_id, confirmation_key(registration))
        assert entry is not None and entry.status is OutboxStatus.SKIPPED
        assert send(service, registration, confirmation_key(registration)) == ["already settled"]

    def test_an_entry_missing_from_the_table_is_settled(self, service, table, mailer) -> None:
        registration = table.save(individual())
        assert send(service, registration, confirmation_key(registration)) == ["already settled"]
        assert mailer.attempts == 0


def asked(service: ReactionService, email: str, request_id: str = "acr_1") -> list[str]:
    """An access-code request's INSERT record processed (POST /access-codes stored it)."""
    reaction = Reaction(ReactionKind.ACCESS_CODE_REQUESTED, "", request_id=request_id, requester=normalize_email(email))
    return service.react(reaction).done


def access_code_entries(table: InMemoryTable, registration: Registration) -> list[OutboxEmail]:
    return [e for e in table.emails(registration.registration_id) if e.kind is EmailKind.ACCESS_CODE]


class TestAccessCodeRequests:
    def test_a_paid_seat_s_email_gets_a_new_code_that_works_alongside_the_earlier_one(
        self, service, table, mailer, wall
    ) -> None:
        # Given a paid seat whose confirmation went out
        registration = paid(service, table, individual(email="ana.lopez@example.org"))
        (seat,) = registration.seats
        send(service, registration, confirmation_key(registration))

        # When its email (in another case) asks for a code, and the stream sends what that queued
        assert asked(service, "Ana.Lopez@EXAMPLE.org") == ["access code email queued"]
        (entry,) = access_code_entries(table, registration)
        assert (entry.attendee_id, entry.request, entry.key) == (
            seat.attendee_id,
            "acr_1",
            f"access_code#{seat.attendee_id}#acr_1",
        )
        assert send(service, registration, entry.key) == ["sent"]

        # Then that attendee alone gets an access-code email, and both codes open the seat
        first, second = mailer.sent
        assert (second.kind, second.to.address) == ("access_code", seat.email)
        assert "access code" in second.subject and "confirmed" not in second.subject
        attendee = table.attendee(seat.attendee_id)
        assert attendee is not None and code_in(first) != code_in(second)
        assert [hash_access_code(code_in(m)) for m in (first, second)] == attendee.code_hashes(wall.now())
        assert attendee.requested_codes == (RequestedCode(code_hash=hash_access_code(code_in(second)), issued_at=NOW),)

    @pytest.mark.parametrize(
        "holder", ["nobody", "refunded", "pending_payment", "expired", "revoked attendee", "attendee not yet made"]
    )
    def test_an_email_without_an_active_paid_seat_is_sent_nothing(self, service, table, mailer, holder) -> None:
        # Given an email that holds no seat, or one that gives no access (now)
        email = "someone@example.org"
        if holder in {"refunded", "pending_payment", "expired"}:
            table.save(individual(status=RegistrationStatus(holder), email=email))
        elif holder == "revoked attendee":
            registration = paid(service, table, individual(email=email))
            table.revoke_attendee(registration.seats[0].attendee_id)
        elif holder == "attendee not yet made":
            table.save(individual(email=email))  # paid, its paid record not processed yet

        # When it asks for a code  Then nothing is queued or sent
        assert asked(service, email) == ["no paid seat for this email: nothing sent"]
        assert [e for e in table.outbox.values() if e.kind is EmailKind.ACCESS_CODE] == []
        assert mailer.sent == []

    def test_at_most_three_an_hour_for_one_attendee_then_one_more_as_each_hour_passes(
        self, service, table, wall
    ) -> None:
        # Given a paid seat
        registration = paid(service, table, individual(email="ana@example.org"))

        # When it asks four times within minutes
        answers = []
        for n in range(ACCESS_CODES_PER_HOUR + 1):
            answers += asked(service, "ana@example.org", f"acr_{n}")
            wall.advance(timedelta(minutes=10))

        # Then three are queued, the fourth is not (the request was answered the same: it sends nothing)
        assert answers == ["access code email queued"] * ACCESS_CODES_PER_HOUR + ["hourly limit reached: no email"]
        assert len(access_code_entries(table, registration)) == ACCESS_CODES_PER_HOUR
        # and within an hour of the first, still nothing; an hour after it, one more (any hour holds at most three)
        wall.moment = NOW + ACCESS_CODE_WINDOW - timedelta(seconds=1)
        assert asked(service, "ana@example.org", "acr_late") == ["hourly limit reached: no email"]
        wall.moment = NOW + ACCESS_CODE_WINDOW
        assert asked(service, "ana@example.org", "acr_next") == ["access code email queued"]
        assert asked(service, "ana@example.org", "acr_after") == ["hourly limit reached: no email"]
        assert len(access_code_entries(table, registration)) == ACCESS_CODES_PER_HOUR + 1

    def test_the_limit_is_per_attendee(self, service, table) -> None:
        one = paid(service, table, individual(email="one@example.org"))
        other = paid(service, table, individual(email="other@example.org"))
        for n in range(ACCESS_CODES_PER_HOUR):
            asked(service, "one@example.org", f"acr_{n}")
        assert asked(service, "other@example.org", "acr_other") == ["access code email queued"]
        assert (len(access_code_entries(table, one)), len(access_code_entries(table, other))) == (3, 1)

    def test_a_replayed_request_record_queues_nothing_new_and_uses_no_second_send(self, service, table) -> None:
        registration = paid(service, table, individual(email="ana@example.org"))
        assert asked(service, "ana@example.org", "acr_1") == ["access code email queued"]
        assert asked(service, "ana@example.org", "acr_1") == ["access code email queued"]  # the stream's replay
        assert len(access_code_entries(table, registration)) == 1
        assert asked(service, "ana@example.org", "acr_2") == ["access code email queued"]
        assert asked(service, "ana@example.org", "acr_3") == ["access code email queued"]

    def test_one_person_with_seats_in_two_events_gets_a_code_for_each(self, service, table) -> None:
        first = paid(service, table, individual(email="ana@example.org"))
        second = table.save(individual(email="ana@example.org").model_copy(update={"event_id": "spring-2021"}))
        table.add_attendees([Attendee.of_seat(second, second.seats[0])])  # as its paid record left it
        assert asked(service, "ana@example.org") == ["access code email queued"] * 2
        assert [len(access_code_entries(table, r)) for r in (first, second)] == [1, 1]

    def test_only_the_newest_requested_codes_are_kept(self, service, table, mailer, wall) -> None:
        # Given a paid seat that asks for six codes over three hours, each sent
        registration = paid(service, table, individual(email="ana@example.org"))
        send(service, registration, confirmation_key(registration))
        for n in range(REQUESTED_CODES_KEPT + 2):
            wall.moment = NOW + n * timedelta(minutes=30)
            asked(service, "ana@example.org", f"acr_{n}")
            send(service, registration, f"access_code#{registration.seats[0].attendee_id}#acr_{n}")

        # Then the confirmation's code and the four newest open the seat; the two oldest asked for no longer do
        confirmation, *requested = (code_in(m) for m in mailer.sent)
        attendee = table.attendee(registration.seats[0].attendee_id)
        assert attendee is not None
        valid = attendee.code_hashes(wall.now())
        assert [hash_access_code(code) in valid for code in requested] == [False, False, True, True, True, True]
        assert hash_access_code(confirmation) in valid and len(valid) == 1 + REQUESTED_CODES_KEPT

    def test_two_codes_added_at_once_are_both_kept(self, service, table, mailer) -> None:
        # Given two requests queued for one seat
        registration = paid(service, table, individual(email="ana@example.org"))
        attendee_id = registration.seats[0].attendee_id
        asked(service, "ana@example.org", "acr_1")
        asked(service, "ana@example.org", "acr_2")

        # When the second is sent between the first's read of the codes and its write
        table.before("set_requested_codes", lambda: send(service, registration, f"access_code#{attendee_id}#acr_2"))
        send(service, registration, f"access_code#{attendee_id}#acr_1")

        # Then the first's conditional write was refused, it read again, and both codes work
        attendee = table.attendee(attendee_id)
        assert attendee is not None
        assert sorted(c.code_hash for c in attendee.requested_codes) == sorted(
            hash_access_code(code_in(m)) for m in mailer.sent
        )

    def test_codes_that_keep_changing_send_nothing_and_give_the_claim_back(self, service, table, mailer) -> None:
        # Given a queued access code whose every write of the codes finds them changed by someone else
        registration = paid(service, table, individual(email="ana@example.org"))
        attendee_id = registration.seats[0].attendee_id
        asked(service, "ana@example.org")

        def another_send(n: int) -> None:
            current = table.attendees[attendee_id]
            other = RequestedCode(code_hash=f"another-{n}", issued_at=NOW)
            table.attendees[attendee_id] = current.model_copy(update={"requested_codes": (other,)})

        for n in range(CODE_WRITE_ATTEMPTS):
            table.before("set_requested_codes", lambda n=n: another_send(n))

        # When it is sent  Then the record fails (to be retried), nothing went out, and the entry is pending again
        with pytest.raises(TemporarilyUnavailable):
            send(service, registration, f"access_code#{attendee_id}#acr_1")
        assert mailer.sent == []
        assert table.email(registration.registration_id, f"access_code#{attendee_id}#acr_1").status == "pending"

    def test_the_organiser_s_resend_sends_an_access_code_that_replaces_every_earlier_one(
        self, service, table, mailer, wall
    ) -> None:
        # Given a seat with its confirmation's code and one asked for
        registration = paid(service, table, individual(email="ana@example.org"))
        (seat,) = registration.seats
        send(service, registration, confirmation_key(registration))
        asked(service, "ana@example.org")
        send(service, registration, f"access_code#{seat.attendee_id}#acr_1")

        # When the organiser resends (as the admin service queues it)
        resend = OutboxEmail(
            registration_id=registration.registration_id, kind=EmailKind.ACCESS_CODE, attendee_id=seat.attendee_id,
            resend=1,
        )  # fmt: skip
        table.add_emails([resend])
        send(service, registration, resend.key)

        # Then an access-code email whose code alone opens the seat
        latest = mailer.sent[-1]
        assert latest.kind == "access_code" and "access code" in latest.subject
        attendee = table.attendee(seat.attendee_id)
        assert attendee is not None
        assert attendee.code_hashes(wall.now()) == [hash_access_code(code_in(latest))]
        assert attendee.requested_codes == ()

    def test_an_access_code_for_a_seat_refunded_before_it_went_out_is_skipped(self, service, table, mailer) -> None:
        registration = paid(service, table, individual(email="ana@example.org"))
        asked(service, "ana@example.org")
        table.save(registration.model_copy(update={"status": RegistrationStatus.REFUNDED}))
        (entry,) = access_code_entries(table, registration)
        assert send(service, registration, entry.key) == ["skipped: registration refunded"]
        assert mailer.sent == []
        assert table.attendee(registration.seats[0].attendee_id).requested_codes == ()


class TestRefunds:
    def test_a_refund_revokes_every_seat_cancels_the_unshipped_coin_and_owes_one_notice_per_seat(
        self, service, table, mailer
    ) -> None:
        # Given a paid, confirmed individual
        registration = paid(service, table, individual())
        send_all(service, table, registration)

        # When refunded
        done = refunded(service, table, registration)

        # Then
        (seat,) = registration.seats
        assert table.attendee(seat.attendee_id).status is AttendeeStatus.REVOKED
        assert table.shipment(registration.registration_id).shipment_state is ShipmentState.CANCELLED
        assert "coin cancelled" in done
        send_all(service, table, registration)
        assert [email.kind for email in mailer.sent] == ["confirmation", "receipt", "refund_notice"]
        assert mailer.sent[2].to.address == seat.email

    def test_a_refunded_group_owes_each_seat_a_notice(self, service, table, mailer) -> None:
        registration = paid(service, table, group(size=2))
        refunded(service, table, registration)
        send_all(service, table, registration)
        notices = [email.to.address for email in mailer.sent if email.kind == "refund_notice"]
        assert sorted(notices) == sorted(seat.email for seat in registration.seats)
        assert not any(email.kind == "confirmation" for email in mailer.sent)  # refunded before they went out

    def test_a_refund_after_the_coin_shipped_flags_it_for_the_organiser(self, service, table) -> None:
        # Given a paid individual whose coin has shipped
        registration = paid(service, table, individual())
        table.set_shipment_state(registration.registration_id, ShipmentState.PENDING, ShipmentState.SHIPPED)

        # When refunded
        done = refunded(service, table, registration)

        # Then
        shipment = table.shipment(registration.registration_id)
        assert shipment is not None and shipment.shipment_state is ShipmentState.SHIPPED_THEN_REFUNDED
        assert "coin already shipped: flagged for the organiser" in done

    def test_a_refund_before_the_paid_reaction_ran_creates_no_attendee_or_coin_and_still_owes_the_notice(
        self, service, table, mailer
    ) -> None:
        # Given a registration refunded whose `-> paid` record has not been processed
        registration = individual()

        # When the refund's record is processed
        refunded(service, table, registration)
        send_all(service, table, registration)

        # Then
        assert table.attendees == {} and table.shipments == {}
        assert [email.kind for email in mailer.sent] == ["refund_notice"]

    def test_a_refund_revokes_the_seat_s_certificate_once(self, service, table, certificates) -> None:
        # Given a paid seat with a valid certificate
        registration = paid(service, table, individual())
        certificate = issued_certificate(certificates, registration)

        # When refunded, and the record replayed
        first = refunded(service, table, registration)
        again = refunded(service, table, registration)

        # Then it is revoked, once; the replay queues no second notice and cancels nothing again
        assert certificates.certificates[certificate.certificate_id].status is CertificateStatus.REVOKED
        assert "certificate revoked" in first and "certificate revoked" not in again
        assert "coin cancelled" in first and "coin cancelled" not in again
        notices = [e for e in table.emails(registration.registration_id) if e.kind is EmailKind.REFUND_NOTICE]
        assert len(notices) == 1


def with_seat(
    registration: Registration, position: int, status: SeatStatus, *, duplicate: bool = False
) -> Registration:
    """The registration with one seat's status changed (and, for a duplicate, the history entry that says so)."""
    seat = registration.seats[position]
    history = [HistoryEntry(at=NOW, actor="stripe", action=HistoryAction.SEAT_DUPLICATE, attendee_id=seat.attendee_id)]
    return registration.model_copy(
        update={
            "seats": registration.with_seats({seat.attendee_id: status}),
            "history": [*registration.history, *(history if duplicate else [])],
        }
    )


class TestSeatsRefundedAlone:
    def refunded_alone(self, service, table, registration: Registration, position: int) -> list[str]:
        table.save(registration)
        attendee_id = registration.seats[position].attendee_id
        reaction = Reaction(
            ReactionKind.SEATS_REFUNDED_ALONE, registration.registration_id, attendee_ids=(attendee_id,)
        )
        return service.react(reaction).done

    def test_a_seat_refunded_by_an_organiser_loses_its_access_and_certificate_and_its_person_is_told(
        self, service, table, mailer, certificates
    ) -> None:
        registration = paid(service, table, group(size=2))
        send_all(service, table, registration)
        certificate = issued_certificate(
            certificates, registration.model_copy(update={"seats": registration.seats[1:]})
        )

        done = self.refunded_alone(service, table, with_seat(registration, 1, SeatStatus.REFUNDED), 1)

        first, second = registration.seats
        assert table.attendee(second.attendee_id).status is AttendeeStatus.REVOKED
        assert table.attendee(first.attendee_id).status is AttendeeStatus.ACTIVE
        assert certificates.certificates[certificate.certificate_id].status is CertificateStatus.REVOKED
        assert "certificate revoked" in done
        mailer.sent.clear()
        send_all(service, table, registration)
        assert [(e.kind, e.to.address) for e in mailer.sent] == [("refund_notice", second.email)]

    def test_a_duplicate_seat_gets_no_attendee_or_confirmation_and_its_payer_is_told(
        self, service, table, mailer
    ) -> None:
        # Given a group paid while its second seat's person held a paid seat elsewhere
        registration = with_seat(group(size=2), 1, SeatStatus.REFUND_DUE, duplicate=True)
        paid(service, table, registration)
        assert registration.seats[1].attendee_id not in table.attendees

        # When that seat's refund is recorded
        self.refunded_alone(service, table, with_seat(registration, 1, SeatStatus.REFUNDED, duplicate=True), 1)
        send_all(service, table, registration)

        # Then the first seat is confirmed, the purchaser gets the receipt and the seat's refund notice
        kinds = sorted((e.kind, e.to.address) for e in mailer.sent)
        purchaser = registration.purchaser.email if registration.purchaser else ""
        assert kinds == sorted(
            [
                ("confirmation", registration.seats[0].email),
                ("receipt", purchaser),
                ("duplicate_seat_refund", purchaser),
            ]
        )

    def test_a_registration_refunded_after_a_duplicate_seat_does_not_tell_that_seat_s_person(
        self, service, table, mailer
    ) -> None:
        registration = with_seat(group(size=2), 1, SeatStatus.REFUNDED, duplicate=True)
        paid(service, table, registration)
        refunded(service, table, registration)
        send_all(service, table, registration)
        notices = [e.to.address for e in mailer.sent if e.kind == "refund_notice"]
        assert notices == [registration.seats[0].email]


def test_a_new_registration_s_people_are_indexed_by_email_seats_and_purchaser(service, table) -> None:
    registration = group(size=2)
    table.save(registration)
    service.react(Reaction(ReactionKind.REGISTRATION_CREATED, registration.registration_id))
    purchaser = normalize_email(registration.purchaser.email) if registration.purchaser else ""
    expected = {(key, registration.registration_id) for key in [*registration.email_keys, purchaser]}
    assert table.people == expected


def issued_certificate(certificates: InMemoryCertificates, registration: Registration) -> Certificate:
    (seat,) = registration.seats
    certificate = Certificate(
        certificate_id="crt_" + seat.attendee_id,
        attendee_id=seat.attendee_id,
        registration_id=registration.registration_id,
        attendee_name=f"{seat.first_name} {seat.last_name}",
        conference=CONFERENCE.name,
        hours=15.5,
        issued_at=date(2020, 8, 7),
        created_at=NOW,
    )
    email = OutboxEmail(
        registration_id=registration.registration_id,
        kind=EmailKind.CERTIFICATE,
        attendee_id=seat.attendee_id,
        certificate_id=certificate.certificate_id,
    )
    assert certificates.issue(certificate, email)
    return certificate


class TestLeasesAndFaults:
    def test_an_email_whose_lease_another_sender_holds_is_not_sent_until_the_lease_runs_out(
        self, service, table, mailer, wall
    ) -> None:
        # Given a confirmation another sender has just claimed (and crashed while sending)
        registration = paid(service, table, individual())
        entry = table.email(registration.registration_id, confirmation_key(registration))
        assert entry is not None and table.claim_email(entry, NOW, NOW + SEND_LEASE)

        # When its record is processed during the lease, then once it has run out
        with pytest.raises(EmailBusy):
            send(service, registration, entry.key)
        assert mailer.attempts == 0
        wall.advance(SEND_LEASE + timedelta(seconds=1))
        done = send(service, registration, entry.key)

        # Then it is retried, and sent once the lease expired
        assert done == ["sent"] and len(mailer.sent) == 1
        assert table.email(registration.registration_id, entry.key).attempts == 2

    def test_throttling_gives_the_claim_back_and_fails_the_record_until_a_retry_sends_exactly_once(
        self, service, table, mailer
    ) -> None:
        # Given SES throttles three sends in a row
        registration = paid(service, table, individual())
        mailer.throttle(times=3)
        key = confirmation_key(registration)

        # When the record is retried each time it fails
        for _ in range(3):
            with pytest.raises(MailThrottled):
                send(service, registration, key)
            entry = table.email(registration.registration_id, key)
            assert entry is not None and entry.status is OutboxStatus.PENDING and entry.lease_until is None
            assert entry.last_error == "TooManyRequestsException"
        done = send(service, registration, key)

        # Then one email went out, its entry claimed once per try
        assert done == ["sent"] and len(mailer.sent) == 1
        entry = table.email(registration.registration_id, key)
        assert entry is not None and entry.status is OutboxStatus.SENT and entry.attempts == 4

    def test_a_permanent_rejection_is_recorded_and_never_retried(self, service, table, mailer) -> None:
        # Given SES rejects the message for good
        registration = paid(service, table, individual())
        mailer.reject()
        key = confirmation_key(registration)

        # When the record is processed, and delivered again
        first = send(service, registration, key)
        again = send(service, registration, key)

        # Then
        assert first == ["rejected for good"] and again == ["already settled"]
        entry = table.email(registration.registration_id, key)
        assert entry is not None and entry.status is OutboxStatus.FAILED and entry.attempts == 1
        assert entry.last_error == "MessageRejected"
        assert mailer.attempts == 1 and mailer.sent == []

    def test_a_table_failure_before_the_send_gives_the_claim_back_so_the_retry_sends_at_once(
        self, service, table, mailer
    ) -> None:
        # Given the table fails to store the new code's digest (throttled, after the SDK's retries)
        registration = paid(service, table, individual())
        table.fail("set_access_code")
        key = confirmation_key(registration)

        # When the record is processed, and retried
        with pytest.raises(TemporarilyUnavailable):
            send(service, registration, key)
        entry = table.email(registration.registration_id, key)
        done = send(service, registration, key)

        # Then the failed try sent nothing and left no lease to wait for; the retry sent one email
        assert entry is not None and entry.status is OutboxStatus.PENDING and entry.lease_until is None
        assert entry.last_error == "TemporarilyUnavailable"
        assert done == ["sent"] and len(mailer.sent) == 1 and mailer.attempts == 1

    def test_recording_the_send_is_retried_in_place_so_the_email_is_not_sent_twice(
        self, service, table, mailer, pauses
    ) -> None:
        # Given the table fails to record `sent` twice after SES accepted the message
        registration = paid(service, table, individual())
        table.fail("finish_email", times=RECORD_ATTEMPTS - 1)

        # When
        done = send(service, registration, confirmation_key(registration))

        # Then it was recorded on the last try, with growing pauses, and the record succeeded
        assert done == ["sent"] and len(mailer.sent) == 1
        assert pauses == [0.2, 0.4]
        assert table.email(registration.registration_id, confirmation_key(registration)).status == "sent"

    def test_an_unrecorded_send_goes_out_again_once_its_lease_expires_the_one_duplicate_allowed(
        self, service, table, mailer, wall
    ) -> None:
        # Given the table fails every try to record `sent`
        registration = paid(service, table, individual())
        key = confirmation_key(registration)
        table.fail("finish_email", times=RECORD_ATTEMPTS)

        # When the record is processed (and fails), and retried during the lease, then after it
        with pytest.raises(TemporarilyUnavailable):
            send(service, registration, key)
        with pytest.raises(EmailBusy):
            send(service, registration, key)
        wall.advance(SEND_LEASE + timedelta(seconds=1))
        send(service, registration, key)

        # Then the email went out twice, and no more
        assert len(mailer.sent) == 2
        assert send(service, registration, key) == ["already settled"]

    def test_when_even_giving_the_claim_back_fails_the_send_s_error_fails_the_record(
        self, service, table, mailer, wall
    ) -> None:
        # Given SES throttles and the table then fails every try to give the claim back
        registration = paid(service, table, individual())
        key = confirmation_key(registration)
        mailer.throttle()
        table.fail("finish_email", times=RECORD_ATTEMPTS)

        # When
        with pytest.raises(MailThrottled):
            send(service, registration, key)

        # Then the entry waits for its lease (90 seconds), after which a retry sends it
        entry = table.email(registration.registration_id, key)
        assert entry is not None and entry.status is OutboxStatus.SENDING and entry.lease_until == NOW + SEND_LEASE
        wall.advance(SEND_LEASE + timedelta(seconds=1))
        assert send(service, registration, key) == ["sent"] and len(mailer.sent) == 1


class TestCertificateEmails:
    def test_a_certificate_email_attaches_the_pdf_it_keeps(self, service, table, certificates, files, mailer) -> None:
        # Given a paid seat with a certificate queued
        registration = paid(service, table, individual(first_name="Łukasz", last_name="Nguyễn"))
        certificate = issued_certificate(certificates, registration)
        key = f"certificate#{certificate.certificate_id}"

        # When its entry is processed
        done = send(service, registration, key)

        # Then one email with the PDF that was stored, naming where to verify it
        assert done == ["sent"]
        (email,) = mailer.sent
        assert email.kind == "certificate" and email.to.address == registration.seats[0].email
        (attachment,) = email.attachments
        assert files.stored[certificate.certificate_id] == [attachment.content]
        assert certificates.certificates[certificate.certificate_id].pdf_stored_at is not None  # GET /me/certificate
        assert attachment.content.startswith(b"%PDF-")
        assert f"{SITE}verify/{certificate.certificate_id}" in email.text  # the page people open
        assert "Łukasz Nguyễn" in email.text

    @pytest.mark.parametrize("fate", ["revoked", "gone"])
    def test_a_certificate_email_whose_certificate_is_no_longer_valid_is_skipped(
        self, service, table, certificates, mailer, fate
    ) -> None:
        # Given a certificate queued, then revoked (a refund) or replaced, or never stored
        registration = paid(service, table, individual())
        certificate = issued_certificate(certificates, registration)
        if fate == "revoked":
            certificates.revoke_current(certificate.attendee_id)
        else:
            del certificates.certificates[certificate.certificate_id]

        # When its entry is processed
        done = send(service, registration, f"certificate#{certificate.certificate_id}")

        # Then
        assert done == ["skipped: certificate replaced or revoked"] and mailer.attempts == 0

    def test_a_pdf_that_cannot_be_stored_sends_nothing_and_gives_the_claim_back(
        self, service, table, certificates, files, mailer
    ) -> None:
        # Given the bucket fails once
        registration = paid(service, table, individual())
        certificate = issued_certificate(certificates, registration)
        key = f"certificate#{certificate.certificate_id}"
        files.fail("store_pdf")

        # When the record is processed, and retried
        with pytest.raises(TemporarilyUnavailable):
            send(service, registration, key)
        pending = table.email(registration.registration_id, key)
        send(service, registration, key)

        # Then
        assert pending is not None and pending.status is OutboxStatus.PENDING
        assert len(mailer.sent) == 1 and len(files.stored[certificate.certificate_id]) == 1


class TestRepair:
    def test_the_repair_redoes_what_each_registration_s_state_calls_for_and_sends_what_is_owed(
        self, service, table, mailer, wall
    ) -> None:
        # Given what a dead-lettered batch left undone: a paid registration never reacted to; a confirmation
        # still pending; a refund never reacted to; a disputed one never reacted to; an email a live sender holds
        never_reacted = table.save(individual())
        pending = paid(service, table, individual())
        refund_missed = paid(service, table, individual())
        send_all(service, table, refund_missed)
        table.save(refund_missed.model_copy(update={"status": RegistrationStatus.REFUNDED}))
        disputed = table.save(individual(status=RegistrationStatus.DISPUTED))
        busy = paid(service, table, individual())
        busy_entry = table.email(busy.registration_id, confirmation_key(busy))
        assert busy_entry is not None and table.claim_email(busy_entry, NOW, NOW + SEND_LEASE)
        table.save(individual(status=RegistrationStatus.EXPIRED))
        mailer.sent.clear()

        # When the redrive repairs
        counts = service.repair()

        # Then every email owed went out (not the leased one), the refund was done, and the count says so
        assert counts == {"registrations": 5, "emails sent": 8}
        assert sorted((email.to.address, email.kind) for email in mailer.sent) == sorted(
            [
                (never_reacted.seats[0].email, "confirmation"),
                (never_reacted.seats[0].email, "receipt"),
                (pending.seats[0].email, "confirmation"),
                (pending.seats[0].email, "receipt"),
                (refund_missed.seats[0].email, "refund_notice"),
                (disputed.seats[0].email, "confirmation"),
                (disputed.seats[0].email, "receipt"),
                (busy.seats[0].email, "receipt"),  # its confirmation is the live sender's
            ]
        )
        assert table.attendee(refund_missed.seats[0].attendee_id).status is AttendeeStatus.REVOKED
        assert table.email(busy.registration_id, busy_entry.key).status is OutboxStatus.SENDING

        # And running it again sends nothing more
        assert service.repair()["emails sent"] == 0


class TestInvoices:
    def test_an_approved_invoice_confirms_its_seats_and_holds_back_the_receipt_and_coin_until_paid(
        self, service, table, mailer
    ) -> None:
        # Given an individual's invoice approved: the seat is held, the confirmation goes out
        registration = table.save(individual(status=RegistrationStatus.INVOICED))
        service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
        send_all(service, table, registration)
        assert [email.kind for email in mailer.sent] == ["confirmation"]
        assert table.shipment(registration.registration_id) is None

        # When the invoice is paid
        table.save(registration.model_copy(update={"status": RegistrationStatus.PAID}))
        service.react(Reaction(ReactionKind.INVOICE_PAID, registration.registration_id))
        send_all(service, table, registration)

        # Then the receipt, and the coin; the confirmation and its code are not sent again
        assert [email.kind for email in mailer.sent] == ["confirmation", "receipt"]
        assert table.shipment(registration.registration_id) is not None

    def test_a_voided_invoice_revokes_its_seats_and_tells_nobody(self, service, table, mailer) -> None:
        registration = table.save(group(size=2).model_copy(update={"status": RegistrationStatus.INVOICED}))
        service.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
        send_all(service, table, registration)
        sent = len(mailer.sent)

        table.save(registration.model_copy(update={"status": RegistrationStatus.CANCELLED}))
        done = service.react(Reaction(ReactionKind.SEATS_CANCELLED, registration.registration_id)).done

        assert "access revoked" in done
        assert {table.attendee(s.attendee_id).status for s in registration.seats} == {AttendeeStatus.REVOKED}
        send_all(service, table, registration)
        assert len(mailer.sent) == sent
