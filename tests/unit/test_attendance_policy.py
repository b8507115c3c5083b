"""The certificate policy for one attendee, and minutes credited from any heartbeat schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.access import hash_access_code
from shared.attendance.policy import AttendanceFacts, evaluate, quarter_hours
from shared.attendance.service import AttendanceService
from shared.clock import FixedClock
from shared.conference import load_conference
from shared.conference.models import Conference
from shared.limits import ClientLimits
from shared.registration.status import RegistrationStatus
from tests.support.fakes_attendance import InMemoryAttendance, InMemoryCertificatePdfs
from tests.support.fakes_events import catalog_of
from tests.support.fakes_limits import InMemoryCounters

CONFERENCE = load_conference()
ALL = {s.id: s.scheduled_minutes for s in CONFERENCE.sessions}


def facts(**overrides: object) -> AttendanceFacts:
    values: dict[str, object] = {
        "registration_status": RegistrationStatus.PAID,
        "revoked": False,
        "logins": 3,
        "days_logged_in": 3,
        "minutes_by_session": dict(ALL),
        "shared_login_signals": 0,
    }
    return AttendanceFacts(**(values | overrides))  # type: ignore[arg-type]


def test_full_attendance_is_eligible_with_its_hours() -> None:
    result = evaluate(CONFERENCE, facts())
    assert result.eligible and result.minutes_attended == 930 and result.hours == 15.5


def test_half_the_scheduled_minutes_is_enough_and_one_less_is_not() -> None:
    sessions = CONFERENCE.sessions
    half: dict[str, int] = {}
    remaining = 465
    for s in sessions:
        half[s.id] = min(s.scheduled_minutes, remaining)
        remaining -= half[s.id]
    assert evaluate(CONFERENCE, facts(minutes_by_session=half)).eligible
    short = dict(half)
    short[sessions[0].id] -= 1
    result = evaluate(CONFERENCE, facts(minutes_by_session=short))
    assert not result.eligible
    assert any("1 more minutes would qualify you" in reason for reason in result.reasons)


def test_no_login_no_certificate() -> None:
    result = evaluate(CONFERENCE, facts(logins=0, days_logged_in=0))
    assert not result.eligible and any("not logged in" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    "status", [RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED]
)
def test_a_seat_that_is_not_paid_is_not_eligible_and_says_so(status: RegistrationStatus) -> None:
    result = evaluate(CONFERENCE, facts(registration_status=status))
    assert not result.eligible
    assert result.reasons[0] == "Your seat is not paid."


def test_refunded_or_disputed_seats_are_not_eligible() -> None:
    assert not evaluate(CONFERENCE, facts(registration_status=RegistrationStatus.REFUNDED)).eligible
    assert not evaluate(CONFERENCE, facts(revoked=True)).eligible
    assert not evaluate(CONFERENCE, facts(registration_status=RegistrationStatus.DISPUTED)).eligible


def test_shared_logins_warn_or_exclude_as_the_organiser_configures() -> None:
    warned = evaluate(CONFERENCE, facts(shared_login_signals=2))
    assert warned.eligible and any("2 times" in reason for reason in warned.reasons)
    strict = Conference.model_validate(
        CONFERENCE.model_dump() | {"certificate_policy": {"shared_login": {"action": "exclude"}}}
    )
    assert not evaluate(strict, facts(shared_login_signals=1)).eligible


def test_minutes_beyond_a_session_s_length_never_count() -> None:
    inflated = {s: m * 2 for s, m in ALL.items()}
    assert evaluate(CONFERENCE, facts(minutes_by_session=inflated)).minutes_attended == 930


def test_hours_round_to_the_nearest_quarter() -> None:
    assert [quarter_hours(m) for m in (0, 7, 8, 60, 67, 68, 930)] == [0, 0, 0.25, 1, 1, 1.25, 15.5]


KEYNOTE = CONFERENCE.session("d1-implicit-bias")
assert KEYNOTE is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-3 * 3600, max_value=3 * 3600), max_size=60))
def test_credited_minutes_are_the_distinct_in_window_minutes_of_any_schedule(offsets: list[int]) -> None:
    # Given heartbeats at arbitrary moments around the keynote (seconds from its start), repeats included
    assert KEYNOTE is not None
    repository = InMemoryAttendance()
    seat = repository.add_paid_seat("a@example.org", "ABCD-EFGH-IJKL-MNOP-QRST")
    clock = FixedClock(KEYNOTE.starts_at)
    service = AttendanceService(
        events=catalog_of(CONFERENCE),
        repository=repository,
        certificates=InMemoryCertificatePdfs(),
        conference_clock=clock,
        wall_clock=FixedClock(datetime.now(UTC)),
        limits=ClientLimits(counters=InMemoryCounters(), wall_clock=FixedClock(datetime.now(UTC))),
    )
    token = service.login(
        "a@example.org", "ABCD-EFGH-IJKL-MNOP-QRST", source_ip="203.0.113.7", user_agent=""
    ).session_token

    # When each is sent
    for offset in offsets:
        clock.moment = KEYNOTE.starts_at + timedelta(seconds=offset)
        service.heartbeat(token, KEYNOTE.id)

    # Then the credited minutes are exactly the distinct minutes inside the window, never beyond its length
    expected = {offset // 60 for offset in offsets if 0 <= offset < KEYNOTE.scheduled_minutes * 60}
    assert repository.credited.get(seat.attendee_id, {}).get(KEYNOTE.id, set()) == expected
    assert len(expected) <= KEYNOTE.scheduled_minutes


def test_the_code_digest_is_what_is_compared() -> None:
    assert hash_access_code("abcd-efgh") == hash_access_code("ABCDEFGH")
