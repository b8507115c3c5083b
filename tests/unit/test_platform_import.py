"""Attendance from a Zoom participant report (shared/attendance/platform.py) on the in-memory attendance table: rows
matched by email, rejoins merged, minutes joined to the heartbeats' as a union, a re-import that changes nothing,
malformed files refused with nothing stored, and what the policy and the certificate make of the imported minutes."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.attendance.facts import attendance_facts
from shared.attendance.platform import PlatformImportService, credited_minutes, parse_report
from shared.attendance.policy import evaluate
from shared.certificates.service import certified_sessions
from shared.conference import load_conference
from shared.errors import InvalidRequest, NotFound, TemporarilyUnavailable
from shared.registration.status import RegistrationStatus
from tests.support.fakes_attendance import InMemoryAttendance
from tests.support.fakes_events import catalog_of

CONFERENCE = load_conference()
EVENT = CONFERENCE.id
KEYNOTE = "d1-implicit-bias"  # 11:30-12:45 CDT on 5 August 2020, 75 minutes
SESSION = CONFERENCE.session(KEYNOTE)
assert SESSION is not None

# As Zoom exports it (with its byte-order mark): Ana dropped out and rejoined (overlapping rows, one starting before
# the session), Ben's address in capitals, a guest without an email, someone who holds no seat.
REPORT = (
    "\ufeffName (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\r\n"
    "Ana Lopez,ana@example.org,08/05/2020 11:25:10 AM,08/05/2020 11:50:00 AM,25,No\r\n"
    "Ben Okafor,BEN@Example.ORG,08/05/2020 11:30:00 AM,08/05/2020 12:45:00 PM,75,No\r\n"
    "Ana Lopez (phone),Ana@Example.org,08/05/2020 11:49:00 AM,08/05/2020 12:10:20 PM,22,No\r\n"
    "iPhone,,08/05/2020 11:31:00 AM,08/05/2020 11:59:00 AM,28,Yes\r\n"
    "Carl Visitor,carl@example.org,08/05/2020 11:30:00 AM,08/05/2020 12:00:00 PM,30,No\r\n"
).encode()


@pytest.fixture
def table() -> InMemoryAttendance:
    table = InMemoryAttendance()
    table.add_paid_seat("ana@example.org", "CODE-A", number=1)
    table.add_paid_seat("ben@example.org", "CODE-B", number=2)
    return table


@pytest.fixture
def service(table) -> PlatformImportService:
    return PlatformImportService(events=catalog_of(CONFERENCE), repository=table)


def attendee_id(table: InMemoryAttendance, email: str) -> str:
    return next(a.attendee_id for a in table.attendees.values() if a.email == email)


def test_rows_are_matched_by_email_and_rejoins_merged_into_minutes(service, table) -> None:
    # When the keynote's report is imported
    result = service.import_report(EVENT, KEYNOTE, REPORT)

    # Then Ana's two rows and Ben's one are matched (whatever the case of the address); the guest and Carl are not
    assert (result.matched, result.unmatched) == (3, 2)
    assert [(row.line, row.name, row.email) for row in result.unmatched_sample] == [
        (5, "iPhone", ""),
        (6, "Carl Visitor", "carl@example.org"),
    ]
    # And Ana is credited 11:30 to 12:10 once (the overlap once, before the start nothing, the last 20 s not half a
    # minute), Ben the whole session
    ana, ben = attendee_id(table, "ana@example.org"), attendee_id(table, "ben@example.org")
    assert table.platform[ana][KEYNOTE] == set(range(40))
    assert table.platform[ben][KEYNOTE] == set(range(75))
    assert result.minutes_credited == 40 + 75
    # And each was present in the session's report
    assert table.platform_sessions[ana] == {KEYNOTE} == table.platform_sessions[ben]


def test_imported_minutes_join_the_heartbeats_as_a_union(service, table) -> None:
    # Given Ana's heartbeats for minutes 35 to 50 of the keynote
    ana = attendee_id(table, "ana@example.org")
    table.credited[ana] = {KEYNOTE: set(range(35, 51))}

    # When the report (minutes 0 to 39) is imported
    service.import_report(EVENT, KEYNOTE, REPORT)

    # Then she has minutes 0 to 50, each once: 51, not 16 + 40
    evidence = table.evidence(ana)
    assert evidence.by_session == {KEYNOTE: 51}
    assert (evidence.page_by_session, evidence.platform_by_session) == ({KEYNOTE: 16}, {KEYNOTE: 40})
    assert table.minutes(ana) == {KEYNOTE: 51}


def test_importing_the_same_report_again_changes_nothing(service, table) -> None:
    first = service.import_report(EVENT, KEYNOTE, REPORT)
    stored = {a: table.evidence(a) for a in table.attendees}

    again = service.import_report(EVENT, KEYNOTE, REPORT)

    assert again == first
    assert {a: table.evidence(a) for a in table.attendees} == stored


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Name,Email\r\nAna,ana@example.org\r\n", "not a Zoom participant report"),
        (b"", "not a Zoom participant report"),
        (b"\xff\xfeN\x00a\x00", "not UTF-8"),
        (REPORT.replace(b"08/05/2020 12:45:00 PM", b"2020-08-05 12:45"), "line 3"),
        (REPORT.replace(b"11:30:00 AM,08/05/2020 12:00:00 PM", b"12:30:00 PM,08/05/2020 12:00:00 PM"), "line 6"),
        (REPORT.replace(b",75,No", b",seventy-five,No"), "line 3"),
        (REPORT + b"Dan,dan@example.org,08/05/2020 11:30:00 AM\r\n", "line 7"),
        (REPORT.split(b"\r\n")[0] + b"\r\n", "no participant rows"),
        (REPORT + b'Eve,"eve@example.org\r\n', "not valid CSV"),
    ],
    ids=[
        "other columns",
        "empty",
        "utf-16",
        "iso time",
        "leave before join",
        "duration",
        "short row",
        "no rows",
        "open quote",
    ],
)
def test_a_file_that_is_not_such_a_report_is_refused_and_stores_nothing(service, table, body, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        service.import_report(EVENT, KEYNOTE, body)
    assert any(message in f"{error.field}: {error.message}" for error in refused.value.errors), refused.value.errors
    assert table.platform == {} and table.platform_sessions == {}


def test_every_bad_row_is_named_at_once() -> None:
    body = REPORT.replace(b"11:25:10 AM", b"25:00:00 AM").replace(b",30,No", b",x,No")
    with pytest.raises(InvalidRequest) as refused:
        parse_report(body, CONFERENCE.zone)
    assert [error.field for error in refused.value.errors] == ["line 2", "line 6"]


def test_the_meeting_summary_zoom_puts_above_the_participants_is_skipped(service, table) -> None:
    summary = b"Meeting ID,Topic,Start Time\r\n812 3456 7890,Keynote,08/05/2020 11:25:00 AM\r\n\r\n"
    assert service.import_report(EVENT, KEYNOTE, summary + REPORT.removeprefix("\ufeff".encode())).matched == 3


def test_the_headings_are_read_whatever_their_case_and_order(service, table) -> None:
    _, *rows = REPORT.decode("utf-8-sig").split("\r\n")
    shuffled = "Guest,Leave time,Join time,User email,Duration (minutes),name (original name)"
    reordered = [",".join(cells[i] for i in (5, 3, 2, 1, 4, 0)) for cells in (r.split(",") for r in rows if r)]
    result = service.import_report(EVENT, KEYNOTE, ("\r\n".join([shuffled, *reordered]) + "\r\n").encode())
    assert (result.matched, result.unmatched, result.minutes_credited) == (3, 2, 115)


def test_an_unknown_session_is_not_found(service) -> None:
    with pytest.raises(NotFound):
        service.import_report(EVENT, "no-such-session", REPORT)


def test_a_refunded_seat_is_not_matched(service, table) -> None:
    table.revoke(attendee_id(table, "ben@example.org"))
    result = service.import_report(EVENT, KEYNOTE, REPORT)
    assert (result.matched, result.unmatched) == (2, 3)


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2020-08-05T{clock}-05:00")


@pytest.mark.parametrize(
    ("intervals", "minutes"),
    [
        ([("11:30:00", "11:31:00")], {0}),
        ([("11:30:31", "11:31:00")], set()),  # 29 seconds of the first minute
        ([("11:30:30", "11:31:29")], {0}),  # 30 seconds of minute 0, 29 of minute 1
        ([("11:30:50", "11:31:00"), ("11:30:00", "11:30:20")], {0}),  # two pieces of one minute: 30 seconds
        ([("11:00:00", "11:29:59"), ("12:45:00", "13:00:00")], set()),  # before and after the session
        ([("12:40:00", "13:30:00")], {70, 71, 72, 73, 74}),  # clipped at the end
    ],
)
def test_a_minute_is_credited_for_half_of_it_or_more(intervals: list[tuple[str, str]], minutes: set[int]) -> None:
    assert SESSION is not None
    assert credited_minutes(SESSION, [(at(a), at(b)) for a, b in intervals]) == minutes


def test_a_report_row_is_individual_presence_and_the_reasons_say_which_evidence_counted(service, table) -> None:
    # Given Ben, who never signed in on the conference page, in the reports of most of the agenda
    ben = attendee_id(table, "ben@example.org")
    for session in CONFERENCE.sessions[:9]:
        table.platform_sessions.setdefault(ben, set()).add(session.id)
        table.platform.setdefault(ben, {})[session.id] = set(range(session.scheduled_minutes))

    # When the policy weighs his attendance
    facts = attendance_facts(table, table.attendees[ben], RegistrationStatus.PAID)
    result = evaluate(CONFERENCE, facts)

    # Then his report rows count as attending individually, the reasons say the minutes came from the reports
    assert result.eligible, result.reasons
    assert any("participant report lists you under your own email for 9 sessions" in r for r in result.reasons)
    assert "Counted from the streaming platform's participant reports (660 minutes)." in result.reasons
    # And without any evidence he would not qualify
    bare = attendance_facts(InMemoryAttendance(), table.attendees[ben], RegistrationStatus.PAID)
    assert not evaluate(CONFERENCE, bare).eligible


def test_the_certificate_lists_the_imported_minutes_with_the_heartbeats(service, table) -> None:
    # Given Ana's heartbeats in the opening and in part of the keynote, and the keynote's report
    ana = attendee_id(table, "ana@example.org")
    opening = CONFERENCE.sessions[0]
    table.credited[ana] = {opening.id: set(range(opening.scheduled_minutes)), KEYNOTE: set(range(35, 51))}
    table.logins[ana] = 1
    service.import_report(EVENT, KEYNOTE, REPORT)

    # When her certificate's sessions are drawn up from her facts
    facts = attendance_facts(table, table.attendees[ana], RegistrationStatus.PAID)
    rows = certified_sessions(CONFERENCE, facts.minutes_by_session)

    # Then the keynote shows the union (51 minutes) beside the opening's 30, and the reasons name both evidences
    assert [(row.session_id, row.minutes) for row in rows] == [(opening.id, 30), (KEYNOTE, 51)]
    reasons = evaluate(CONFERENCE, facts).reasons
    assert (
        "Counted from this conference page while you were signed in (46 minutes) and from the streaming platform's "
        "participant reports (40 minutes); a minute in both counts once."
    ) in reasons


class FailingOnce:
    """The table failing one write midway (a throttle beyond the SDK's retries), then answering again."""

    def __init__(self, table: InMemoryAttendance, fail_on: int) -> None:
        self._table, self._fail_on, self.writes = table, fail_on, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._table, name)

    def credit_platform_minutes(self, attendee_id: str, session_id: str, minutes: frozenset[int]) -> bool:
        self.writes += 1
        if self.writes == self._fail_on:
            raise TemporarilyUnavailable("the table did not answer")
        return self._table.credit_platform_minutes(attendee_id, session_id, minutes)


