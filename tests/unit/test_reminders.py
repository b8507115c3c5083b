"""Reminders a week, a day and an hour before the first session, with the in-memory fakes: queued once per
attendee and reminder, none for refunded or revoked seats, sent exactly once through the outbox (retries,
throttling, a replayed run), with a one-click sign-in of its own; a run that comes too late sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.access import access_code_matches
from shared.clock import FixedClock
from shared.errors import InvalidRequest
from shared.events.schedules import reminder_time
from shared.reactions.models import EmailKind, OutboxStatus
from shared.reactions.ports import MailThrottled
from shared.reactions.reminders import ReminderService
from shared.reactions.routing import Reaction, ReactionKind
from shared.reactions.service import ReactionService
from shared.registration.models import Registration
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
WALL = datetime(2020, 7, 29, 14, tzinfo=UTC)
WEEK_BEFORE = reminder_time(CONFERENCE, "week")


@pytest.fixture
def table() -> InMemoryTable:
    return InMemoryTable(FixedClock(WALL))


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def conference_time() -> FixedClock:
    return FixedClock(WEEK_BEFORE)


@pytest.fixture
def reminders(table, conference_time) -> ReminderService:
    return ReminderService(events=catalog_of(CONFERENCE), repository=table, conference_clock=conference_time)


@pytest.fixture
def reactions(table, mailer) -> ReactionService:
    return ReactionService(
        events=catalog_of(CONFERENCE),
        repository=table,
        mailer=mailer,
        wall_clock=FixedClock(WALL),
        site_url=SITE,
        certificates=InMemoryCertificateFiles(InMemoryCertificates(table)),
        pause=lambda _: None,
    )


def paid(reactions: ReactionService, table: InMemoryTable, registration: Registration) -> Registration:
    table.save(registration)
    reactions.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
    return registration


def stream(reactions: ReactionService, table: InMemoryTable, kind: EmailKind = EmailKind.REMINDER) -> list[str]:
    """Every pending outbox entry of `kind` sent, as the stream's INSERT records would be."""
    done = []
    for (registration_id, key), entry in sorted(table.outbox.items()):
        if entry.kind is kind and entry.status is OutboxStatus.PENDING:
            done += reactions.react(Reaction(ReactionKind.SEND_EMAIL, registration_id, key)).done
    return done


def reminders_sent(mailer: RecordingMailer) -> list[tuple[str, str]]:
    return [(m.to.address, m.subject) for m in mailer.sent if m.kind == "reminder"]


def test_every_seat_holder_gets_each_reminder_once_however_often_the_run_and_the_records_come(
    reminders, reactions, table, mailer, conference_time
) -> None:
    # Given an individual and a group of three, paid
    alone = paid(reactions, table, individual())
    team = paid(reactions, table, group(3))
    # When the week's run comes twice (a retried schedule) and its records are delivered twice
    first = reminders.queue("nasro-2020", "week")
    again = reminders.queue("nasro-2020", "week")
    stream(reactions, table)
    for (registration_id, key), entry in list(table.outbox.items()):
        if entry.kind is EmailKind.REMINDER:
            reactions.react(Reaction(ReactionKind.SEND_EMAIL, registration_id, key))  # a replayed record
    # Then four reminders, one per person, and each entry sent
    assert first.queued == again.queued == 4
    sent = reminders_sent(mailer)
    assert sorted(address for address, _ in sent) == sorted(s.email for s in [*alone.seats, *team.seats])
    assert {subject for _, subject in sent} == {f"Reminder: the {CONFERENCE.name} starts in a week"}
    # And the day's and the hour's at their times: one more each per person
    for which in ("day", "hour"):
        conference_time.moment = reminder_time(CONFERENCE, which)
        reminders.queue("nasro-2020", which)
        stream(reactions, table)
    assert len(reminders_sent(mailer)) == 12
    assert len({(address, subject) for address, subject in reminders_sent(mailer)}) == 12


