"""Issuing certificates of attendance to everyone the policy finds eligible, verifying them, reissuing."""

from __future__ import annotations

from shared.attendance.facts import AttendanceReader, attendance_facts
from shared.attendance.policy import AttendanceFacts, Eligibility, evaluate
from shared.certificates.ids import CertificateIds
from shared.certificates.models import (
    Certificate,
    CertificateView,
    CertifiedSession,
    IssueResult,
    ReissueResult,
)
from shared.certificates.ports import CertificateRepository
from shared.clock import Clock
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.errors import NotFound
from shared.jobs.models import Claimed
from shared.reactions.models import Attendee, EmailKind, OutboxEmail
from shared.registration.status import RegistrationStatus

# Disputed seats are not eligible until the dispute is won; refunded and unpaid ones never are.
CANDIDATE_STATUSES = (RegistrationStatus.PAID,)


class CertificateService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: CertificateRepository,
        attendance: AttendanceReader,
        keys: CertificateIds,
        conference_clock: Clock,
        wall_clock: Clock,
    ) -> None:
        self._events = events
        self._repository = repository
        self._attendance = attendance
        self._keys = keys
        self._conference_clock = conference_clock
        self._wall_clock = wall_clock

    def eligibility(self, attendee: Attendee, registration_status: RegistrationStatus) -> Eligibility:
        conference = self._events.conference(attendee.event_id)
        return evaluate(conference, attendance_facts(self._attendance, attendee, registration_status))

    def _facts(
        self, attendee: Attendee, registration_status: RegistrationStatus
    ) -> tuple[AttendanceFacts, Eligibility]:
        conference = self._events.conference(attendee.event_id)
        facts = attendance_facts(self._attendance, attendee, registration_status)
        return facts, evaluate(conference, facts)

    def issue_all(self, event_id: str) -> IssueResult:
        """A certificate for every eligible attendee of the event who has none. Safe to run twice (and to resume
        after a crash): the attendee's certificate pointer is claimed in the same transaction that creates it."""
        self._events.conference(event_id)  # NotFound for an unknown event, before anything is read
        eligible = queued = 0
        for status in CANDIDATE_STATUSES:
            for registration in self._repository.registrations_with_status(event_id, status):
                for seat in registration.seats:
                    attendee = self._repository.attendee(seat.attendee_id)
                    if attendee is None:
                        continue
                    facts, result = self._facts(attendee, registration.status)
                    if not result.eligible:
                        continue
                    eligible += 1
                    if self._repository.current_certificate(attendee.attendee_id) is not None:
                        continue
                    sessions = certified_sessions(self._events.conference(event_id), facts.minutes_by_session)
                    certificate = self._new_certificate(attendee, result.hours, sessions)
                    queued += self._repository.issue(certificate, self._email_for(certificate))
        return IssueResult(eligible=eligible, queued=queued)

    def owed(self, event_id: str, *, at_most: int) -> IssueResult:
        """What POST /admin/certificates/issue answers before its job runs, read only: of the event's first
        `at_most` candidate seats, how many are eligible and how many of those have no certificate yet (the job
        makes and mails them). `complete` is False when the event has more seats than were counted: the answer
        stays bounded however large the event, and the job's own counts cover the rest."""
        self._events.conference(event_id)  # NotFound for an unknown event, before anything is read
        eligible = queued = counted = 0
        for status in CANDIDATE_STATUSES:
            for registration in self._repository.registrations_with_status(event_id, status):
                for seat in registration.seats:
                    if counted == at_most:
                        return IssueResult(eligible=eligible, queued=queued, complete=False)
                    counted += 1
                    attendee = self._repository.attendee(seat.attendee_id)
                    if attendee is None or not self.eligibility(attendee, registration.status).eligible:
                        continue
                    eligible += 1
                    queued += self._repository.current_certificate(attendee.attendee_id) is None
        return IssueResult(eligible=eligible, queued=queued)

    def claim(self, job_id: str, attendee_id: str, registration_status: RegistrationStatus) -> Claimed | None:
        """A bulk job's claim of one attendee (shared/jobs): the certificate email owed to them, their certificate
        created with it if they have none (the same transaction as issue_all's); None if they are not eligible."""
        attendee = self._repository.attendee(attendee_id) if registration_status in CANDIDATE_STATUSES else None
        if attendee is None:
            return None
        facts, result = self._facts(attendee, registration_status)
        if not result.eligible:
            return None
        current = self._repository.current_certificate(attendee_id)
        if current is None:
            sessions = certified_sessions(self._events.conference(attendee.event_id), facts.minutes_by_session)
            certificate = self._new_certificate(attendee, result.hours, sessions)
            email = self._email_for(certificate, job_id)
            if self._repository.issue(certificate, email):
                return Claimed(email, new=True)
            current = self._repository.current_certificate(attendee_id)  # another issuer's, made meanwhile
            if current is None:
                return None
        # Issued before: its email is the one owed (sent already, or left pending by a run that stopped).
        owed = OutboxEmail(
            registration_id=attendee.registration_id,
            kind=EmailKind.CERTIFICATE,
            attendee_id=attendee_id,
            certificate_id=current,
        )
        return Claimed(owed, new=False)

    def verify(self, certificate_id: str) -> CertificateView:
        return CertificateView.of(self.verified(certificate_id))

    def verified(self, certificate_id: str) -> Certificate:
        """The certificate with this id (the verification page shows a few of its facts); NotFound otherwise."""
        # A forged or altered id fails the HMAC before anything is read.
        certificate = self._repository.certificate(certificate_id) if self._keys.verifies(certificate_id) else None
        if certificate is None:
            raise NotFound("No certificate has this id.")
        return certificate

    def reissue(self, attendee_id: str, first_name: str | None, last_name: str | None) -> ReissueResult:
        attendee = self._repository.attendee(attendee_id)
        current_id = self._repository.current_certificate(attendee_id) if attendee else None
        old = self._repository.certificate(current_id) if current_id else None
        if attendee is None or old is None:
            raise NotFound("This attendee has no certificate to reissue.")
        if first_name or last_name:
            attendee = attendee.model_copy(
                update={"first_name": first_name or attendee.first_name, "last_name": last_name or attendee.last_name}
            )
            self._repository.rename_attendee(attendee_id, attendee.first_name, attendee.last_name)
        # The same attendance as the old one (hours and sessions); the person's current organization and licence id.
        new = self._new_certificate(attendee, old.hours, old.sessions)
        if not self._repository.replace(old, new, self._email_for(new)):
            raise NotFound("The certificate changed meanwhile; reload and try again.")
        return ReissueResult(attendee_id=attendee_id, revoked=old.certificate_id, certificate_id=new.certificate_id)

    def _new_certificate(self, attendee: Attendee, hours: float, sessions: tuple[CertifiedSession, ...]) -> Certificate:
        conference = self._events.conference(attendee.event_id)
        return Certificate(
            certificate_id=self._keys.new_id(),
            attendee_id=attendee.attendee_id,
            registration_id=attendee.registration_id,
            attendee_name=f"{attendee.first_name} {attendee.last_name}",
            conference=conference.name,
            hours=hours,
            organization=attendee.organization,
            license_id=attendee.license_id,
            sessions=sessions,
            issued_at=self._conference_clock.now().astimezone(conference.zone).date(),
            created_at=self._wall_clock.now(),
        )

    @staticmethod
    def _email_for(certificate: Certificate, job_id: str | None = None) -> OutboxEmail:
        return OutboxEmail(
            registration_id=certificate.registration_id,
            kind=EmailKind.CERTIFICATE,
            attendee_id=certificate.attendee_id,
            certificate_id=certificate.certificate_id,
            job_id=job_id,
        )


def certified_sessions(conference: Conference, minutes_by_session: dict[str, int]) -> tuple[CertifiedSession, ...]:
    """The agenda's sessions the attendee was credited minutes in, in agenda order, each at most as long as it was
    scheduled (as the policy counts them): the rows add up to the minutes the hours were rounded from."""
    return tuple(
        CertifiedSession(
            session_id=session.id,
            title=session.title,
            speakers=tuple(session.speakers),
            day=session.day,
            minutes=min(minutes_by_session.get(session.id, 0), session.scheduled_minutes),
        )
        for session in conference.sessions
        if minutes_by_session.get(session.id, 0) > 0
    )
