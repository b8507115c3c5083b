"""The conference data file, loaded and validated once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from shared.conference.models import Conference, ConferenceFile

DEFAULT_CONFERENCE_FILE = Path(__file__).with_name("nasro-2020.json")


@lru_cache(maxsize=4)
def load_conference(path: Path = DEFAULT_CONFERENCE_FILE) -> Conference:
    return Conference.from_file(ConferenceFile.model_validate_json(path.read_bytes()))


__all__ = ["DEFAULT_CONFERENCE_FILE", "Conference", "load_conference"]
