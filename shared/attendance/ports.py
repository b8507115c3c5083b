"""What attendance needs from the table."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.attendance.evidence import MinuteEvidence
from shared.attendance.facts import AttendanceRecord
from shared.attendance.models import AccessCodeAsked, LoginSession
from shared.certificates.models import Certificate
from shared.reactions.models import Attendee
from shared.registration.models import Registration


class AttendanceRepository(Protocol):
    def seats_of(self, email_key: str) -> list[str]:
        """The registrations holding this email's seats (one per event)."""

    def registration(self, registration_id: str) -> Registration | None: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def start_session(self, session: LoginSession, day: str | None) -> LoginSession | None:
        """Store the session, make it the attendee's one current session, count the login and its
        conference day (if any); return the session it replaced, if any."""

    def session(self, token_hash: str) -> LoginSession | None: ...

    def end_session(self, attendee_id: str, token_hash: str) -> None:
        """Sign out: delete the session's record and, in the same transaction, clear the attendee's current session
        if it is still this one (a newer login's is left alone; the record goes either way)."""

    def add_access_code_request(self, request: AccessCodeAsked, expires: datetime) -> None:
        """Store the request (the stream answers it); one write, whoever the email belongs to."""

    def credit_minute(self, attendee_id: str, token_hash: str, session_id: str, minute: int, now: datetime) -> bool:
        """Add the minute to the attendee's set for the agenda session (adding it again changes nothing), in
        one write conditional on `token_hash` being the attendee's current session, unexpired at `now`, and
        the seat active. False (nothing written) when that does not hold."""

    def minutes(self, attendee_id: str) -> dict[str, int]:
        """Per agenda session, the minutes credited from any evidence, each once."""

    def evidence(self, attendee_id: str) -> MinuteEvidence: ...

    def login_days(self, attendee_id: str) -> tuple[int, int]:
        """(logins, distinct conference days with a login)."""

    def record(self, attendee_id: str) -> AttendanceRecord:
        """The logins, their days and the minutes' evidence in one read."""

    def record_signal(self, attendee_id: str, kind: str, at: datetime, detail: str) -> None:
        """Evidence of a shared login; one per kind and minute at most."""

    def signals(self, attendee_id: str) -> int: ...


class CertificatePdfs(Protocol):
    """The certificates' table side and the PDFs the stream stored (GET /me/certificate)."""

    def current_certificate(self, attendee_id: str) -> str | None: ...

    def certificate(self, certificate_id: str) -> Certificate | None: ...

    def pdf(self, certificate_id: str) -> bytes | None:
        """The stored PDF; None when there is none."""
