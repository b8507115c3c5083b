"""What a paid seat brings: an attendee with an access code, emails in an outbox, a coin to mail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

from shared.access import REQUESTED_CODE_LIFETIME, REQUESTED_CODES_KEPT
from shared.models import Model
from shared.registration.models import Registration, Seat


class AttendeeStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # refunded or dispute lost: cannot log in, earns no certificate


class EmailStatus(StrEnum):
    """What SES last reported about mail to this address (its events; shared/reactions/email_events.py)."""

    OK = "ok"
    BOUNCED = "bounced"  # a permanent bounce, or a message our MIME builder could not encode for this address
    COMPLAINED = "complained"  # the recipient marked our mail as spam


class RequestedCode(Model):
    """An access code sent because the attendee asked (POST /access-codes): it works beside the current one."""

    model_config = ConfigDict(frozen=True)

    code_hash: str
    issued_at: datetime


class Attendee(Model):
    """One person's seat once paid: who logs in and attends. The access code is kept only as a digest."""

    model_config = ConfigDict(frozen=True)

    attendee_id: str
    registration_id: str
    event_id: str
    kind: str  # "individual" or "group": only individual registrants earn the coin
    first_name: str
    last_name: str
    email: str
    organization: str
    license_id: str | None = None  # as given at registration (the certificate prints it)
    status: AttendeeStatus = AttendeeStatus.ACTIVE
    access_code_hash: str | None = None
    access_code_issued_at: datetime | None = None
    # The codes sent on request, oldest first (at most REQUESTED_CODES_KEPT); the organiser's resend clears them.
    requested_codes: tuple[RequestedCode, ...] = ()
    current_session: str | None = None  # the digest of the one live session token (attendance)
    session_expires_at: datetime | None = None  # when that session ends (heartbeats check it in their write)
    email_status: EmailStatus = EmailStatus.OK
    email_status_reason: str | None = None  # SES's diagnostic, for the organiser who corrects the address
    email_status_at: datetime | None = None  # when the mail it is about was sent: older events never overwrite it

    def code_hashes(self, now: datetime) -> list[str]:
        """The digests of every code that opens this seat now: the current one, and those asked for lately."""
        requested = [c.code_hash for c in self.requested_codes if now - c.issued_at < REQUESTED_CODE_LIFETIME]
        return ([self.access_code_hash] if self.access_code_hash else []) + requested

    def with_requested_code(self, code_hash: str, now: datetime) -> tuple[RequestedCode, ...]:
        """The requested codes once this one is added: expired ones dropped, the newest few kept."""
        live = [c for c in self.requested_codes if now - c.issued_at < REQUESTED_CODE_LIFETIME]
        return (*live, RequestedCode(code_hash=code_hash, issued_at=now))[-REQUESTED_CODES_KEPT:]

    @classmethod
    def of_seat(cls, registration: Registration, seat: Seat) -> Attendee:
        """The attendee a paid seat makes: the seat's person, active, with no code or session yet."""
        return cls(
            attendee_id=seat.attendee_id,
            registration_id=registration.registration_id,
            event_id=registration.event_id,
            kind=registration.kind,
            first_name=seat.first_name,
            last_name=seat.last_name,
            email=seat.email,
            organization=seat.organization,
            license_id=seat.license_id,
        )


class EmailKind(StrEnum):
    CONFIRMATION = "confirmation"
    RECEIPT = "receipt"
    REFUND_NOTICE = "refund_notice"
    # To the payer of a seat refunded because its person already held a paid seat (the person keeps that one).
    DUPLICATE_SEAT_REFUND = "duplicate_seat_refund"
    CERTIFICATE = "certificate"
    # A new access code: asked for by the attendee (`request` set: it works beside the earlier ones) or sent by
    # the organiser's resend (`resend` set: it replaces every earlier code).
    ACCESS_CODE = "access_code"
    # A week, a day and an hour before the first session (`reminder` names which): the one mail that is not
    # transactional, so the only one with List-Unsubscribe.
    REMINDER = "reminder"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one sender until `lease_until`
    SENT = "sent"
    FAILED = "failed"  # permanently rejected; alarmed, never retried automatically
    SKIPPED = "skipped"  # no longer owed (a confirmation for a seat refunded before it went out)


class OutboxEmail(Model):
    """One logical email: created once, sent at most once per lease, its fate recorded."""

    model_config = ConfigDict(frozen=True)

    registration_id: str
    kind: EmailKind
    attendee_id: str | None = None  # None for the purchaser's receipt
    certificate_id: str | None = None  # a reissue sends a second certificate email to the same attendee
    resend: int = 0  # the organiser's n-th resend of a confirmation (each one a new email with a new code)
    request: str | None = None  # the attendee's access-code request this email answers (POST /access-codes)
    reminder: str | None = None  # which reminder (week, day, hour): one entry per attendee and reminder
    # The bulk job whose worker sends it (shared/jobs): the stream leaves such an entry to that worker's paced send.
    job_id: str | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    lease_until: datetime | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None

    @property
    def key(self) -> str:
        target = f"{self.kind.value}#{self.certificate_id or self.attendee_id or 'purchaser'}"
        if self.request:
            return f"{target}#{self.request}"
        if self.reminder:
            return f"{target}#{self.reminder}"
        return f"{target}#resend{self.resend}" if self.resend else target


class ShipmentState(StrEnum):
    PENDING = "pending"  # on the mailing list
    SHIPPED = "shipped"
    CANCELLED = "cancelled"  # refunded before it shipped
    SHIPPED_THEN_REFUNDED = "shipped_then_refunded"  # flagged for the organiser


class Shipment(Model):
    """The 30th-anniversary coin for an individual registrant."""

    model_config = ConfigDict(frozen=True)

    registration_id: str
    event_id: str
    attendee_id: str
    name: str
    organization: str
    line1: str
    line2: str | None = None
    city: str
    state: str
    postal_code: str
    country: str
    shipment_state: ShipmentState = ShipmentState.PENDING
    created_at: datetime
