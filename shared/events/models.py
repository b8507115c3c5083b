"""An event as the table holds it: its document, its version, published or not, and each change's record."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.conference.models import Conference, EventDocument, Money
from shared.models import Model


class EventAction(StrEnum):
    SEEDED = "event.seeded"
    CREATED = "event.created"
    UPDATED = "event.updated"
    PUBLISHED = "event.published"
    UNPUBLISHED = "event.unpublished"
    FEATURED = "event.featured"


class EventChange(Model):
    """One version's audit entry: who made it, what it did, which top-level fields it changed."""

    model_config = ConfigDict(frozen=True)

    version: int
    at: datetime
    actor: str
    action: EventAction
    changed: list[str] = []
    forced: bool = False


class EventRecord(Model):
    model_config = ConfigDict(frozen=True)

    event_id: str
    version: Annotated[int, Field(ge=1)]
    published: bool
    document: EventDocument
    updated_at: datetime
    updated_by: str

    def conference(self) -> Conference:
        return Conference.of(self.event_id, self.document)


class PublicEvent(Model):
    """One line of GET /events."""

    id: str
    name: str
    starts_on: str
    ends_on: str
    timezone: str
    fee: Money

    @classmethod
    def of(cls, record: EventRecord) -> PublicEvent:
        document = record.document
        return cls(
            id=record.event_id,
            name=document.name,
            starts_on=document.starts_on.isoformat(),
            ends_on=document.ends_on.isoformat(),
            timezone=document.timezone,
            fee=document.fee,
        )


class ListedEvent(Model):
    """One line of GET /admin/events."""

    id: str
    name: str
    published: bool
    featured: bool
    version: int
    starts_on: str
    ends_on: str


class EventList(Model):
    items: list[ListedEvent]


class EventSaved(Model):
    event_id: str
    version: int
    published: bool


class EventDetail(Model):
    """GET /admin/events/{id}: the whole document, as editable, with its version."""

    id: str
    version: int
    published: bool
    featured: bool
    updated_at: datetime
    updated_by: str
    document: EventDocument
    history: list[EventChange]
