"""An in-memory AttendanceRepository with the adapter's conditional semantics (shared/adapters/dynamodb_attendance.py):
one current session per attendee, minutes as sets, a heartbeat's write conditional on the session, signals at most
one per kind and minute, sign-out clearing the current session only if it is still the one signed out, and times
kept as the table keeps them (session ends in whole epoch seconds). `InMemoryCertificatePdfs` is the certificates' side GET /me/certificate reads."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

from shared.access import hash_access_code
from shared.attendance.evidence import MinuteEvidence
from shared.attendance.facts import AttendanceRecord
from shared.attendance.models import AccessCodeAsked, LoginSession
from shared.certificates.models import Certificate, CertificateStatus
from shared.conference.models import Money
from shared.reactions.models import Attendee, AttendeeStatus
from shared.registration.models import Checkout, Registration, Seat, normalize_email
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())  # the adapter stores `session_expires_at` as epoch seconds


class InMemoryAttendance:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.guards: dict[tuple[str, str], str] = {}  # (event id, email) -> registration
        self.attendees: dict[str, Attendee] = {}
        self.sessions: dict[str, LoginSession] = {}
        self.credited: dict[str, dict[str, set[int]]] = {}
        self.platform: dict[str, dict[str, set[int]]] = {}  # minutes from participant reports
        self.platform_sessions: dict[str, set[str]] = {}
        self.logins: dict[str, int] = {}
        self.days: dict[str, set[str]] = {}
        self.signal_records: dict[tuple[str, str, str], str] = {}  # (attendee, kind, minute) -> source
        self.access_code_requests: list[tuple[AccessCodeAsked, datetime]] = []
        self._lock = threading.Lock()

    # -- seeding: what payment and its reactions leave in the table --------------------------------------------

    def add_paid_seat(
        self,
        email: str,
        code: str,
        *,
        number: int = 1,
        status: RegistrationStatus = RegistrationStatus.PAID,
        event_id: str = "nasro-2020",
    ) -> Attendee:
        """A registration of one seat, its email guard, and the attendee with the access code's digest."""
        suffix = "a" * 23 + "abcdefghijklmnopqrstuvwxyz234567"[number]  # ids are 24 base32 characters
        registration_id, attendee_id = f"reg_{suffix}", f"att_{suffix}"
        at = datetime(2020, 7, 1, tzinfo=UTC)
        seat = Seat(attendee_id=attendee_id, first_name="Ana", last_name="Lopez", email=email, organization="PD")
        self.registrations[registration_id] = Registration(
            event_id=event_id,
            registration_id=registration_id,
            kind="individual",
            status=status,
            seats=[seat],
            amount=Money(amount=20000, currency="usd"),
            created_at=at,
            checkout_attempt=1,
            checkout_expires_at=at,
            checkout=Checkout(session_id=f"cs_test_{number}", url="https://checkout.test/cs", expires_at=at),
        )
        self.guards[event_id, normalize_email(email)] = registration_id
        attendee = Attendee(
            attendee_id=attendee_id, registration_id=registration_id, event_id=event_id, kind="individual", first_name="Ana",
            last_name="Lopez", email=email, organization="PD", access_code_hash=hash_access_code(code),
        )  # fmt: skip
        self.attendees[attendee_id] = attendee
        return attendee

    def revoke(self, attendee_id: str) -> None:
        self.attendees[attendee_id] = self.attendees[attendee_id].model_copy(update={"status": AttendeeStatus.REVOKED})

    def signal_kinds(self, attendee_id: str) -> list[str]:
        return sorted(kind for (owner, kind, _) in self.signal_records if owner == attendee_id)

    # -- the port --------------------------------------------------------------------------------------------------

    def seats_of(self, email_key: str) -> list[str]:
        return [registration for (_, email), registration in self.guards.items() if email == email_key]

    def registration(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self.attendees.get(attendee_id)

    def start_session(self, session: LoginSession, day: str | None) -> LoginSession | None:
        with self._lock:
            attendee = self.attendees.get(session.attendee_id)
            if attendee is None:  # the update's attribute_exists(pk)
                raise StaleWrite(session.attendee_id)
            self.sessions[session.token_hash] = session
            previous = attendee.current_session
            self.attendees[attendee.attendee_id] = attendee.model_copy(
                update={
                    "current_session": session.token_hash,
                    "session_expires_at": datetime.fromtimestamp(_seconds(session.expires_at), UTC),
                }
            )
            self.logins[attendee.attendee_id] = self.logins.get(attendee.attendee_id, 0) + 1
            if day:
                self.days.setdefault(attendee.attendee_id, set()).add(day)
        return self.sessions.get(previous) if previous else None

    def session(self, token_hash: str) -> LoginSession | None:
        return self.sessions.get(token_hash)

    def end_session(self, attendee_id: str, token_hash: str) -> None:
        with self._lock:
            self.sessions.pop(token_hash, None)  # the record goes either way
            attendee = self.attendees.get(attendee_id)
            if attendee is not None and attendee.current_session == token_hash:  # the transaction's condition
                self.attendees[attendee_id] = attendee.model_copy(
                    update={"current_session": None, "session_expires_at": None}
                )

    def add_access_code_request(self, request: AccessCodeAsked, expires: datetime) -> None:
        self.access_code_requests.append((request, expires))

    def credit_minute(self, attendee_id: str, token_hash: str, session_id: str, minute: int, now: datetime) -> bool:
        with self._lock:
            attendee = self.attendees.get(attendee_id)
            if (
                attendee is None
                or attendee.current_session != token_hash
                or attendee.session_expires_at is None
                or not _seconds(attendee.session_expires_at) > _seconds(now)
                or attendee.status is not AttendeeStatus.ACTIVE
            ):
                return False
            self.credited.setdefault(attendee_id, {}).setdefault(session_id, set()).add(minute)
            return True

    def minutes(self, attendee_id: str) -> dict[str, int]:
        return self.evidence(attendee_id).by_session

    def evidence(self, attendee_id: str) -> MinuteEvidence:
        return MinuteEvidence(
            page={s: frozenset(m) for s, m in sorted(self.credited.get(attendee_id, {}).items())},
            platform={s: frozenset(m) for s, m in sorted(self.platform.get(attendee_id, {}).items())},
            platform_sessions=frozenset(self.platform_sessions.get(attendee_id, set())),
        )

    def credit_platform_minutes(self, attendee_id: str, session_id: str, minutes: frozenset[int]) -> bool:
        with self._lock:
            if attendee_id not in self.attendees:  # the update's attribute_exists(pk)
                return False
            self.platform_sessions.setdefault(attendee_id, set()).add(session_id)
            if minutes:  # ADD of a set: what is there already stays once
                self.platform.setdefault(attendee_id, {}).setdefault(session_id, set()).update(minutes)
            return True

    def login_days(self, attendee_id: str) -> tuple[int, int]:
        return self.logins.get(attendee_id, 0), len(self.days.get(attendee_id, set()))

    def record(self, attendee_id: str) -> AttendanceRecord:
        return AttendanceRecord(*self.login_days(attendee_id), self.evidence(attendee_id))

    def record_signal(self, attendee_id: str, kind: str, at: datetime, detail: str) -> None:
        minute = at.replace(second=0, microsecond=0).isoformat()
        with self._lock:
            self.signal_records.setdefault((attendee_id, kind, minute), detail)  # attribute_not_exists(pk)

    def signals(self, attendee_id: str) -> int:
        return sum(1 for (owner, _, _) in self.signal_records if owner == attendee_id)


class InMemoryCertificatePdfs:
    """The CertificatePdfs port: certificates, the attendees' pointers to them, and the PDFs the stream stored."""

    def __init__(self) -> None:
        self.certificates: dict[str, Certificate] = {}
        self.pointers: dict[str, str] = {}
        self.pdfs: dict[str, bytes] = {}

    def issue(self, attendee: Any, certificate_id: str, *, stored: bytes | None = b"%PDF-1.4 stored") -> Certificate:
        """A valid certificate for the attendee, made current; `stored`: its PDF as the stream stored it (None: not
        yet)."""
        at = datetime(2020, 8, 7, 19, tzinfo=UTC)
        certificate = Certificate(
            certificate_id=certificate_id, attendee_id=attendee.attendee_id, registration_id=attendee.registration_id,
            attendee_name="Ana Lopez", conference="NASRO", hours=10.0, issued_at=date(2020, 8, 7), created_at=at,
            pdf_stored_at=at if stored is not None else None,
        )  # fmt: skip
        self.certificates[certificate_id] = certificate
        self.pointers[attendee.attendee_id] = certificate_id
        if stored is not None:
            self.pdfs[certificate_id] = stored
        return certificate

    def revoke(self, certificate_id: str) -> None:
        self.certificates[certificate_id] = self.certificates[certificate_id].model_copy(
            update={"status": CertificateStatus.REVOKED}
        )

    def current_certificate(self, attendee_id: str) -> str | None:
        return self.pointers.get(attendee_id)

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self.certificates.get(certificate_id)

    def pdf(self, certificate_id: str) -> bytes | None:
        return self.pdfs.get(certificate_id)
