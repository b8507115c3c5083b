"""Organisers' events: create, edit against a version, publish, feature; the seed load; the edits refused.

An edit is a whole new document (PUT), stored as the next version with its change record. Edits that would
invalidate what attendees hold are refused unless an administrator forces them: a new fee once people have
registered (they paid, or are about to pay, the old one), and removing a session someone has minutes in (their
attendance and certificate hours would lose it). Moving a session is allowed: minutes are kept per session.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from shared.clock import Clock
from shared.conference.models import ConferenceFile, EventDocument
from shared.errors import ChangeRefused, Forbidden, NotFound, VersionConflict
from shared.events.catalog import EventCatalog
from shared.events.models import (
    EventAction,
    EventChange,
    EventDetail,
    EventRecord,
    EventSaved,
    ListedEvent,
)
from shared.events.ports import EventRepository, EventSchedules, EventUsage
from shared.events.schedules import planned_schedules
from shared.registration.ports import StaleWrite

SYSTEM_ACTOR = "system"
ID_ROUNDS = 5


class EventService:
    def __init__(
        self,
        *,
        repository: EventRepository,
        usage: EventUsage,
        schedules: EventSchedules,
        catalog: EventCatalog,
        wall_clock: Clock,
    ) -> None:
        self._repository = repository
        self._usage = usage
        self._schedules = schedules
        self._catalog = catalog
        self._wall_clock = wall_clock

    def listed(self) -> list[ListedEvent]:
        featured = self._repository.featured_id()
        return [
            ListedEvent(
                id=r.event_id,
                name=r.document.name,
                published=r.published,
                featured=r.event_id == featured,
                version=r.version,
                starts_on=r.document.starts_on.isoformat(),
                ends_on=r.document.ends_on.isoformat(),
            )
            for r in self._repository.all()
        ]

    def detail(self, event_id: str) -> EventDetail:
        record = self._existing(event_id)
        return EventDetail(
            id=record.event_id,
            version=record.version,
            published=record.published,
            featured=record.event_id == self._repository.featured_id(),
            updated_at=record.updated_at,
            updated_by=record.updated_by,
            document=record.document,
            history=self._repository.history(event_id),
        )

    def seed(self, seed: ConferenceFile) -> bool:
        """Load the packaged conference when the stack has no event; True when it did. Safe to run on every
        deploy and every local start, and concurrently: the create is conditional."""
        existing = self._repository.all()
        if existing:  # a stack with events keeps them; it still gets a featured one if it has none
            self._repository.feature(existing[0].event_id, only_if_none=True)
            return False
        record = self._record(seed.id, 1, seed.document(), SYSTEM_ACTOR, published=True)
        try:
            self._repository.create(record, self._change(record, EventAction.SEEDED, SYSTEM_ACTOR))
        except StaleWrite:
            return False
        self._repository.feature(seed.id, only_if_none=True)
        self._schedules.place(seed.id, planned_schedules(record.conference()))
        return True

    def create(self, document: EventDocument, *, actor: str) -> EventSaved:
        for _ in range(ID_ROUNDS):
            record = self._record(self._new_id(document), 1, document, actor, published=False)
            try:
                self._repository.create(record, self._change(record, EventAction.CREATED, actor))
            except StaleWrite:
                continue  # the slug is taken: another suffix
            self._schedules.place(record.event_id, planned_schedules(record.conference()))
            return EventSaved(event_id=record.event_id, version=1, published=False)
        raise ChangeRefused("Could not find a free id for this event's name; change the name slightly.")

    def replace(
        self, event_id: str, document: EventDocument, *, expected_version: int, actor: str, force: bool, may_force: bool
    ) -> EventSaved:
        current = self._existing(event_id)
        if current.version != expected_version:
            raise VersionConflict(f"The event is at version {current.version}; reload it and apply your edit again.")
        refusals = self._refusals(current, document)
        if refusals and not force:
            raise ChangeRefused(" ".join(refusals) + " An administrator can force the change.")
        if refusals and not may_force:
            raise Forbidden("Only an administrator can force a change that attendees' records depend on.")
        record = self._record(event_id, current.version + 1, document, actor, published=current.published)
        changed = _changed_fields(current.document, document)
        change = self._change(record, EventAction.UPDATED, actor, changed=changed, forced=bool(refusals))
        self._save(record, change, expected_version)
        if current.conference().sessions != record.conference().sessions:
            self._schedules.place(event_id, planned_schedules(record.conference()))
        return EventSaved(event_id=event_id, version=record.version, published=record.published)

    def set_published(self, event_id: str, published: bool, *, actor: str) -> EventSaved:
        current = self._existing(event_id)
        if current.published == published:
            return EventSaved(event_id=event_id, version=current.version, published=published)
        record = self._record(event_id, current.version + 1, current.document, actor, published=published)
        action = EventAction.PUBLISHED if published else EventAction.UNPUBLISHED
        self._save(record, self._change(record, action, actor, changed=["published"]), current.version)
        return EventSaved(event_id=event_id, version=record.version, published=published)

    def feature(self, event_id: str, *, actor: str) -> EventSaved:
        """Make this the stack's featured event (GET /conference); its history records who did it."""
        current = self._existing(event_id)
        if not current.published:
            raise ChangeRefused("Publish the event before featuring it: GET /conference would answer 404.")
        if self._repository.featured_id() == event_id:
            return EventSaved(event_id=event_id, version=current.version, published=True)
        record = self._record(event_id, current.version + 1, current.document, actor, published=True)
        self._save(record, self._change(record, EventAction.FEATURED, actor, changed=["featured"]), current.version)
        self._repository.feature(event_id, only_if_none=False)
        self._catalog.forget()
        return EventSaved(event_id=event_id, version=record.version, published=True)

    def _refusals(self, current: EventRecord, document: EventDocument) -> list[str]:
        refusals = []
        if document.fee != current.document.fee and self._usage.holds_registrations(current.event_id):
            refusals.append("The fee cannot change once people have registered at the current one.")
        removed = {s.id for s in current.document.agenda} - {s.id for s in document.agenda}
        attended = sorted(self._usage.sessions_with_attendance(current.event_id, removed)) if removed else []
        if attended:
            refusals.append(f"Attendees have minutes in {', '.join(attended)}; keep the session (it may move).")
        return refusals

    def _save(self, record: EventRecord, change: EventChange, expected_version: int) -> None:
        try:
            self._repository.save(record, change, expected_version=expected_version)
        except StaleWrite:
            raise VersionConflict("The event changed meanwhile; reload it and apply your edit again.") from None
        self._catalog.forget(record.event_id)

    def _existing(self, event_id: str) -> EventRecord:
        record = self._repository.get(event_id)
        if record is None:
            raise NotFound("No event has this id.")
        return record

    def _record(
        self, event_id: str, version: int, document: EventDocument, actor: str, *, published: bool
    ) -> EventRecord:
        return EventRecord(
            event_id=event_id,
            version=version,
            published=published,
            document=document,
            updated_at=self._wall_clock.now(),
            updated_by=actor,
        )

    @staticmethod
    def _change(
        record: EventRecord, action: EventAction, actor: str, changed: list[str] | None = None, forced: bool = False
    ) -> EventChange:
        return EventChange(
            version=record.version,
            at=record.updated_at,
            actor=actor,
            action=action,
            changed=changed or [],
            forced=forced,
        )

    def _new_id(self, document: EventDocument) -> str:
        """A readable id from the name (`annual-conference-2027`), with a short suffix when it is taken."""
        base = slug(document.name)[:48].strip("-")
        base = base if len(base) >= 2 else f"event-{base}".strip("-")
        if self._repository.get(base) is None:
            return base
        return f"{base}-{secrets.token_hex(3)}"


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _changed_fields(before: EventDocument, after: EventDocument) -> list[str]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
