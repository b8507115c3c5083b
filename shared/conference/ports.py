"""Where the domain gets an event's conference data (shared.events.catalog.EventCatalog in the functions)."""

from __future__ import annotations

from typing import Protocol

from shared.conference.models import Conference


class Conferences(Protocol):
    def conference(self, event_id: str) -> Conference:
        """Any event, published or not (what its attendees and registrations work against); NotFound."""

    def published(self, event_id: str) -> Conference:
        """A published event; NotFound for an unknown or unpublished one."""

    def featured_id(self) -> str:
        """The stack's featured event: what GET /conference answers and a registration without event_id joins."""

    def event_ids(self) -> list[str]:
        """Every event (the reconciler and the repairs walk them all)."""
