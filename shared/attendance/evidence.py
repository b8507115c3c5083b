"""An attendee's minutes by the evidence that credited them: the conference page's heartbeats and the streaming
platform's participant reports. The same minute of a session in both is one minute (sets, unioned)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MinuteEvidence:
    # Per agenda session id, the conference minutes credited (0 = the session's first minute).
    page: dict[str, frozenset[int]] = field(default_factory=dict)
    platform: dict[str, frozenset[int]] = field(default_factory=dict)
    # The sessions whose participant report has a row under this attendee's email (individual presence).
    platform_sessions: frozenset[str] = frozenset()

    @property
    def by_session(self) -> dict[str, int]:
        """Every minute credited, each once."""
        sessions = self.page.keys() | self.platform.keys()
        union = {s: len(self.page.get(s, frozenset()) | self.platform.get(s, frozenset())) for s in sessions}
        return {session: count for session, count in sorted(union.items()) if count}

    @property
    def page_by_session(self) -> dict[str, int]:
        return {session: len(minutes) for session, minutes in self.page.items() if minutes}

    @property
    def platform_by_session(self) -> dict[str, int]:
        return {session: len(minutes) for session, minutes in self.platform.items() if minutes}

    @classmethod
    def of_page_counts(cls, counts: dict[str, int]) -> MinuteEvidence:
        """Heartbeat minutes known only by their count (the session's first minutes): a reader that keeps no sets."""
        return cls(page={session: frozenset(range(count)) for session, count in counts.items()})