def many_people(count: int) -> bytes:
    lines = ["Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest"]
    lines += [
        f"Officer {n},officer{n}@pd.example,08/05/2020 11:{30 + n % 20:02d}:00 AM,08/05/2020 12:40:00 PM,60,No"
        for n in range(count)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def seated(count: int) -> InMemoryAttendance:
    table = InMemoryAttendance()
    for n in range(count):
        table.add_paid_seat(f"officer{n}@pd.example", f"CODE-{n}", number=n + 1)
    return table


def test_a_table_failure_midway_is_completed_by_importing_the_same_report_again() -> None:
    # Given 31 attendees among 40 people in a report, and a table that fails the seventh write
    table, body = seated(31), many_people(40)
    flaky = FailingOnce(table, fail_on=7)
    service = PlatformImportService(events=catalog_of(CONFERENCE), repository=flaky, parallel_calls=4)  # type: ignore[arg-type]

    # When the import fails, and the organiser uploads the same file again
    with pytest.raises(TemporarilyUnavailable):
        service.import_report(EVENT, KEYNOTE, body)
    again = service.import_report(EVENT, KEYNOTE, body)

    # Then it ends as one clean import, made one call at a time, would: the same answer, the same minutes stored
    clean_table = seated(31)
    clean = PlatformImportService(events=catalog_of(CONFERENCE), repository=clean_table, parallel_calls=1)
    assert again == clean.import_report(EVENT, KEYNOTE, body)
    assert (again.matched, again.unmatched) == (31, 9)
    assert table.platform == clean_table.platform and table.platform_sessions == clean_table.platform_sessions
