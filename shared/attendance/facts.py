"""One attendee's attendance facts, read the same way for /me/attendance, certificates and exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.attendance.evidence import MinuteEvidence
from shared.attendance.policy import AttendanceFacts
from shared.reactions.models import Attendee, AttendeeStatus
from shared.registration.status import RegistrationStatus


@dataclass(frozen=True)
class AttendanceRecord:
    """What the attendee's own item holds of their attendance, read at once."""

    logins: int
    days_logged_in: int  # distinct conference days with a login
    evidence: MinuteEvidence


class AttendanceReader(Protocol):
    def minutes(self, attendee_id: str) -> dict[str, int]:
        """Per agenda session, the minutes credited from any evidence, each once."""

    def evidence(self, attendee_id: str) -> MinuteEvidence:
        """The same minutes by the evidence that credited them (one read)."""

    def login_days(self, attendee_id: str) -> tuple[int, int]: ...

    def record(self, attendee_id: str) -> AttendanceRecord:
        """The logins, their days and the minutes' evidence in one read."""

    def signals(self, attendee_id: str) -> int: ...


def attendance_facts(
    reader: AttendanceReader, attendee: Attendee, registration_status: RegistrationStatus
) -> AttendanceFacts:
    record = reader.record(attendee.attendee_id)
    evidence = record.evidence
    return AttendanceFacts(
        registration_status=registration_status,
        revoked=attendee.status is AttendeeStatus.REVOKED,
        logins=record.logins,
        days_logged_in=record.days_logged_in,
        minutes_by_session=evidence.by_session,
        shared_login_signals=reader.signals(attendee.attendee_id),
        page_minutes_by_session=evidence.page_by_session,
        platform_minutes_by_session=evidence.platform_by_session,
        platform_sessions=evidence.platform_sessions,
    )
