"""An in-memory fake of the per-client counters (shared/limits.py), with the adapter's conditional semantics."""

from __future__ import annotations

import threading
from datetime import datetime


class InMemoryCounters:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, datetime], int] = {}
        self._lock = threading.Lock()

    def take(self, key: str, window_start: datetime, limit: int, expires: datetime) -> bool:
        with self._lock:  # the adapter's one conditional update: ADD if below the limit
            count = self.counts.get((key, window_start), 0)
            if count >= limit:
                return False
            self.counts[key, window_start] = count + 1
            return True

    def give_back(self, key: str, window_start: datetime) -> None:
        with self._lock:
            if self.counts.get((key, window_start), 0) > 0:
                self.counts[key, window_start] -= 1
