"""Attendance from the streaming platform: a Zoom participant report for one agenda session, credited as minutes.

The report (Zoom's meeting or webinar participant export) has a row per join: `Name (Original Name)`, `User Email`,
`Join Time`, `Leave Time`, `Duration (Minutes)` and optionally `Guest`, times as `MM/DD/YYYY hh:mm:ss AM` in the
event's time zone; someone who drops out and rejoins has several rows. A row is matched to the attendee holding a seat
of the event under that email (compared case-insensitively, as seats are).

A person's rows are merged into the time they were present, clipped to the session; a conference minute of the
session (0 = its first) is credited when they were present for at least half of it, the rule a heartbeat once a
minute approximates. The minutes go into a set per session beside the heartbeats' set: the attendee's minutes are
the union, so a minute in both counts once and importing the same report again adds nothing. A matched row is
individual presence (the policy counts it as a login with one's own code).

The whole file is read and checked before anything is written: a file that is not such a report is refused (422)
with what is wrong and where, and nothing is stored. Each matched attendee is then one write (the lookups and the
writes run PARALLEL_CALLS at a time); if the table fails midway the organiser uploads the same file again, which
completes it (the writes are sets).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.conference.models import AgendaSession
from shared.conference.ports import Conferences
from shared.errors import FieldError, InvalidRequest, NotFound
from shared.reactions.models import Attendee, AttendeeStatus
from shared.registration.models import Registration, normalize_email
from shared.registration.status import RegistrationStatus

NAME, EMAIL, JOIN, LEAVE, DURATION = (
    "Name (Original Name)", "User Email", "Join Time", "Leave Time", "Duration (Minutes)",
)  # fmt: skip
REQUIRED_COLUMNS = (NAME, EMAIL, JOIN, LEAVE, DURATION)
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"  # 08/05/2020 09:01:30 AM
HEADER_SEARCH_ROWS = 20  # Zoom's "export with meeting data" puts a summary of the meeting above the participants
MAX_REPORTED_ERRORS = 20
UNMATCHED_SAMPLE = 10
# A minute is credited for at least this much presence in it.
MINUTE_CREDITED_FROM = timedelta(seconds=30)
HOLDS_SEAT = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.INVOICED})
# Each participant costs a few table calls (their seats, registration and attendee, then one write): done this many at
# a time, a 1,000-person webinar's report is matched and stored in a few seconds, well inside API Gateway's 30.
PARALLEL_CALLS = 16


@dataclass(frozen=True)
class ReportRow:
    line: int  # in the file, 1 = its first line
    name: str
    email: str
    joined: datetime
    left: datetime


class UnmatchedRow(BaseModel):
    line: int
    name: str
    email: str


class ImportResult(BaseModel):
    """POST /admin/sessions/{session_id}/attendance-import."""

    matched: int  # rows whose email holds a seat of the event
    unmatched: int  # the other rows (no email, or none of the event's attendees)
    minutes_credited: int  # the report's minutes of the matched attendees (each person's minute once)
    unmatched_sample: list[UnmatchedRow]  # the first unmatched rows, in file order


class PlatformRepository(Protocol):
    def seats_of(self, email_key: str) -> list[str]:
        """The registrations holding this email's seats (one per event)."""

    def registration(self, registration_id: str) -> Registration | None: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def credit_platform_minutes(self, attendee_id: str, session_id: str, minutes: frozenset[int]) -> bool:
        """Add the minutes and the presence for the session (sets); False when the attendee does not exist."""


