"""The local stack fires the template's schedules in conference time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.local_schedules import LocalScheduler, Schedule, schedules
from infra.template import translated_template
from shared.clock import FixedClock

START = datetime(2020, 7, 22, 14, tzinfo=UTC)


def scheduler(schedule: Schedule, clock: FixedClock) -> tuple[LocalScheduler, list[dict]]:
    calls: list[dict] = []
    return LocalScheduler([(schedule, lambda event, _context: calls.append(event), "fn")], clock.now), calls


def test_the_template_s_reconciler_schedule_is_found() -> None:
    (reconciler,) = [
        s for s in schedules(translated_template()) if s.function_logical_id == "PaymentReconcilerFunction"
    ]
    assert reconciler.interval() == timedelta(minutes=15)


def test_a_rate_schedule_fires_once_per_jump_of_conference_time() -> None:
    clock = FixedClock(START)
    every_quarter = Schedule("s", "F", "rate(15 minutes)", "UTC", {})
    local, calls = scheduler(every_quarter, clock)
    assert local.fire_due() == 0
    clock.advance(timedelta(days=3))  # the organiser moves the clock to the conference
    assert local.fire_due() == 1
    assert local.fire_due() == 0
    clock.advance(timedelta(minutes=15))
    assert local.fire_due() == 1
    assert calls[0]["source"] == "aws.scheduler"


def test_an_at_schedule_fires_once_when_conference_time_passes_it() -> None:
    clock = FixedClock(START)
    at_the_end = Schedule("end", "F", "at(2020-08-07T17:00:00)", "America/Chicago", {"action": "issue"})
    local, calls = scheduler(at_the_end, clock)
    clock.moment = datetime.fromisoformat("2020-08-07T16:59:00-05:00")
    assert local.fire_due() == 0
    clock.moment = datetime.fromisoformat("2020-08-07T17:00:00-05:00")
    assert local.fire_due() == 1 and calls == [{"source": "aws.scheduler", "schedule": "end", "action": "issue"}]
    clock.advance(timedelta(days=1))
    assert local.fire_due() == 0
