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

ScheduleTarget = Literal["certificate_issuer"]


@dataclass(frozen=True)
class PlannedSchedule:
    """One run of a function at a moment of the event's own local time (`at` is timezone-aware)."""

    name: str
    at: datetime
    target: ScheduleTarget
    payload: dict[str, Any] = field(default_factory=dict)


def planned_schedules(conference: Conference) -> list[PlannedSchedule]:
    """The event's runs, each at a moment in the event's own zone: today, certificates after the last session."""
    last_end = max(session.ends_at for session in conference.sessions)
    return [
        PlannedSchedule(
            name="certificates",
            at=_later(last_end, CERTIFICATES_AFTER_LAST_SESSION),
            target="certificate_issuer",
            payload={"event_id": conference.id},
        )
    ]


def _later(moment: datetime, delay: timedelta) -> datetime:
    """`delay` of elapsed time after `moment`, in its zone. Aware arithmetic in Python adds to the wall clock, so
    across a daylight-saving change `moment + delay` would be an hour off, or a wall time that does not exist."""
    return (moment.astimezone(UTC) + delay).astimezone(moment.tzinfo)
