"""Time, from one place.

On AWS conference time is wall time. The local stack can move conference time (to attend a 2020
conference today) through `conference_clock.travel_to`; wall time, which Stripe, tokens and
signatures see, never moves.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ConferenceClock:
    """Wall time shifted by an offset; after `travel_to` it advances at real speed from there."""

    def __init__(self, wall: Clock | None = None) -> None:
        self._wall = wall or SystemClock()
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._wall.now() + self._offset

    def travel_to(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("conference time needs an offset")
        with self._lock:
            self._offset = moment - self._wall.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()


class FixedClock:
    """A clock that only moves when told to; for tests and deterministic runs."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


wall_clock = SystemClock()
conference_clock = ConferenceClock(wall_clock)
