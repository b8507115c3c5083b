"""Events at the ports: an in-memory event table with the adapter's conditional writes, what attendees hold,
and the schedules placed; `catalog_of(conference, ...)` for services that only read events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from shared.conference.models import Conference, EventDocument
from shared.events.catalog import EventCatalog
from shared.events.models import EventChange, EventRecord
from shared.events.schedules import PlannedSchedule
from shared.registration.ports import StaleWrite


class InMemoryEvents:
    def __init__(self) -> None:
        self.records: dict[str, EventRecord] = {}
        self.changes: dict[str, list[EventChange]] = {}
        self.featured: str | None = None
        self.reads = 0

    def get(self, event_id: str) -> EventRecord | None:
        self.reads += 1
        return self.records.get(event_id)

    def all(self) -> list[EventRecord]:
        return sorted(self.records.values(), key=lambda r: (r.document.starts_on, r.event_id))

    def create(self, record: EventRecord, change: EventChange) -> None:
        if record.event_id in self.records:  # attribute_not_exists(pk)
            raise StaleWrite(record.event_id)
        self.records[record.event_id] = record
        self.changes[record.event_id] = [change]

    def save(self, record: EventRecord, change: EventChange, *, expected_version: int) -> None:
        current = self.records.get(record.event_id)
        if current is None or current.version != expected_version:  # version = :expected
            raise StaleWrite(record.event_id)
        self.records[record.event_id] = record
        self.changes[record.event_id].append(change)

    def history(self, event_id: str) -> list[EventChange]:
        return list(self.changes.get(event_id, []))

    def featured_id(self) -> str | None:
        return self.featured

    def feature(self, event_id: str, *, only_if_none: bool) -> bool:
        if only_if_none and self.featured is not None:
            return False
        self.featured = event_id
        return True


class FakeUsage:
    """What attendees hold: set `registered` and `attended` as a test needs."""

    def __init__(self) -> None:
        self.registered: set[str] = set()  # event ids with registrations at the current fee
        self.attended: dict[str, set[str]] = {}  # event id -> session ids someone has minutes in

    def holds_registrations(self, event_id: str) -> bool:
        return event_id in self.registered

    def sessions_with_attendance(self, event_id: str, session_ids: Collection[str]) -> set[str]:
        return self.attended.get(event_id, set()) & set(session_ids)


class FakeSchedules:
    def __init__(self) -> None:
        self.groups: dict[str, list[PlannedSchedule]] = {}

    def place(self, event_id: str, schedules: Sequence[PlannedSchedule]) -> None:
        self.groups[event_id] = list(schedules)

    def remove(self, event_id: str) -> None:
        self.groups.pop(event_id, None)


def record_of(conference: Conference, *, version: int = 1, published: bool = True) -> EventRecord:
    return EventRecord(
        event_id=conference.id,
        version=version,
        published=published,
        document=document_of(conference),
        updated_at=datetime(2020, 6, 1, tzinfo=UTC),
        updated_by="system",
    )


def document_of(conference: Conference) -> EventDocument:
    """The editable document a conference was made from (its sessions back as local dates and times)."""
    fields = conference.model_dump(exclude={"id", "sessions"})
    agenda = [
        {
            "id": s.id,
            "title": s.title,
            "kind": s.kind,
            "day": s.day,
            "starts": s.starts_at.timetz().replace(tzinfo=None),
            "ends": s.ends_at.timetz().replace(tzinfo=None),
            "speakers": s.speakers,
            "join_url": s.join_url,
        }
        for s in conference.sessions
    ]
    return EventDocument.model_validate(fields | {"agenda": agenda})


def catalog_of(*conferences: Conference, featured: str | None = None) -> EventCatalog:
    """A catalog over these published events, the first featured unless `featured` says otherwise."""
    events = InMemoryEvents()
    for conference in conferences:
        events.records[conference.id] = record_of(conference)
    events.featured = featured or (conferences[0].id if conferences else None)
    return EventCatalog(events, ttl_seconds=0)
