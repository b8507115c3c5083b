"""Pieces more than one service is built from."""

from __future__ import annotations

from shared.conference import DEFAULT_CONFERENCE_FILE, Conference, load_conference
from shared.settings import TableSettings


def conference_for(settings: TableSettings) -> Conference:
    return load_conference(settings.conference_file or DEFAULT_CONFERENCE_FILE)
