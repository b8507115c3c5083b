"""Pieces more than one service is built from.

The adapters and models are imported where they are first built, not with this module: every function imports it,
and most of their routes never build a catalog or read the seed (the organiser's function's import stays near a
bare handler's, docs/performance.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.conference.models import ConferenceFile
    from shared.events.catalog import EventCatalog
    from shared.settings import TableSettings

_catalogs: dict[tuple[str, float], EventCatalog] = {}


def event_catalog(settings: TableSettings) -> EventCatalog:
    """One catalog per container, shared by the function's services (so that an edit is forgotten by all)."""
    key = (settings.table_name, settings.event_cache_seconds)
    if key not in _catalogs:
        from shared.adapters.dynamodb_events import DynamoEventRepository
        from shared.events.catalog import EventCatalog

        _catalogs[key] = EventCatalog(DynamoEventRepository(settings.table_name), ttl_seconds=key[1])
    return _catalogs[key]


def forget_events() -> None:
    """Drop every cached event of this process (the local stack, after it empties its tables)."""
    for catalog in _catalogs.values():
        catalog.forget()


def seed_conference(settings: TableSettings) -> ConferenceFile:
    """The packaged conference (or CONFERENCE_FILE's) that a stack without events starts with."""
    from shared.conference import DEFAULT_CONFERENCE_FILE
    from shared.conference.models import ConferenceFile

    path = settings.conference_file or DEFAULT_CONFERENCE_FILE
    return ConferenceFile.model_validate_json(path.read_bytes())