def test_refunded_and_cancelled_seats_get_no_reminder_even_if_refunded_after_it_was_queued(
    reminders, reactions, table, mailer
) -> None:
    kept = paid(reactions, table, individual())
    refunded = paid(reactions, table, individual())
    table.save(individual(status=RegistrationStatus.CANCELLED))
    table.save(individual(status=RegistrationStatus.PENDING_PAYMENT))
    table.save(refunded.model_copy(update={"status": RegistrationStatus.REFUNDED}))
    reactions.react(Reaction(ReactionKind.SEATS_REFUNDED, refunded.registration_id))
    late = paid(reactions, table, individual())
    assert reminders.queue("nasro-2020", "week").queued == 2  # kept, late
    # late is refunded after its reminder was queued, before it went out
    table.save(late.model_copy(update={"status": RegistrationStatus.REFUNDED}))
    reactions.react(Reaction(ReactionKind.SEATS_REFUNDED, late.registration_id))
    done = stream(reactions, table)
    assert [address for address, _ in reminders_sent(mailer)] == [kept.seats[0].email]
    assert any(d.startswith("skipped") for d in done)


def test_a_reminder_signs_in_with_a_code_of_its_own_beside_the_confirmation_s(
    reminders, reactions, table, mailer
) -> None:
    alone = paid(reactions, table, individual())
    stream(reactions, table, EmailKind.CONFIRMATION)
    reminders.queue("nasro-2020", "week")
    stream(reactions, table)
    (message,) = [m for m in mailer.sent if m.kind == "reminder"]
    (line,) = [line for line in message.text.splitlines() if line.startswith("Access code: ")]
    code = line.removeprefix("Access code: ")
    attendee = table.attendees[alone.seats[0].attendee_id]
    # both codes open the seat: the confirmation's is still the current one
    assert any(access_code_matches(code, digest) for digest in attendee.code_hashes(WALL))
    assert len(attendee.code_hashes(WALL)) == 2
    assert message.list_unsubscribe is not None and [a.filename for a in message.attachments] == ["invite.ics"]


def test_ses_throttling_during_reminders_loses_nothing_and_doubles_nothing(reminders, reactions, table, mailer) -> None:
    for _ in range(3):
        paid(reactions, table, individual())
    reminders.queue("nasro-2020", "day")
    mailer.throttle(2)  # the first two sends are throttled: their records fail and are retried
    with pytest.raises(MailThrottled):
        stream(reactions, table)
    for _ in range(3):  # the stream's retries
        try:
            stream(reactions, table)
        except MailThrottled:  # a throttled record, retried by the next round
            continue
    assert len(reminders_sent(mailer)) == 3
    assert len(set(reminders_sent(mailer))) == 3
    assert {e.status for e in table.outbox.values() if e.kind is EmailKind.REMINDER} == {OutboxStatus.SENT}


@pytest.mark.parametrize(
    ("which", "late"),
    [("week", timedelta(days=1)), ("day", timedelta(hours=6)), ("hour", timedelta(minutes=15))],
)
def test_a_run_later_than_its_grace_queues_nothing_so_no_reminder_says_what_no_longer_holds(
    reminders, reactions, table, conference_time, which, late
) -> None:
    paid(reactions, table, individual())
    due = reminder_time(CONFERENCE, which)
    conference_time.moment = due + late - timedelta(seconds=1)  # still in time: "in a week" holds
    assert reminders.queue("nasro-2020", which).queued == 1
    table.outbox.clear()
    conference_time.moment = due + late
    result = reminders.queue("nasro-2020", which)
    assert (result.queued, result.skipped) == (0, f"too late: the {which} reminder was due at {due.isoformat()}")
    assert not [e for e in table.outbox.values() if e.kind is EmailKind.REMINDER]


def test_no_reminder_goes_out_once_the_conference_has_begun(reminders, reactions, table, conference_time) -> None:
    paid(reactions, table, individual())
    conference_time.moment = CONFERENCE.sessions[0].starts_at
    assert reminders.queue("nasro-2020", "hour").queued == 0


def test_an_unknown_reminder_is_refused(reminders) -> None:
    with pytest.raises(InvalidRequest):
        reminders.queue("nasro-2020", "month")