def parse_report(body: bytes, zone: ZoneInfo) -> list[ReportRow]:
    """The report's rows; InvalidRequest naming each problem (up to 20) for a file that is not such a report."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            [FieldError("body", "The file is not UTF-8 text; export the report from Zoom as CSV.")]
        ) from exc
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InvalidRequest([FieldError("body", f"The file is not valid CSV: {exc}.")]) from exc
    header_at = next(
        (
            i
            for i, cells in enumerate(lines[:HEADER_SEARCH_ROWS])
            if {c.casefold() for c in REQUIRED_COLUMNS} <= {c.strip().casefold() for c in cells}
        ),
        None,
    )
    if header_at is None:
        missing = ", ".join(REQUIRED_COLUMNS)
        message = f"This is not a Zoom participant report: its header must name the columns {missing}."
        raise InvalidRequest([FieldError("body", message)])
    # Zoom has written its headings in title case and in lower case ("Join time") over the years.
    header = [cell.strip().casefold() for cell in lines[header_at]]
    position = {column: header.index(column.casefold()) for column in REQUIRED_COLUMNS}
    rows: list[ReportRow] = []
    errors: list[FieldError] = []
    for index in range(header_at + 1, len(lines)):
        cells, line = lines[index], index + 1
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(header):
            errors.append(FieldError(f"line {line}", f"It has {len(cells)} columns; the header has {len(header)}."))
            continue
        row, problems = _row(line, {column: cells[at].strip() for column, at in position.items()}, zone)
        errors += problems
        if row is not None:
            rows.append(row)
    if errors:
        raise InvalidRequest(errors[:MAX_REPORTED_ERRORS])
    if not rows:
        raise InvalidRequest([FieldError("body", "The report has no participant rows.")])
    return rows


def _row(line: int, cells: dict[str, str], zone: ZoneInfo) -> tuple[ReportRow | None, list[FieldError]]:
    problems: list[FieldError] = []
    times: dict[str, datetime] = {}
    for column in (JOIN, LEAVE):
        try:
            times[column] = datetime.strptime(cells[column], TIME_FORMAT).replace(tzinfo=zone)
        except ValueError:
            problems.append(
                FieldError(f"line {line}", f"{column} {cells[column]!r} is not a time like 08/05/2020 09:01:30 AM.")
            )
    if not cells[DURATION].isdigit():
        problems.append(FieldError(f"line {line}", f"{DURATION} {cells[DURATION]!r} is not a whole number."))
    if problems:
        return None, problems
    if times[LEAVE] < times[JOIN]:
        return None, [FieldError(f"line {line}", f"{LEAVE} is before {JOIN}.")]
    return ReportRow(line, cells[NAME], cells[EMAIL], times[JOIN], times[LEAVE]), []


def credited_minutes(session: AgendaSession, intervals: Iterable[tuple[datetime, datetime]]) -> frozenset[int]:
    """The session's minutes (0 = its first) with at least MINUTE_CREDITED_FROM of presence in the union of the
    intervals (overlapping rejoins counted once)."""
    start, end = session.starts_at, session.ends_at
    merged: list[list[datetime]] = []
    for joined, left in sorted((max(a, start), min(b, end)) for a, b in intervals):
        if left <= joined:
            continue  # outside the session
        if merged and joined <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], left)
        else:
            merged.append([joined, left])
    presence: dict[int, timedelta] = defaultdict(timedelta)
    for joined, left in merged:
        minute = int((joined - start) // timedelta(minutes=1))
        while start + timedelta(minutes=minute) < left:
            begins = start + timedelta(minutes=minute)
            presence[minute] += min(left, begins + timedelta(minutes=1)) - max(joined, begins)
            minute += 1
    return frozenset(minute for minute, present in presence.items() if present >= MINUTE_CREDITED_FROM)


class PlatformImportService:
    def __init__(
        self, *, events: Conferences, repository: PlatformRepository, parallel_calls: int = PARALLEL_CALLS
    ) -> None:
        self._events = events
        self._repository = repository
        self._parallel_calls = parallel_calls

    def import_report(self, event_id: str, session_id: str, body: bytes) -> ImportResult:
        conference = self._events.conference(event_id)
        session = conference.session(session_id)
        if session is None:
            raise NotFound(f"The event {event_id} has no session {session_id}.")
        rows = parse_report(body, conference.zone)  # everything checked before anything is written
        emails = list(dict.fromkeys(key for row in rows if (key := normalize_email(row.email))))
        with ThreadPoolExecutor(max_workers=self._parallel_calls) as pool:
            seat_of = dict(zip(emails, pool.map(lambda key: self._attendee_id(event_id, key), emails), strict=True))
            by_attendee: dict[str, list[ReportRow]] = defaultdict(list)
            unmatched: list[ReportRow] = []
            for row in rows:
                attendee_id = seat_of.get(normalize_email(row.email))
                if attendee_id is None:
                    unmatched.append(row)
                else:
                    by_attendee[attendee_id].append(row)

            def credit(attendee_id: str, own: list[ReportRow]) -> int:
                minutes = credited_minutes(session, ((row.joined, row.left) for row in own))
                return len(minutes) if self._repository.credit_platform_minutes(attendee_id, session_id, minutes) else 0

            credited = sum(pool.map(credit, by_attendee.keys(), by_attendee.values()))
        return ImportResult(
            matched=sum(len(own) for own in by_attendee.values()),
            unmatched=len(unmatched),
            minutes_credited=credited,
            unmatched_sample=[
                UnmatchedRow(line=r.line, name=r.name, email=r.email) for r in unmatched[:UNMATCHED_SAMPLE]
            ],
        )

    def _attendee_id(self, event_id: str, email_key: str) -> str | None:
        """The attendee holding a paid (or disputed) seat of the event under this email, still active."""
        for registration_id in self._repository.seats_of(email_key):
            registration = self._repository.registration(registration_id)
            if registration is None or registration.event_id != event_id or registration.status not in HOLDS_SEAT:
                continue
            seat = next((s for s in registration.seats if s.email_key == email_key), None)
            attendee = self._repository.attendee(seat.attendee_id) if seat else None
            if attendee is not None and attendee.status is AttendeeStatus.ACTIVE:
                return attendee.attendee_id
        return None
