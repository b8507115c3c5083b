"""Attendance's rules: individual logins (with every code that opens the seat), one live session per person, minutes
per agenda session, the evidence of shared logins, and the attendee's own routes (who they are, the agenda with its
stream links around each session, the certificate, signing out, asking for a code); on an in-memory repository with
the adapter's conditions."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.access import REQUESTED_CODE_LIFETIME, hash_access_code
from shared.attendance.service import (
    ACCESS_CODE_REQUEST_KEPT,
    FAILURE_LIMIT,
    SESSION_LIFETIME,
    AttendanceService,
)
from shared.clock import FixedClock
from shared.conference import load_conference
from shared.errors import (
    InvalidCredentials,
    InvalidRequest,
    InvalidSession,
    NotIssued,
    SessionSuperseded,
    TooManyRequests,
)
from shared.limits import ClientLimits
from shared.reactions.models import RequestedCode
from shared.registration.status import RegistrationStatus
from tests.support.fakes_attendance import InMemoryAttendance, InMemoryCertificatePdfs
from tests.support.fakes_events import catalog_of
from tests.support.fakes_limits import InMemoryCounters

CONFERENCE = load_conference()
KEYNOTE = "d1-implicit-bias"  # 11:30-12:45 CDT on 5 August 2020, 75 minutes
AT_KEYNOTE = datetime.fromisoformat("2020-08-05T11:40:00-05:00")
BEFORE_THE_CONFERENCE = datetime.fromisoformat("2020-07-22T09:00:00-05:00")
EMAIL, CODE = "watcher@example.org", "ABCD-EFGH-IJKL-MNOP-QRST"
OFFICE, HOME = ("203.0.113.7", "Firefox"), ("198.51.100.9", "Safari")


@pytest.fixture
def repository() -> InMemoryAttendance:
    return InMemoryAttendance()


@pytest.fixture
def seat(repository):
    return repository.add_paid_seat(EMAIL, CODE)


@pytest.fixture
def wall() -> FixedClock:
    return FixedClock(datetime(2026, 11, 27, 12, 7, tzinfo=UTC))


@pytest.fixture
def conference_time() -> FixedClock:
    return FixedClock(BEFORE_THE_CONFERENCE)


@pytest.fixture
def certificates() -> InMemoryCertificatePdfs:
    return InMemoryCertificatePdfs()


@pytest.fixture
def service(repository, certificates, wall, conference_time) -> AttendanceService:
    return AttendanceService(
        events=catalog_of(CONFERENCE),
        repository=repository,
        certificates=certificates,
        conference_clock=conference_time,
        wall_clock=wall,
        limits=ClientLimits(counters=InMemoryCounters(), wall_clock=wall),
    )


def log_in(service: AttendanceService, email: str = EMAIL, code: str = CODE, place: tuple[str, str] = OFFICE) -> str:
    return service.login(email, code, source_ip=place[0], user_agent=place[1]).session_token


class TestLogin:
    def test_the_code_logs_in_whatever_the_case_and_hyphens_of_email_and_code(self, service, repository, seat) -> None:
        # When
        answer = service.login("Watcher@EXAMPLE.org", "abcdefgh ijkl-mnop-qrst", source_ip=OFFICE[0], user_agent="")

        # Then a session for this attendee, twelve hours long, stored only as the token's digest
        assert answer.attendee_id == seat.attendee_id
        assert answer.session_token.startswith(f"{seat.attendee_id}.")
        assert len(answer.session_token) >= 40
        digest = hashlib.sha256(answer.session_token.encode()).hexdigest()
        assert set(repository.sessions) == {digest}
        assert answer.session_token not in str(repository.sessions) + str(repository.attendees)
        assert answer.expires_at == service._wall_clock.now() + SESSION_LIFETIME

    @pytest.mark.parametrize("who", ["wrong code", "unknown email", "another person's code"])
    def test_any_wrong_pair_is_the_same_refusal(self, service, repository, seat, who) -> None:
        # Given
        repository.add_paid_seat("someone.else@example.org", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", number=2)
        email, code = {
            "wrong code": (EMAIL, "AAAA-BBBB-CCCC-DDDD-EEEE"),
            "unknown email": ("nobody@example.org", CODE),
            "another person's code": ("someone.else@example.org", CODE),
        }[who]

        # When / Then
        with pytest.raises(InvalidCredentials) as refused:
            log_in(service, email, code)
        assert refused.value.detail == "The email and access code do not match a paid seat."
        assert repository.sessions == {}

    @pytest.mark.parametrize(
        ("change", "logs_in"),
        [("revoked", False), (RegistrationStatus.REFUNDED, False), (RegistrationStatus.DISPUTED, True)],
    )
    def test_only_an_active_seat_of_a_paid_or_disputed_registration_logs_in(
        self, service, repository, seat, change, logs_in
    ) -> None:
        # Given
        if change == "revoked":
            repository.revoke(seat.attendee_id)
        else:
            registration = repository.registrations[seat.registration_id]
            repository.registrations[seat.registration_id] = registration.model_copy(update={"status": change})

        # When / Then: access stays while a dispute is open, and ends with a refund
        if logs_in:
            assert log_in(service)
        else:
            with pytest.raises(InvalidCredentials):
                log_in(service)

    def test_however_many_wrong_guesses_others_make_for_an_email_its_right_code_still_signs_in(
        self, service, seat
    ) -> None:
        # Given many wrong codes for the attendee's email, from many addresses (an attacker's botnet)
        for n in range(3 * FAILURE_LIMIT):
            with pytest.raises(InvalidCredentials):
                log_in(service, code="AAAA-AAAA-AAAA-AAAA-AAAA", place=(f"198.51.100.{n}", ""))

        # When / Then the attendee's right code, from their own address, signs in
        assert log_in(service, place=OFFICE)

    def test_an_address_is_refused_for_the_rest_of_the_window_after_its_limit_and_accepted_after(
        self, service, seat, wall
    ) -> None:
        wall.moment = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a window's start
        for _ in range(FAILURE_LIMIT - 1):
            with pytest.raises(InvalidCredentials):
                log_in(service, code="AAAA-AAAA-AAAA-AAAA-AAAA")
        assert log_in(service)  # one below the limit: the right code still signs in
        with pytest.raises(InvalidCredentials):
            log_in(service, code="AAAA-AAAA-AAAA-AAAA-AAAA")

        wall.advance(timedelta(minutes=15) - timedelta(seconds=1))
        with pytest.raises(TooManyRequests):
            log_in(service)
        wall.advance(timedelta(seconds=1))
        assert log_in(service)

    def test_an_address_that_kept_failing_is_refused_for_any_email_even_ones_that_do_not_exist(
        self, service, seat
    ) -> None:
        # Given ten failures from one address, for emails that hold no seat
        for n in range(FAILURE_LIMIT):
            with pytest.raises(InvalidCredentials):
                log_in(service, f"ghost{n}@example.org", "AAAA-AAAA-AAAA-AAAA-AAAA", place=("198.51.100.200", ""))

        # When / Then a real seat's right code from that address is refused, from another address accepted
        with pytest.raises(TooManyRequests):
            log_in(service, place=("198.51.100.200", ""))
        assert log_in(service, place=OFFICE)

    def test_a_burst_of_guesses_from_one_address_gets_exactly_the_limit_checked(self, service, seat) -> None:
        # Given a hundred wrong guesses from one address, all at once
        start = threading.Barrier(50)

        def guess(n: int) -> str:
            start.wait()
            try:
                log_in(service, code=f"AAAA-AAAA-AAAA-AAAA-{n:04d}", place=("198.51.100.200", ""))
            except InvalidCredentials:
                return "checked"
            except TooManyRequests:
                return "refused"
            return "signed in"

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = Counter(pool.map(guess, range(100)))

        # Then exactly the limit of them had their code checked, however they raced
        assert answers == Counter({"checked": FAILURE_LIMIT, "refused": 100 - FAILURE_LIMIT})

    def test_right_codes_never_use_up_the_address_s_limit(self, service, repository) -> None:
        # Given more attendees than the limit, all signing in from one office address
        seats = [
            repository.add_paid_seat(f"officer{n}@example.org", CODE, number=n + 2) for n in range(FAILURE_LIMIT + 5)
        ]

        # Then every one of them signs in
        for seat in seats:
            assert log_in(service, email=seat.email)

    def test_an_unknown_email_reads_what_a_known_one_reads(self, repository, certificates, wall, conference_time, seat):
        recording = Recording(repository)
        service = AttendanceService(
            events=catalog_of(CONFERENCE), repository=recording, certificates=certificates,
            conference_clock=conference_time, wall_clock=wall,
            limits=ClientLimits(counters=InMemoryCounters(), wall_clock=wall),
        )  # fmt: skip
        with pytest.raises(InvalidCredentials):
            service.login(EMAIL, "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip="203.0.113.7", user_agent="")
        known = list(recording.called)
        recording.called.clear()
        with pytest.raises(InvalidCredentials):
            service.login("nobody@example.org", "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip="203.0.113.7", user_agent="")
        assert recording.called == known == ["seats_of", "registration", "attendee"]

    def test_only_a_login_on_a_conference_day_counts_as_a_day_logged_in(
        self, service, repository, seat, conference_time
    ) -> None:
        # When the attendee logs in a week early, the evening before (in Chicago), twice on the first day and
        # on the last evening: the clock says UTC, the days are the conference's own
        for moment in (
            "2020-07-29T15:00:00+00:00",
            "2020-08-05T02:00:00+00:00",  # 21:00 on 4 August in Chicago
            "2020-08-05T13:00:00+00:00",
            "2020-08-05T14:00:00+00:00",
            "2020-08-08T03:00:00+00:00",  # 22:00 on 7 August in Chicago
        ):
            conference_time.moment = datetime.fromisoformat(moment)
            log_in(service)

        # Then five logins, on two conference days
        assert repository.login_days(seat.attendee_id) == (5, 2)


class TestOneSessionPerPerson:
    def test_a_login_from_another_place_supersedes_the_first_session_and_records_the_evidence(
        self, service, repository, seat, conference_time
    ) -> None:
        # Given a login at the office
        conference_time.moment = AT_KEYNOTE
        first = log_in(service, place=OFFICE)
        assert service.heartbeat(first, KEYNOTE)

        # When the same code logs in at home while the first session is still live
        second = log_in(service, place=HOME)

        # Then the first session is over, the second works, and both uses are evidence (once per minute)
        with pytest.raises(SessionSuperseded):
            service.heartbeat(first, KEYNOTE)
        with pytest.raises(SessionSuperseded):
            service.my_attendance(first)
        assert service.heartbeat(second, KEYNOTE)
        assert repository.signal_kinds(seat.attendee_id) == ["login_from_another_place", "superseded_session_in_use"]
        reasons = service.my_attendance(second).reasons
        assert any("two places at once (2 times)" in reason for reason in reasons)

    def test_logging_in_again_from_the_same_place_is_not_evidence(self, service, repository, seat) -> None:
        log_in(service, place=OFFICE)
        token = log_in(service, place=OFFICE)
        assert repository.signals(seat.attendee_id) == 0
        assert not any("two places" in reason for reason in service.my_attendance(token).reasons)

    def test_logging_in_elsewhere_after_the_first_session_expired_is_not_evidence(
        self, service, repository, seat, wall
    ) -> None:
        log_in(service, place=OFFICE)
        wall.advance(SESSION_LIFETIME)
        log_in(service, place=HOME)
        assert repository.signals(seat.attendee_id) == 0

    def test_a_session_ends_after_twelve_hours(self, service, seat, wall, conference_time) -> None:
        # Given
        token = log_in(service)
        conference_time.moment = AT_KEYNOTE

        # When
        wall.advance(SESSION_LIFETIME)

        # Then
        with pytest.raises(InvalidSession, match="unknown or has expired"):
            service.heartbeat(token, KEYNOTE)
        with pytest.raises(InvalidSession, match="unknown or has expired"):
            service.my_attendance(token)

    def test_a_seat_refunded_after_its_login_loses_the_session(
        self, service, repository, seat, conference_time
    ) -> None:
        token = log_in(service)
        repository.revoke(seat.attendee_id)
        conference_time.moment = AT_KEYNOTE
        with pytest.raises(InvalidSession, match="no longer has access"):
            service.heartbeat(token, KEYNOTE)
        assert repository.minutes(seat.attendee_id) == {}

    @pytest.mark.parametrize(
        "token",
        ["", "nope", "Bearer x", "att_aaaaaaaaaaaaaaaaaaaaaaab", "att_aaaaaaaaaaaaaaaaaaaaaaab.", "reg_1.secret"],
    )
    def test_anything_but_a_live_token_of_ours_is_an_invalid_session(self, service, seat, token) -> None:
        with pytest.raises(InvalidSession):
            service.my_attendance(token)
        with pytest.raises(InvalidSession):
            service.heartbeat(token, KEYNOTE)

    def test_a_well_formed_token_that_was_never_issued_is_an_invalid_session(self, service, seat) -> None:
        log_in(service)
        with pytest.raises(InvalidSession, match="unknown or has expired"):
            service.my_attendance(f"{seat.attendee_id}.not-the-secret")

    def test_a_session_the_attendee_s_item_does_not_date_is_logged_in_again(self, service, repository, seat) -> None:
        # Given an attendee item written before it recorded when its session ends
        token = log_in(service)
        attendee = repository.attendees[seat.attendee_id]
        repository.attendees[seat.attendee_id] = attendee.model_copy(update={"session_expires_at": None})

        # When / Then
        with pytest.raises(InvalidSession, match="unknown or has expired"):
            service.my_attendance(token)


class TestHeartbeats:
    @pytest.mark.parametrize(
        ("moment", "credited"),
        [
            ("2020-08-05T11:29:59-05:00", 0),  # a second before the start
            ("2020-08-05T11:30:00-05:00", 1),  # the first minute
            ("2020-08-05T12:44:59-05:00", 1),  # the last minute
            ("2020-08-05T12:45:00-05:00", 0),  # the end: not part of the session
            ("2020-08-06T11:40:00-05:00", 0),  # the next day
        ],
    )
    def test_only_minutes_inside_the_session_s_window_count(
        self, service, repository, seat, conference_time, moment, credited
    ) -> None:
        # Given
        token = log_in(service)
        conference_time.moment = datetime.fromisoformat(moment)

        # When
        answer = service.heartbeat(token, KEYNOTE)

        # Then a heartbeat outside the window is accepted and counts nothing
        assert answer is bool(credited)
        assert repository.minutes(seat.attendee_id).get(KEYNOTE, 0) == credited

    def test_repeated_heartbeats_in_a_minute_count_it_once(self, service, repository, seat, conference_time) -> None:
        # Given
        token = log_in(service)
        conference_time.moment = AT_KEYNOTE

        # When three heartbeats arrive in one minute, and one in the next
        for seconds in (0, 15, 45):
            conference_time.moment = AT_KEYNOTE + timedelta(seconds=seconds)
            service.heartbeat(token, KEYNOTE)
        conference_time.moment = AT_KEYNOTE + timedelta(seconds=70)
        service.heartbeat(token, KEYNOTE)

        # Then
        assert repository.minutes(seat.attendee_id) == {KEYNOTE: 2}

    def test_concurrent_duplicate_heartbeats_count_one_minute(self, service, repository, seat, conference_time) -> None:
        token = log_in(service)
        conference_time.moment = AT_KEYNOTE
        start = threading.Barrier(10)

        def beat(_: int) -> bool:
            start.wait()
            return service.heartbeat(token, KEYNOTE)

        with ThreadPoolExecutor(max_workers=10) as pool:
            assert all(pool.map(beat, range(10)))
        assert repository.minutes(seat.attendee_id) == {KEYNOTE: 1}

    def test_an_unknown_agenda_session_is_refused_on_the_field_once_the_session_is_checked(
        self, service, seat, conference_time
    ) -> None:
        token = log_in(service)
        conference_time.moment = AT_KEYNOTE
        with pytest.raises(InvalidRequest) as refused:
            service.heartbeat(token, "no-such-session")
        assert [error.field for error in refused.value.errors] == ["session_id"]
        # and an unauthenticated heartbeat learns nothing about the agenda
        with pytest.raises(InvalidSession):
            service.heartbeat(f"{seat.attendee_id}.forged", "no-such-session")

    def test_a_superseded_session_s_heartbeats_are_evidence_once_per_minute(
        self, service, repository, seat, conference_time
    ) -> None:
        # Given a session superseded by a login from the same place
        conference_time.moment = AT_KEYNOTE
        first = log_in(service)
        log_in(service)

        # When the first keeps beating within a minute
        for _ in range(3):
            with pytest.raises(SessionSuperseded):
                service.heartbeat(first, KEYNOTE)

        # Then one piece of evidence, and no minute credited to it
        assert repository.signal_kinds(seat.attendee_id) == ["superseded_session_in_use"]
        assert repository.minutes(seat.attendee_id) == {}


class TestMyAttendance:
    def test_progress_per_session_and_the_reasons_in_words(self, service, seat, conference_time) -> None:
        # Given a login on the first day and one minute of the keynote
        conference_time.moment = AT_KEYNOTE
        token = log_in(service)
        service.heartbeat(token, KEYNOTE)

        # When
        attendance = service.my_attendance(token)

        # Then
        assert attendance.attendee_id == seat.attendee_id
        assert attendance.days_logged_in == 1
        assert attendance.eligible is False and attendance.hours == 0
        assert len(attendance.sessions) == len(CONFERENCE.sessions) == 13
        keynote = next(s for s in attendance.sessions if s.session_id == KEYNOTE)
        assert (keynote.minutes_attended, keynote.minutes_scheduled) == (1, 75)
        assert any("You attended 1 of 930 scheduled minutes" in reason for reason in attendance.reasons)
        assert any("logged in with your own access code on 1 day." in reason for reason in attendance.reasons)


SECOND_CODE = "ZYXW-VUTS-RQPO-NMLK-JIHG"


def with_requested_code(repository: InMemoryAttendance, attendee_id: str, code: str, issued_at: datetime) -> None:
    """What the stream leaves when it sends an access code the attendee asked for."""
    attendee = repository.attendees[attendee_id]
    requested = (*attendee.requested_codes, RequestedCode(code_hash=hash_access_code(code), issued_at=issued_at))
    repository.attendees[attendee_id] = attendee.model_copy(update={"requested_codes": requested})


class TestSeveralCodes:
    def test_a_code_asked_for_works_alongside_the_current_one(self, service, repository, seat, wall) -> None:
        # Given a code sent on request an hour ago, beside the confirmation's
        with_requested_code(repository, seat.attendee_id, SECOND_CODE, wall.now() - timedelta(hours=1))

        # When / Then both log in, and a code of neither does not
        assert log_in(service, code=CODE)
        assert log_in(service, code=SECOND_CODE.lower())
        with pytest.raises(InvalidCredentials):
            log_in(service, code="AAAA-BBBB-CCCC-DDDD-EEEE")

    @pytest.mark.parametrize(("age", "logs_in"), [(REQUESTED_CODE_LIFETIME - timedelta(seconds=1), True),
                                                  (REQUESTED_CODE_LIFETIME, False)])  # fmt: skip
    def test_a_code_asked_for_works_for_thirty_days(self, service, repository, seat, wall, age, logs_in) -> None:
        with_requested_code(repository, seat.attendee_id, SECOND_CODE, wall.now() - age)
        if logs_in:
            assert log_in(service, code=SECOND_CODE)
        else:
            with pytest.raises(InvalidCredentials):
                log_in(service, code=SECOND_CODE)
        assert log_in(service, code=CODE)  # the current code, whatever its age

    def test_a_requested_code_opens_only_its_own_seat(self, service, repository, seat, wall) -> None:
        other = repository.add_paid_seat("someone.else@example.org", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", number=2)
        with_requested_code(repository, other.attendee_id, SECOND_CODE, wall.now())
        with pytest.raises(InvalidCredentials):
            log_in(service, code=SECOND_CODE)


class Recording:
    """The repository, with the name of every method called through it kept in order."""

    def __init__(self, inner: InMemoryAttendance) -> None:
        self.inner, self.called = inner, list[str]()

    def __getattr__(self, name: str) -> Any:
        self.called.append(name)
        return getattr(self.inner, name)


class TestAccessCodeRequests:
    def test_a_request_is_stored_for_the_stream_and_an_unknown_email_does_exactly_the_same(
        self, repository, certificates, wall, conference_time, seat
    ) -> None:
        # Given the service over a repository that records what is asked of it
        recording = Recording(repository)
        service = AttendanceService(
            events=catalog_of(CONFERENCE), repository=recording, certificates=certificates,
            conference_clock=conference_time, wall_clock=wall,
            limits=ClientLimits(counters=InMemoryCounters(), wall_clock=wall),
        )  # fmt: skip

        # When a seat's email (in another case) and an email without a seat ask for a code
        service.request_access_code("Watcher@EXAMPLE.org", source_ip="203.0.113.7")
        known = list(recording.called)
        service.request_access_code("nobody@example.org", source_ip="203.0.113.7")

        # Then each is one write of the request and nothing else: no read that depends on the email
        assert known == ["add_access_code_request"]
        assert recording.called == ["add_access_code_request", "add_access_code_request"]
        (first, first_expires), (second, second_expires) = repository.access_code_requests
        assert (first.email_key, second.email_key) == (EMAIL, "nobody@example.org")
        assert first.request_id != second.request_id and first.request_id.startswith("acr_")
        assert (
            first.requested_at == wall.now()
            and first_expires == second_expires == wall.now() + ACCESS_CODE_REQUEST_KEPT
        )
        # and no code changed: the stream sends it, if the email holds a seat
        assert repository.attendees[seat.attendee_id].requested_codes == ()


class TestMe:
    def test_the_token_s_attendee_as_they_registered(self, service, seat) -> None:
        me = service.me(log_in(service))
        assert me.model_dump() == {
            "attendee_id": seat.attendee_id, "first_name": "Ana", "last_name": "Lopez", "organization": "PD",
            "registration_kind": "individual",
        }  # fmt: skip

    def test_a_superseded_or_unknown_token_is_refused(self, service, seat) -> None:
        first = log_in(service)
        log_in(service)
        with pytest.raises(SessionSuperseded):
            service.me(first)
        with pytest.raises(InvalidSession):
            service.me(f"{seat.attendee_id}.nasro-2020.forged")


@pytest.mark.parametrize(
    "call",
    [
        lambda service, token: service.me(token),
        lambda service, token: service.my_sessions(token),
        lambda service, token: service.my_attendance(token),
        lambda service, token: service.my_certificate(token),
        lambda service, token: service.sign_out(token),
        lambda service, token: service.heartbeat(token, KEYNOTE),
    ],
    ids=["me", "my sessions", "my attendance", "my certificate", "sign out", "heartbeat"],
)
def test_every_route_of_the_session_refuses_a_superseded_expired_or_unknown_token(
    service, seat, wall, conference_time, call
) -> None:
    conference_time.moment = AT_KEYNOTE
    expired = log_in(service)
    wall.advance(timedelta(hours=13))  # past the session's twelve hours
    superseded, current = log_in(service), log_in(service)

    with pytest.raises(SessionSuperseded):
        call(service, superseded)
    for token in (expired, f"{seat.attendee_id}.nasro-2020.forged", "not-a-token"):
        with pytest.raises(InvalidSession):
            call(service, token)
    service.me(current)  # and none of it ended the current session


JOIN = "https://zoom.example.org/j/keynote"
WITH_A_LINK = CONFERENCE.model_copy(
    update={
        "sessions": [s.model_copy(update={"join_url": JOIN}) if s.id == KEYNOTE else s for s in CONFERENCE.sessions]
    }
)


class TestMySessions:
    @pytest.fixture
    def service(self, repository, certificates, wall, conference_time) -> AttendanceService:
        return AttendanceService(
            events=catalog_of(WITH_A_LINK), repository=repository, certificates=certificates,
            conference_clock=conference_time, wall_clock=wall,
            limits=ClientLimits(counters=InMemoryCounters(), wall_clock=wall),
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("moment", "join_url", "live"),
        [
            ("2020-08-05T11:14:59-05:00", None, False),  # a second before the link opens
            ("2020-08-05T11:15:00-05:00", JOIN, False),  # 15 minutes before the start: the link, not yet live
            ("2020-08-05T11:30:00-05:00", JOIN, True),  # the start
            ("2020-08-05T12:44:59-05:00", JOIN, True),  # its last second
            ("2020-08-05T12:45:00-05:00", None, False),  # the end: over, no link
            ("2020-08-05T17:15:00+00:00", JOIN, True),  # the same rules whatever zone the clock says (12:15 CDT)
        ],
    )
    def test_the_stream_link_from_15_minutes_before_the_start_until_the_end(
        self, service, seat, conference_time, moment, join_url, live
    ) -> None:
        # Given
        token = log_in(service)
        conference_time.moment = datetime.fromisoformat(moment)

        # When
        sessions = {s.id: s for s in service.my_sessions(token)}

        # Then
        assert (sessions[KEYNOTE].join_url, sessions[KEYNOTE].live) == (join_url, live)
        assert [s.id for s in sessions.values() if s.id != KEYNOTE and s.join_url] == []  # they have none set

    def test_the_agenda_in_the_event_s_zone_with_speakers_and_no_link_where_none_is_set(
        self, service, seat, conference_time
    ) -> None:
        # Given a session without a stream link, while it runs
        token = log_in(service)
        conference_time.moment = datetime.fromisoformat("2020-08-05T09:10:00-05:00")

        # When
        sessions = json.loads("[" + ",".join(s.model_dump_json() for s in service.my_sessions(token)) + "]")

        # Then every session in order, times with the event's offset (CDT), and the running one live without a link
        assert [s["id"] for s in sessions] == [s.id for s in CONFERENCE.sessions]
        assert sessions[0] == {
            "id": "d1-welcome", "title": "Welcome and State of SRO Programs", "kind": "opening", "day": "2020-08-05",
            "starts_at": "2020-08-05T09:00:00-05:00", "ends_at": "2020-08-05T09:30:00-05:00",
            "speakers": ["Mo Canady, Executive Director, NASRO"], "live": True, "join_url": None,
        }  # fmt: skip

    def test_an_ended_session_is_refused(self, service, seat, wall) -> None:
        token = log_in(service)
        wall.advance(SESSION_LIFETIME)
        with pytest.raises(InvalidSession):
            service.my_sessions(token)


class TestMyCertificate:
    def test_the_valid_certificate_s_stored_pdf(self, service, certificates, seat) -> None:
        certificates.issue(seat, "crt_one", stored=b"%PDF-1.4 the one emailed")
        answer = service.my_certificate(log_in(service))
        assert (answer.certificate_id, answer.pdf) == ("crt_one", b"%PDF-1.4 the one emailed")

    def test_not_issued_before_it_is_issued(self, service, seat) -> None:
        with pytest.raises(NotIssued, match="No certificate of attendance has been issued"):
            service.my_certificate(log_in(service))

    def test_not_issued_while_its_pdf_is_still_being_made(self, service, certificates, seat) -> None:
        certificates.issue(seat, "crt_one", stored=None)
        with pytest.raises(NotIssued, match="being prepared"):
            service.my_certificate(log_in(service))

    def test_not_issued_after_it_is_revoked(self, service, certificates, seat) -> None:
        certificates.issue(seat, "crt_one")
        certificates.revoke("crt_one")
        with pytest.raises(NotIssued, match="revoked"):
            service.my_certificate(log_in(service))

    def test_a_reissued_certificate_answers_the_new_one(self, service, certificates, seat) -> None:
        certificates.issue(seat, "crt_old", stored=b"old")
        certificates.revoke("crt_old")
        certificates.issue(seat, "crt_new", stored=b"new")
        assert service.my_certificate(log_in(service)).pdf == b"new"

    def test_the_session_is_checked_first(self, service, certificates, seat) -> None:
        certificates.issue(seat, "crt_one")
        with pytest.raises(InvalidSession):
            service.my_certificate(f"{seat.attendee_id}.nasro-2020.forged")


class TestSignOut:
    def test_the_token_stops_working_everywhere_and_it_is_not_evidence(
        self, service, repository, seat, conference_time
    ) -> None:
        # Given a session, inside the keynote
        conference_time.moment = AT_KEYNOTE
        token = log_in(service)

        # When the attendee signs out
        service.sign_out(token)

        # Then the token is unknown: no route answers it, no minute is credited, nothing is recorded as sharing
        for use in (service.my_attendance, service.me, service.my_sessions, service.sign_out):
            with pytest.raises(InvalidSession, match="unknown or has expired"):
                use(token)
        with pytest.raises(InvalidSession):
            service.heartbeat(token, KEYNOTE)
        assert repository.minutes(seat.attendee_id) == {}
        assert repository.sessions == {} and repository.attendees[seat.attendee_id].current_session is None
        assert repository.signals(seat.attendee_id) == 0
        # and logging in again works
        assert service.heartbeat(log_in(service), KEYNOTE)

    def test_a_superseded_token_cannot_end_the_newer_session(self, service, seat, conference_time) -> None:
        conference_time.moment = AT_KEYNOTE
        first = log_in(service)
        second = log_in(service)
        with pytest.raises(SessionSuperseded):
            service.sign_out(first)
        assert service.heartbeat(second, KEYNOTE)

    def test_ending_a_session_that_is_no_longer_current_leaves_the_current_one(self, repository, seat) -> None:
        # The port's rule, as the adapter's transaction has it: a newer login made another session current
        # between the check and the write; the old record goes, the newer session stays.
        service_token = "digest-of-the-old-token"
        repository.attendees[seat.attendee_id] = seat.model_copy(update={"current_session": "digest-of-the-newer"})
        repository.end_session(seat.attendee_id, service_token)
        assert repository.attendees[seat.attendee_id].current_session == "digest-of-the-newer"
