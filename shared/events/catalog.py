"""The events every function reads, each kept for a short time per container.

An organiser's edit reaches every function within `ttl_seconds` (the template's EventCacheSeconds): the
price of not reading the event item on every request. A function that writes an event forgets it at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.conference.models import Conference
from shared.errors import NotFound
from shared.events.models import EventRecord

EVENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


class EventReader(Protocol):
    def get(self, event_id: str) -> EventRecord | None: ...

    def all(self) -> list[EventRecord]: ...

    def featured_id(self) -> str | None: ...


@dataclass(frozen=True)
class _Cached:
    record: EventRecord | None
    conference: Conference | None
    until: float


_NOTHING = _Cached(None, None, 0.0)


class EventCatalog:
    def __init__(
        self, reader: EventReader, *, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._reader = reader
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._events: dict[str, _Cached] = {}
        self._featured: tuple[str | None, float] | None = None
        self._lock = threading.Lock()

    def conference(self, event_id: str) -> Conference:
        """Any event, published or not: what an attendee or a registration of it works against."""
        cached = self._cached(event_id)
        if cached.conference is None:
            raise NotFound("No event has this id.")
        return cached.conference

    def published(self, event_id: str) -> Conference:
        cached = self._cached(event_id)
        if cached.conference is None or cached.record is None or not cached.record.published:
            raise NotFound("No published event has this id.")
        return cached.conference

    def featured_id(self) -> str:
        now = self._monotonic()
        with self._lock:
            featured = self._featured
        if featured is None or featured[1] <= now:
            featured = (self._reader.featured_id(), now + self._ttl)
            with self._lock:
                self._featured = featured
        if featured[0] is None:
            raise NotFound("This stack has no event yet.")
        return featured[0]

    def featured(self) -> Conference:
        return self.published(self.featured_id())

    def all(self) -> list[EventRecord]:
        """Every event, read now (lists are for organisers and the reconciler, not per request)."""
        return self._reader.all()

    def event_ids(self) -> list[str]:
        return [record.event_id for record in self.all()]

    def forget(self, event_id: str | None = None) -> None:
        with self._lock:
            if event_id is None:
                self._events.clear()
            else:
                self._events.pop(event_id, None)
            self._featured = None

    def _cached(self, event_id: str) -> _Cached:
        if not EVENT_ID.fullmatch(event_id):
            return _NOTHING  # not an id any event can have: nothing to read
        now = self._monotonic()
        with self._lock:
            cached = self._events.get(event_id)
        if cached is not None and cached.until > now:
            return cached
        record = self._reader.get(event_id)
        fresh = _Cached(record, record.conference() if record else None, now + self._ttl)
        with self._lock:
            self._events[event_id] = fresh
        return fresh
