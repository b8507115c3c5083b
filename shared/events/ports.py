"""What the events' domain needs from the outside."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from shared.events.models import EventChange, EventRecord
from shared.events.schedules import PlannedSchedule


class EventSchedules(Protocol):
    """An event's timed runs (certificate issue, reminders): one group of schedules per event."""

    def place(self, event_id: str, schedules: Sequence[PlannedSchedule]) -> None:
        """Make the event's schedules exactly these: create, move (same name, new time) and delete."""

    def remove(self, event_id: str) -> None:
        """Delete the event's schedules and their group."""


class EventRepository(Protocol):
    """Events in the table: the current version of each, and every version's change record."""

    def get(self, event_id: str) -> EventRecord | None: ...

    def all(self) -> list[EventRecord]:
        """Every event, earliest first."""

    def create(self, record: EventRecord, change: EventChange) -> None:
        """Store a new event (version 1); StaleWrite when the id is taken."""

    def save(self, record: EventRecord, change: EventChange, *, expected_version: int) -> None:
        """Store the next version; StaleWrite unless the stored version is `expected_version`."""

    def history(self, event_id: str) -> list[EventChange]:
        """The event's changes, oldest first."""

    def featured_id(self) -> str | None: ...

    def feature(self, event_id: str, *, only_if_none: bool) -> bool:
        """Make this the stack's featured event; with `only_if_none`, only when none is; True when it did."""


class EventUsage(Protocol):
    """What attendees already hold in an event: the facts that make some edits unsafe."""

    def holds_registrations(self, event_id: str) -> bool:
        """Any registration that is paid, awaiting payment or otherwise not freed (a fee change would split it)."""

    def sessions_with_attendance(self, event_id: str, session_ids: Collection[str]) -> set[str]:
        """Which of these agenda sessions someone has minutes in."""
