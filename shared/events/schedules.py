"""What each event schedules, from its data alone (pure): the adapter places these in EventBridge Scheduler,
one schedule group per event, and moves them whenever the event's dates change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.conference.models import Conference

# Certificates go out this long after the last session ends: late heartbeats and an organiser's last-minute
# attendance import have landed by then.
CERTIFICATES_AFTER_LAST_SESSION = timedelta(hours=2)
# Reminders before the first session, each named by how long before it (the outbox keys one per attendee and name).
REMINDERS: dict[str, timedelta] = {"week": timedelta(days=7), "day": timedelta(days=1), "hour": timedelta(hours=1)}

ScheduleTarget = Literal["certificate_issuer", "reminders"]


@dataclass(frozen=True)
class PlannedSchedule:
    """One run of a function at a moment of the event's own local time (`at` is timezone-aware)."""

    name: str
    at: datetime
    target: ScheduleTarget
    payload: dict[str, Any] = field(default_factory=dict)


def planned_schedules(conference: Conference) -> list[PlannedSchedule]:
    """The event's runs, each at a moment in the event's own zone: a reminder a week, a day and an hour before the
    first session, and certificates after the last session."""
    last_end = max(session.ends_at for session in conference.sessions)
    reminders = [
        PlannedSchedule(
            name=f"reminder-{reminder}",
            at=reminder_time(conference, reminder),
            target="reminders",
            payload={"event_id": conference.id, "reminder": reminder},
        )
        for reminder in REMINDERS
    ]
    return [
        *reminders,
        PlannedSchedule(
            name="certificates",
            at=_later(last_end, CERTIFICATES_AFTER_LAST_SESSION),
            target="certificate_issuer",
            payload={"event_id": conference.id},
        ),
    ]


def reminder_time(conference: Conference, reminder: str) -> datetime:
    """When the named reminder is due (KeyError for a name that is not one of REMINDERS)."""
    return _later(min(session.starts_at for session in conference.sessions), -REMINDERS[reminder])


def _later(moment: datetime, delay: timedelta) -> datetime:
    """`delay` of elapsed time after `moment` (before it, when negative), in its zone. Aware arithmetic in Python adds
    to the wall clock, so across a daylight-saving change `moment + delay` would be an hour off, or a wall time that
    does not exist."""
    return (moment.astimezone(UTC) + delay).astimezone(moment.tzinfo)
