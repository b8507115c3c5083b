"""What an event schedules, from its data alone: certificates two hours after its last session, in its own zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.conference import DEFAULT_CONFERENCE_FILE, Conference, load_conference
from shared.conference.models import ConferenceFile
from shared.events.schedules import CERTIFICATES_AFTER_LAST_SESSION, PlannedSchedule, planned_schedules


def event(event_id: str, timezone: str, agenda: list[dict[str, Any]]) -> Conference:
    """The NASRO file with another id, zone and agenda (its dates are the agenda's first and last days)."""
    data = json.loads(DEFAULT_CONFERENCE_FILE.read_text())
    days = sorted(entry["day"] for entry in agenda)
    data |= {"id": event_id, "timezone": timezone, "starts_on": days[0], "ends_on": days[-1], "agenda": agenda}
    return Conference.from_file(ConferenceFile.model_validate(data))


def by_name(schedules: list[PlannedSchedule]) -> dict[str, PlannedSchedule]:
    return {schedule.name: schedule for schedule in schedules}


def session(session_id: str, day: str, starts: str, ends: str) -> dict[str, Any]:
    return {"id": session_id, "kind": "general_session", "day": day, "starts": starts, "ends": ends, "title": "T"}


def test_the_nasro_certificates_go_out_two_hours_after_the_closing_session_in_central_time() -> None:
    certificates = by_name(planned_schedules(load_conference()))["certificates"]

    assert certificates == PlannedSchedule(
        name="certificates",
        at=datetime(2020, 8, 7, 17, 0, tzinfo=ZoneInfo("America/Chicago")),
        target="certificate_issuer",
        payload={"event_id": "nasro-2020"},
    )
    assert certificates.at.tzinfo == ZoneInfo("America/Chicago")  # the event's zone, not UTC: wall time is kept
    assert certificates.at == datetime(2020, 8, 7, 22, 0, tzinfo=UTC)


def test_the_last_session_is_the_one_that_ends_last_whatever_the_agenda_s_order() -> None:
    berlin = event(
        "summit-2021",
        "Europe/Berlin",
        [
            session("late", "2021-06-02", "16:00", "18:30"),  # listed first, ends last
            session("early", "2021-06-01", "09:00", "10:00"),
            session("same-day", "2021-06-02", "09:00", "12:00"),
        ],
    )

    certificates = by_name(planned_schedules(berlin))["certificates"]

    assert certificates.at == datetime(2021, 6, 2, 20, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert str(certificates.at.tzinfo) == "Europe/Berlin"
    assert certificates.payload == {"event_id": "summit-2021"}
    assert certificates.target == "certificate_issuer"


def test_two_hours_are_two_elapsed_hours_across_a_daylight_saving_change() -> None:
    # Berlin springs forward at 02:00 on 28 March 2021: two hours after 01:30 CET is 04:30 CEST, not the wall
    # clock's 03:30 (one elapsed hour).
    spring = event("spring-2021", "Europe/Berlin", [session("small-hours", "2021-03-28", "00:00", "01:30")])
    certificates = by_name(planned_schedules(spring))["certificates"]
    ends = spring.sessions[-1].ends_at
    assert (
        certificates.at.astimezone(UTC) - ends.astimezone(UTC) == CERTIFICATES_AFTER_LAST_SESSION == timedelta(hours=2)
    )
    assert (certificates.at.hour, certificates.at.minute) == (4, 30)
    assert certificates.at.utcoffset() == timedelta(hours=2)


def test_the_nasro_reminders_go_out_a_week_a_day_and_an_hour_before_the_first_session() -> None:
    planned = by_name(planned_schedules(load_conference()))
    central = ZoneInfo("America/Chicago")
    first = datetime(2020, 8, 5, 9, 0, tzinfo=central)  # the opening session
    assert {name: (s.at, s.target, s.payload) for name, s in planned.items() if s.target == "reminders"} == {
        "reminder-week": (first - timedelta(days=7), "reminders", {"event_id": "nasro-2020", "reminder": "week"}),
        "reminder-day": (first - timedelta(days=1), "reminders", {"event_id": "nasro-2020", "reminder": "day"}),
        "reminder-hour": (first - timedelta(hours=1), "reminders", {"event_id": "nasro-2020", "reminder": "hour"}),
    }
    assert all(s.at.tzinfo == central for s in planned.values())


def test_the_first_session_is_the_one_that_starts_first_whatever_the_agenda_s_order() -> None:
    berlin = event(
        "summit-2021",
        "Europe/Berlin",
        [session("late", "2021-06-02", "16:00", "18:30"), session("early", "2021-06-01", "09:00", "10:00")],
    )
    assert by_name(planned_schedules(berlin))["reminder-hour"].at == datetime(
        2021, 6, 1, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )
