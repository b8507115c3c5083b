"""Individual logins (one active session per person), minutes credited per agenda session, the evidence of
shared logins that the certificate policy weighs, and the attendee's own conference: who they are, the agenda with
its stream links around each session, their certificate, signing out, and asking for a new access code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import NoReturn

from shared.access import hash_access_code
from shared.attendance.facts import attendance_facts
from shared.attendance.models import (
    AccessCodeAsked,
    CertificateFile,
    LoginAnswer,
    LoginSession,
    MyAttendance,
    MyProfile,
    MySession,
    SessionAttendance,
)
from shared.attendance.policy import evaluate
from shared.attendance.ports import AttendanceRepository, CertificatePdfs
from shared.certificates.models import CertificateStatus
from shared.clock import Clock
from shared.conference.models import AgendaSession
from shared.conference.ports import Conferences
from shared.errors import (
    FieldError,
    InvalidCredentials,
    InvalidRequest,
    InvalidSession,
    NotFound,
    NotIssued,
    SessionSuperseded,
)
from shared.ids import is_id, new_id
from shared.limits import ClientLimits, access_codes_per_hour, sign_in_failures_per_quarter_hour
from shared.reactions.models import Attendee, AttendeeStatus
from shared.registration.models import normalize_email
from shared.registration.status import RegistrationStatus

SESSION_LIFETIME = timedelta(hours=12)
# Failed sign-ins allowed per source address in one window (the template's SignInFailuresPerAddress), before
# that address is refused for the rest of it. Counted per address only, never per email: a count per email let
# anyone lock an attendee out with wrong guesses, and the codes (100 bits) need no such guard.
FAILURE_LIMIT = 20
ACCESS_CODE_LIMIT = 20  # access-code requests per source address per hour (template: AccessCodeRequestsPerAddress)
_NO_SUCH_REGISTRATION = "reg_" + "0" * 24
_NO_SUCH_ATTENDEE = "att_" + "0" * 24
# An approved invoice holds its seats: its attendees sign in before the agency pays (API.md).
HOLDS_ACCESS = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.INVOICED})
_NO_SUCH_CODE = hash_access_code("no-such-code")  # compared against when the email has no seat
# A session's stream link is handed out from this long before it starts until it ends.
JOIN_LINK_LEAD = timedelta(minutes=15)
# An access-code request is kept only until the stream has answered it (DynamoDB's TTL removes it).
ACCESS_CODE_REQUEST_KEPT = timedelta(days=1)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class AttendanceService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: AttendanceRepository,
        certificates: CertificatePdfs,
        conference_clock: Clock,
        wall_clock: Clock,
        limits: ClientLimits,
        failure_limit: int = FAILURE_LIMIT,
        access_code_limit: int = ACCESS_CODE_LIMIT,
    ) -> None:
        self._limits = limits
        self._failures = sign_in_failures_per_quarter_hour(failure_limit)
        self._access_codes = access_codes_per_hour(access_code_limit)
        self._events = events
        self._repository = repository
        self._certificates = certificates
        self._conference_clock = conference_clock
        self._wall_clock = wall_clock

    def login(self, email: str, access_code: str, *, source_ip: str, user_agent: str) -> LoginAnswer:
        now = self._wall_clock.now()
        # Counted as a failure before the code is checked, and given back when it signs in: a burst of guesses from
        # one address can never get past the limit, however many arrive at once. Never counted per email: nobody
        # can lock an attendee out, and the right code works from the attendee's own address.
        self._limits.take(self._failures, source_ip)
        attendee = self._attendee_for(email, hash_access_code(access_code))
        if attendee is None or not self._holds_access(attendee):
            raise InvalidCredentials("The email and access code do not match a paid seat.")
        self._limits.give_back(self._failures, source_ip)
        conference = self._events.conference(attendee.event_id)
        # The token names its attendee and event (not secrets: the answer carries the id too), so that a heartbeat
        # goes straight to the attendee's item and agenda, and checks the session in its one write. The names are
        # bound by the token's digest, which that write compares: changing one makes the token worthless.
        token = _TOKEN_SEPARATOR.join((attendee.attendee_id, attendee.event_id, secrets.token_urlsafe(32)))
        session = LoginSession(
            token_hash=_digest(token),
            attendee_id=attendee.attendee_id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            source=_digest(f"{source_ip}|{user_agent}"),
        )
        local_day = self._conference_clock.now().astimezone(conference.zone).date()
        # Only a login on a conference day counts as a day logged in (trying the code a week early does not).
        on_a_conference_day = conference.starts_on <= local_day <= conference.ends_on
        replaced = self._repository.start_session(session, local_day.isoformat() if on_a_conference_day else None)
        if replaced is not None and replaced.expires_at > now and replaced.source != session.source:
            # The previous session is still live elsewhere: one code, two places.
            self._repository.record_signal(attendee.attendee_id, "login_from_another_place", now, replaced.source[:12])
        return LoginAnswer(attendee_id=attendee.attendee_id, session_token=token, expires_at=session.expires_at)

    def heartbeat(self, token: str, session_id: str) -> bool:
        """Credit the current conference minute of `session_id`; False when outside its window.

        Inside the window this is one conditional write (the session check is its condition); a refused
        write, and a heartbeat that credits nothing, read to find out why or whether the session holds."""
        attendee_id, event_id, token_hash = _credential(token)
        agenda_session = self._agenda_session(event_id, session_id)
        now = self._conference_clock.now()
        if agenda_session is not None and agenda_session.starts_at <= now < agenda_session.ends_at:
            minute = int((now - agenda_session.starts_at) // timedelta(minutes=1))
            wall_now = self._wall_clock.now()
            if self._repository.credit_minute(attendee_id, token_hash, session_id, minute, wall_now):
                return True
            self._refuse(attendee_id, token_hash, wall_now)
        self._authenticated(token)  # the session is checked before the request is judged
        if agenda_session is None:
            raise InvalidRequest([FieldError("session_id", "There is no such session in the agenda.")])
        return False

    def my_attendance(self, token: str) -> MyAttendance:
        attendee = self._authenticated(token)
        registration = self._repository.registration(attendee.registration_id)
        status = registration.status if registration else RegistrationStatus.CANCELLED
        facts = attendance_facts(self._repository, attendee, status)
        minutes, days = facts.minutes_by_session, facts.days_logged_in
        conference = self._events.conference(attendee.event_id)
        eligibility = evaluate(conference, facts)
        return MyAttendance(
            attendee_id=attendee.attendee_id,
            sessions=[
                SessionAttendance(
                    session_id=s.id,
                    minutes_attended=min(minutes.get(s.id, 0), s.scheduled_minutes),
                    minutes_scheduled=s.scheduled_minutes,
                )
                for s in conference.sessions
            ],
            days_logged_in=days,
            eligible=eligibility.eligible,
            reasons=eligibility.reasons,
            hours=eligibility.hours,
        )

    def me(self, token: str) -> MyProfile:
        attendee = self._authenticated(token)
        kind = "group" if attendee.kind == "group" else "individual"
        return MyProfile(
            attendee_id=attendee.attendee_id,
            first_name=attendee.first_name,
            last_name=attendee.last_name,
            organization=attendee.organization,
            registration_kind=kind,
        )

    def my_sessions(self, token: str) -> list[MySession]:
        """The attendee's event's agenda in its zone; a session's stream link from JOIN_LINK_LEAD before its start
        until its end (conference time, as heartbeats count it), `live` while it runs."""
        attendee = self._authenticated(token)
        conference = self._events.conference(attendee.event_id)
        now = self._conference_clock.now()
        return [
            MySession(
                id=s.id,
                title=s.title,
                kind=s.kind,
                day=s.day,
                starts_at=s.starts_at.astimezone(conference.zone),
                ends_at=s.ends_at.astimezone(conference.zone),
                speakers=s.speakers,
                live=s.starts_at <= now < s.ends_at,
                join_url=s.join_url if s.starts_at - JOIN_LINK_LEAD <= now < s.ends_at else None,
            )
            for s in conference.sessions
        ]

    def my_certificate(self, token: str) -> CertificateFile:
        """The attendee's valid certificate, as the PDF the stream stored when it emailed it."""
        attendee = self._authenticated(token)
        certificate_id = self._certificates.current_certificate(attendee.attendee_id)
        certificate = self._certificates.certificate(certificate_id) if certificate_id else None
        if certificate is None:
            raise NotIssued("No certificate of attendance has been issued to you.")
        if certificate.status is not CertificateStatus.VALID:
            raise NotIssued("Your certificate of attendance was revoked.")
        pdf = self._certificates.pdf(certificate.certificate_id) if certificate.pdf_stored_at else None
        if pdf is None:
            raise NotIssued("Your certificate of attendance is being prepared; it is emailed to you when it is ready.")
        return CertificateFile(certificate_id=certificate.certificate_id, pdf=pdf)

    def sign_out(self, token: str) -> None:
        """End this session: afterwards the token is unknown (401 invalid_session) and credits nothing."""
        attendee = self._authenticated(token)
        _, _, token_hash = _credential(token)
        self._repository.end_session(attendee.attendee_id, token_hash)

    def request_access_code(self, email: str, *, source_ip: str) -> None:
        """Store the request, nothing more: whether the email holds a seat is looked up by the stream, which sends
        the code (at most three an hour per attendee: shared/reactions/service.py). So the answer and the work done
        here are the same for every email, registered or not. One address asking too often gets 429."""
        self._limits.take(self._access_codes, source_ip)
        now = self._wall_clock.now()
        request = AccessCodeAsked(request_id=new_id("acr"), email_key=normalize_email(email), requested_at=now)
        self._repository.add_access_code_request(request, now + ACCESS_CODE_REQUEST_KEPT)

    def _agenda_session(self, event_id: str, session_id: str) -> AgendaSession | None:
        try:
            return self._events.conference(event_id).session(session_id)
        except NotFound:
            return None  # an event deleted under a live token: the session check below answers

    def _attendee_for(self, email: str, code_hash: str) -> Attendee | None:
        """The attendee this email and code sign in: one person may hold a seat in several events, each with its
        own code, and several codes may open one seat (the current one and those asked for lately). Every code of
        every candidate is compared in constant time, and one dummy when there is none."""
        key = normalize_email(email)
        found: Attendee | None = None
        candidates: list[Attendee | None] = []
        for registration_id in self._repository.seats_of(key):
            registration = self._repository.registration(registration_id)
            seat = next((s for s in registration.seats if s.email_key == key), None) if registration else None
            candidates.append(self._repository.attendee(seat.attendee_id) if seat else None)
        if not candidates:  # the same reads as for an email with a seat: the time taken tells nothing
            self._repository.registration(_NO_SUCH_REGISTRATION)
            self._repository.attendee(_NO_SUCH_ATTENDEE)
        now = self._wall_clock.now()
        for attendee in candidates or [None]:
            for stored in (attendee.code_hashes(now) if attendee else None) or [_NO_SUCH_CODE]:
                if hmac.compare_digest(code_hash, stored) and attendee is not None:
                    found = attendee
        return found

    def _holds_access(self, attendee: Attendee) -> bool:
        registration = self._repository.registration(attendee.registration_id)
        return (
            attendee.status is AttendeeStatus.ACTIVE
            and registration is not None
            and registration.status in HOLDS_ACCESS
        )

    def _authenticated(self, token: str) -> Attendee:
        attendee_id, _, token_hash = _credential(token)
        now = self._wall_clock.now()
        attendee = self._repository.attendee(attendee_id)
        if attendee is not None and _holds_session(attendee, token_hash, now):
            return attendee
        self._refuse(attendee_id, token_hash, now, attendee)

    def _refuse(self, attendee_id: str, token_hash: str, now: datetime, attendee: Attendee | None = None) -> NoReturn:
        """Why this token does not hold the attendee's current session: unknown or expired, the seat no
        longer active, or superseded by a newer login (evidence of sharing, recorded)."""
        session = self._repository.session(token_hash)
        if session is None or session.expires_at <= now or session.attendee_id != attendee_id:
            raise InvalidSession("Log in again: this session is unknown or has expired.")
        attendee = attendee or self._repository.attendee(attendee_id)
        if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
            raise InvalidSession("This seat no longer has access.")
        if attendee.current_session != token_hash:
            # Someone is still using the older session after a newer login: evidence of sharing.
            self._repository.record_signal(attendee_id, "superseded_session_in_use", now, session.source[:12])
            raise SessionSuperseded("A newer login with this access code ended this session.")
        # The attendee's item does not know when this session ends (written before it did): log in again.
        raise InvalidSession("Log in again: this session is unknown or has expired.")


_TOKEN_SEPARATOR = "."


def _credential(token: str) -> tuple[str, str, str]:
    """(attendee id, event id, token digest) of a `<attendee id>.<event id>.<secret>` token; InvalidSession for
    anything else."""
    parts = token.split(_TOKEN_SEPARATOR)
    if len(parts) != 3 or not all(parts) or not is_id(parts[0], "att"):
        raise InvalidSession("Log in again: this session is unknown or has expired.")
    return parts[0], parts[1], _digest(token)


def _holds_session(attendee: Attendee, token_hash: str, now: datetime) -> bool:
    return (
        attendee.status is AttendeeStatus.ACTIVE
        and attendee.current_session is not None
        and hmac.compare_digest(attendee.current_session, token_hash)
        and attendee.session_expires_at is not None
        and attendee.session_expires_at > now
    )
