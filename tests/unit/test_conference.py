"""The conference data file: loaded, placed in its time zone, and refused when it does not add up."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.conference import DEFAULT_CONFERENCE_FILE, load_conference


def test_the_default_conference_is_the_2020_nasro_conference() -> None:
    conference = load_conference()
    assert conference.id == "nasro-2020"
    assert str(conference.starts_on) == "2020-08-05" and str(conference.ends_on) == "2020-08-07"
    assert conference.fee.amount == 20000 and conference.fee.currency == "usd"
    assert {session.day.isoformat() for session in conference.sessions} == {"2020-08-05", "2020-08-06", "2020-08-07"}


def test_sessions_are_placed_in_central_daylight_time() -> None:
    first = load_conference().sessions[0]
    assert first.starts_at.isoformat() == "2020-08-05T09:00:00-05:00"
    assert first.scheduled_minutes == 30


def test_registration_is_open_until_the_end_of_the_last_day() -> None:
    conference = load_conference()
    assert conference.is_registration_open(datetime.fromisoformat("2020-08-07T23:59:59-05:00"))
    assert not conference.is_registration_open(datetime.fromisoformat("2020-08-08T00:00:00-05:00"))


def broken(tmp_path: Path, change) -> Path:
    data = json.loads(DEFAULT_CONFERENCE_FILE.read_text())
    change(data)
    path = tmp_path / "conference.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["agenda"][1].update(starts="09:15"), "overlap"),
        (lambda d: d["agenda"][0].update(day="2020-08-09"), "outside the conference dates"),
        (lambda d: d["agenda"][0].update(ends="08:00"), "ends before it starts"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda d: d["fee"].update(amount=-1), "greater than or equal"),
        (lambda d: d.update(surprise=True), "Extra inputs"),
        (lambda d: d["agenda"].append(dict(d["agenda"][0])), "unique"),
    ],
    ids=["overlap", "outside dates", "ends before start", "time zone", "negative fee", "unknown field", "duplicate id"],
)
def test_a_conference_file_that_does_not_add_up_is_refused(tmp_path: Path, change, message: str) -> None:
    path = broken(tmp_path, change)
    with pytest.raises((ValidationError, ValueError), match=message):
        load_conference(path)
