"""In-memory fakes of the reaction and certificate ports, with the adapters' conditional semantics.

One `InMemoryTable` plays the main table's reaction items (registrations, attendees, outbox entries, the coin),
as `DynamoReactionRepository` does; `InMemoryCertificates` adds the certificates and the attendees' pointers to
the same table, as `DynamoCertificateRepository` does; `InMemoryCertificateFiles` is the bucket. Each write has
the condition its adapter's has (a put only if new, a claim only if pending or its lease ran out, an outcome only
from the lease holder...): a write whose condition fails changes nothing.

`before(method, action)` lets something happen just before the next call of a method: another writer acting
(a concurrent sender or issuer) or an error (a throttled table, after the SDK's own retries).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from shared.attendance.evidence import MinuteEvidence
from shared.attendance.facts import AttendanceRecord
from shared.certificates.models import Certificate, CertificateStatus
from shared.clock import Clock, SystemClock
from shared.conference import load_conference
from shared.conference.models import Conference
from shared.email import Email, Mailbox, build_message, to_bytes
from shared.errors import TemporarilyUnavailable
from shared.reactions.models import (
    Attendee,
    AttendeeStatus,
    EmailStatus,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    Shipment,
    ShipmentState,
)
from shared.reactions.ports import MailRejected, MailThrottled, MailUnencodable
from shared.registration.models import Purchaser, Registration, Seat, ShippingAddress, normalize_email
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus


class Interruptions:
    def __init__(self) -> None:
        self._before: dict[str, list[Callable[[], None]]] = {}

    def before(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` just before the next call of `method` (it may write, or raise)."""
        self._before.setdefault(method, []).append(action)

    def fail(self, method: str, error: Exception | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` raise `error` (by default the table or bucket being busy)."""

        def raise_it() -> None:
            raise error or TemporarilyUnavailable("busy")

        for _ in range(times):
            self.before(method, raise_it)

    def _interrupt(self, method: str) -> None:
        actions = self._before.get(method)
        if actions:
            actions.pop(0)()


class InMemoryTable(Interruptions):
    """The ReactionRepository port (shared/reactions/ports.py) over dicts."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self._clock = clock or SystemClock()  # the adapter stamps `sent_at` with its own time
        self.registrations: dict[str, Registration] = {}
        self.attendees: dict[str, Attendee] = {}
        self.outbox: dict[tuple[str, str], OutboxEmail] = {}
        self.shipments: dict[str, Shipment] = {}
        self.access_code_sends: dict[str, dict[int, tuple[datetime, str]]] = {}  # attendee -> slot -> (at, request)
        self.people: set[tuple[str, str]] = set()  # (email, registration id): the index an erasure reads

    def index_people(self, registration: Registration) -> None:
        purchaser = [normalize_email(registration.purchaser.email)] if registration.purchaser else []
        self.people |= {(key, registration.registration_id) for key in [*registration.email_keys, *purchaser]}

    def save(self, registration: Registration) -> Registration:
        """What the registration and payment services wrote (not part of the port)."""
        self.registrations[registration.registration_id] = registration
        return registration

    def registration(self, registration_id: str) -> Registration | None:
        self._interrupt("registration")
        return self.registrations.get(registration_id)

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        self._interrupt("registrations_with_status")
        found = [r for r in self.registrations.values() if r.status is status and r.event_id == event_id]
        # gsi1: STATUS#<event>#<status>, oldest first
        return iter(sorted(found, key=lambda r: (r.created_at, r.registration_id)))

    def add_attendees(self, attendees: list[Attendee]) -> None:
        self._interrupt("add_attendees")
        for attendee in attendees:
            self.attendees.setdefault(attendee.attendee_id, attendee)  # attribute_not_exists(pk)

    def attendee(self, attendee_id: str) -> Attendee | None:
        self._interrupt("attendee")
        return self.attendees.get(attendee_id)

    def _update_attendee(self, attendee_id: str, **fields: object) -> None:
        current = self.attendees.get(attendee_id)
        if current is not None:  # attribute_exists(pk): a missing attendee is not created
            self.attendees[attendee_id] = current.model_copy(update=fields)

    def set_access_code(
        self, attendee_id: str, code_hash: str, issued_at: datetime, *, replaces_all: bool = False
    ) -> None:
        self._interrupt("set_access_code")
        others = {"requested_codes": ()} if replaces_all else {}
        self._update_attendee(attendee_id, access_code_hash=code_hash, access_code_issued_at=issued_at, **others)

    def set_requested_codes(
        self, attendee_id: str, codes: tuple[RequestedCode, ...], *, expected: tuple[RequestedCode, ...]
    ) -> bool:
        self._interrupt("set_requested_codes")
        current = self.attendees.get(attendee_id)
        if current is None or current.requested_codes != expected:  # the list compared with the one read
            return False
        self.attendees[attendee_id] = current.model_copy(update={"requested_codes": codes})
        return True

    def seats_of(self, email_key: str) -> list[str]:
        """The email guards: each registration (not expired or cancelled) with a seat of this email."""
        self._interrupt("seats_of")
        freed = {RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED}
        return [
            r.registration_id
            for r in self.registrations.values()
            if r.status not in freed and any(s.email_key == email_key for s in r.seats)
        ]

    def take_access_code_slot(
        self, attendee_id: str, request_id: str, now: datetime, *, since: datetime, slots: int
    ) -> bool:
        self._interrupt("take_access_code_slot")
        taken = self.access_code_sends.setdefault(attendee_id, {})
        if any(by == request_id and at > since for at, by in taken.values()):
            return True
        for slot in range(slots):
            if slot not in taken or taken[slot][0] <= since:  # each slot its own conditional write
                taken[slot] = (now, request_id)
                return True
        return False

    def revoke_attendee(self, attendee_id: str) -> None:
        self._interrupt("revoke_attendee")
        self._update_attendee(attendee_id, status=AttendeeStatus.REVOKED)

    def record_email_status(
        self, attendee_id: str, status: EmailStatus, reason: str, at: datetime, *, email: str, event_id: str
    ) -> bool:
        self._interrupt("record_email_status")
        current = self.attendees.get(attendee_id)
        if current is None or current.email != email:  # attribute_exists(pk) AND email = :email
            return False
        update = {"email_status": status, "email_status_reason": reason[:500], "email_status_at": at}
        self.attendees[attendee_id] = current.model_copy(update=update)
        return True

    def add_emails(self, emails: list[OutboxEmail]) -> int:
        self._interrupt("add_emails")
        created = 0
        for email in emails:
            created += (email.registration_id, email.key) not in self.outbox
            self.outbox.setdefault((email.registration_id, email.key), email)  # attribute_not_exists(pk)
        return created

    def email(self, registration_id: str, email_key: str) -> OutboxEmail | None:
        self._interrupt("email")
        return self.outbox.get((registration_id, email_key))

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        self._interrupt("emails")
        return [email for (owner, _), email in sorted(self.outbox.items()) if owner == registration_id]

    def claim_email(self, email: OutboxEmail, now: datetime, lease_until: datetime) -> bool:
        self._interrupt("claim_email")
        key = (email.registration_id, email.key)
        current = self.outbox.get(key)
        if current is None:
            return False
        expired = current.lease_until is not None and current.lease_until < now
        if not (current.status is OutboxStatus.PENDING or (current.status is OutboxStatus.SENDING and expired)):
            return False
        self.outbox[key] = current.model_copy(
            update={"status": OutboxStatus.SENDING, "lease_until": lease_until, "attempts": current.attempts + 1}
        )
        return True

    def finish_email(
        self, email: OutboxEmail, status: OutboxStatus, *, message_id: str | None = None, error: str | None = None
    ) -> None:
        self._interrupt("finish_email")
        key = (email.registration_id, email.key)
        current = self.outbox.get(key)
        if current is None or current.status is not OutboxStatus.SENDING:
            return  # only the holder of the lease records the outcome
        update: dict[str, object] = {"status": status, "lease_until": None}
        if message_id is not None:
            update |= {"message_id": message_id, "sent_at": self._clock.now()}
        if error is not None:
            update["last_error"] = error[:500]
        self.outbox[key] = current.model_copy(update=update)

    def add_shipment(self, shipment: Shipment) -> None:
        self._interrupt("add_shipment")
        self.shipments.setdefault(shipment.registration_id, shipment)  # attribute_not_exists(pk)

    def shipment(self, registration_id: str) -> Shipment | None:
        self._interrupt("shipment")
        return self.shipments.get(registration_id)

    def set_shipment_state(self, registration_id: str, expected: ShipmentState, state: ShipmentState) -> bool:
        self._interrupt("set_shipment_state")
        current = self.shipments.get(registration_id)
        if current is None or current.shipment_state is not expected:
            return False
        self.shipments[registration_id] = current.model_copy(update={"shipment_state": state})
        return True


class InMemoryCertificates(Interruptions):
    """The CertificateRepository port (shared/certificates/ports.py), in the same table as the attendees."""

    def __init__(self, table: InMemoryTable) -> None:
        super().__init__()
        self.table = table
        self.certificates: dict[str, Certificate] = {}
        self.pointers: dict[str, str] = {}  # ATTENDEE#<id> / CERTIFICATE
        self.reads: list[str] = []  # the certificate ids read, in order

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        return self.table.registrations_with_status(event_id, status)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self.table.attendee(attendee_id)

    def rename_attendee(self, attendee_id: str, first_name: str, last_name: str) -> None:
        self._interrupt("rename_attendee")
        if attendee_id not in self.table.attendees:
            raise StaleWrite("attribute_exists(pk)")
        self.table.attendees[attendee_id] = self.table.attendees[attendee_id].model_copy(
            update={"first_name": first_name, "last_name": last_name}
        )

    def current_certificate(self, attendee_id: str) -> str | None:
        self._interrupt("current_certificate")
        return self.pointers.get(attendee_id)

    def certificate(self, certificate_id: str) -> Certificate | None:
        self._interrupt("certificate")
        self.reads.append(certificate_id)
        return self.certificates.get(certificate_id)

    def issue(self, certificate: Certificate, email: OutboxEmail) -> bool:
        """One transaction: the pointer only if there is none; the certificate and the outbox entry (plain puts)."""
        self._interrupt("issue")
        if certificate.attendee_id in self.pointers:
            return False
        self.pointers[certificate.attendee_id] = certificate.certificate_id
        self.certificates[certificate.certificate_id] = certificate
        self.table.outbox[(email.registration_id, email.key)] = email
        return True

    def replace(self, old: Certificate, new: Certificate, email: OutboxEmail) -> bool:
        """One transaction: the pointer only if still at `old`; `old` revoked; `new` and its outbox entry put."""
        self._interrupt("replace")
        if self.pointers.get(old.attendee_id) != old.certificate_id:
            return False
        self.pointers[old.attendee_id] = new.certificate_id
        stored = self.certificates.get(old.certificate_id, old)
        self.certificates[old.certificate_id] = stored.model_copy(
            update={
                "status": CertificateStatus.REVOKED,
                "replaced_by": new.certificate_id,
                "revoked_at": new.created_at,
            }
        )
        self.certificates[new.certificate_id] = new
        self.table.outbox[(email.registration_id, email.key)] = email
        return True

    def revoke_current(self, attendee_id: str) -> bool:
        self._interrupt("revoke_current")
        current = self.certificates.get(self.pointers.get(attendee_id, ""))
        if current is None or current.status is not CertificateStatus.VALID:
            return False  # no certificate, or already revoked
        self.certificates[current.certificate_id] = current.model_copy(
            update={"status": CertificateStatus.REVOKED, "revoked_at": datetime.now(UTC)}  # as the adapter stamps it
        )
        return True


class InMemoryCertificateFiles(Interruptions):
    """The CertificateFiles port: the certificates' table side, and a versioned bucket for the PDFs."""

    def __init__(self, certificates: InMemoryCertificates) -> None:
        super().__init__()
        self._certificates = certificates
        self.stored: dict[str, list[bytes]] = {}  # every version kept

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self._certificates.certificate(certificate_id)

    def revoke_current(self, attendee_id: str) -> bool:
        return self._certificates.revoke_current(attendee_id)

    def store_pdf(self, certificate_id: str, pdf: bytes) -> None:
        self._interrupt("store_pdf")
        self.stored.setdefault(certificate_id, []).append(pdf)
        stored = self._certificates.certificates.get(certificate_id)
        if stored is not None:  # the adapter records it on the certificate's item
            self._certificates.certificates[certificate_id] = stored.model_copy(
                update={"pdf_stored_at": datetime.now(UTC)}
            )


class RecordingMailer:
    """The Mailer port: keeps what it sends; throttles or rejects the next sends when told to, as SES does."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.attempts = 0
        self._answers: list[Exception] = []
        self._ids = itertools.count(1)

    def throttle(self, times: int = 1) -> None:
        self._answers += [MailThrottled("TooManyRequestsException") for _ in range(times)]

    def reject(self, times: int = 1) -> None:
        self._answers += [MailRejected("MessageRejected") for _ in range(times)]

    def send(self, email: Email) -> str:
        self.attempts += 1
        if self._answers:
            raise self._answers.pop(0)
        try:  # built as the SES adapter builds it: what MIME cannot carry fails for good there too
            to_bytes(
                build_message(
                    sender=email.sender or Mailbox("Conference", "conference@example.org"),
                    to=email.to,
                    subject=email.subject,
                    text=email.text,
                    html=email.html,
                    attachments=email.attachments,
                    message_id_domain="example.org",
                    date=datetime.now(UTC),
                    list_unsubscribe=email.list_unsubscribe,
                )
            )
        except (ValueError, UnicodeError) as exc:
            raise MailUnencodable(f"the message cannot be built: {exc}") from exc
        self.sent.append(email)
        return f"msg-{next(self._ids)}"


class InMemoryAttendance:
    """The AttendanceReader port (shared/attendance/facts.py): what logins and heartbeats left."""

    def __init__(self) -> None:
        self.credited: dict[str, dict[str, int]] = {}
        self.logins: dict[str, tuple[int, int]] = {}
        self.shared_login_signals: dict[str, int] = {}

    def attend(self, attendee_id: str, share: float, conference: Conference, *, logins: int = 1, days: int = 1) -> None:
        """Logged in `logins` times on `days` days, and credited `share` of each session's minutes (rounded down)."""
        self.logins[attendee_id] = (logins, days)
        self.credited[attendee_id] = {s.id: int(s.scheduled_minutes * share) for s in conference.sessions}

    def minutes(self, attendee_id: str) -> dict[str, int]:
        return dict(self.credited.get(attendee_id, {}))

    def evidence(self, attendee_id: str) -> MinuteEvidence:
        return MinuteEvidence.of_page_counts(self.minutes(attendee_id))

    def login_days(self, attendee_id: str) -> tuple[int, int]:
        return self.logins.get(attendee_id, (0, 0))

    def record(self, attendee_id: str) -> AttendanceRecord:
        return AttendanceRecord(*self.login_days(attendee_id), self.evidence(attendee_id))

    def signals(self, attendee_id: str) -> int:
        return self.shared_login_signals.get(attendee_id, 0)


# Registrations as the registration and payment services leave them.

CONFERENCE = load_conference()
CREATED_AT = datetime(2020, 7, 20, 15, tzinfo=UTC)
ADDRESS = ShippingAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701", country="US")
PURCHASER = Purchaser(name="Chief Ray Park", email="chief@example.org", organization="Springfield PD")
_numbers = itertools.count(1)


def seat(first_name: str = "Ana", last_name: str = "Lopez", email: str | None = None) -> Seat:
    number = next(_numbers)
    return Seat(
        attendee_id=f"att_{number:024d}",
        first_name=first_name,
        last_name=last_name,
        email=email or f"attendee{number}@example.org",
        organization="Springfield PD",
    )


def individual(status: RegistrationStatus = RegistrationStatus.PAID, **seat_fields: str) -> Registration:
    return Registration(
        event_id="nasro-2020",
        registration_id=f"reg_{next(_numbers):024d}",
        kind="individual",
        status=status,
        seats=[seat(**seat_fields)],
        shipping_address=ADDRESS,
        amount=CONFERENCE.fee,
        created_at=CREATED_AT,
        checkout_attempt=1,
        checkout_expires_at=CREATED_AT + timedelta(days=1),
    )


def group(size: int = 3, status: RegistrationStatus = RegistrationStatus.PAID) -> Registration:
    return Registration(
        event_id="nasro-2020",
        registration_id=f"reg_{next(_numbers):024d}",
        kind="group",
        status=status,
        seats=[seat(f"Officer{position}", "Park") for position in range(1, size + 1)],
        purchaser=PURCHASER,
        amount=CONFERENCE.fee.times(size),
        created_at=CREATED_AT,
        checkout_attempt=1,
        checkout_expires_at=CREATED_AT + timedelta(days=1),
    )
