"""Reactions to registration changes: attendees and access codes, the emails owed, the coin to mail; and the
answer to an attendee's access-code request (POST /access-codes), found and sent here rather than in the request.

Driven by the table's stream, which delivers at least once and may replay from the start: every step
is a conditional write that does nothing the second time, and every email goes through an outbox
entry that is sent at most once per lease.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.access import hash_access_code, new_access_code
from shared.certificates.document import certificate_content
from shared.certificates.models import Certificate, CertificateStatus
from shared.clock import Clock
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.email import (
    Email,
    Mailbox,
    access_code,
    confirmation,
    duplicate_seat_refund,
    receipt,
    refund_notice,
    reminder,
)
from shared.email import certificate as certificate_email
from shared.errors import TemporarilyUnavailable
from shared.payments.models import HistoryAction, became
from shared.reactions.models import (
    Attendee,
    AttendeeStatus,
    EmailKind,
    EmailStatus,
    OutboxEmail,
    OutboxStatus,
    Shipment,
    ShipmentState,
)
from shared.reactions.ports import (
    CertificateFiles,
    Mailer,
    MailRejected,
    MailThrottled,
    MailUnencodable,
    ReactionRepository,
)
from shared.reactions.routing import Reaction, ReactionKind
from shared.registration.models import Registration, Seat, SeatStatus
from shared.registration.status import RegistrationStatus

# Longer than one send takes, short enough that a crashed sender's email goes out again soon.
SEND_LEASE = timedelta(seconds=90)
# Recording an email's outcome is retried in place (on top of the SDK's own retries) before the record fails.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.2
# A seat refunded before its confirmation went out is owed no confirmation (its refund notice follows).
STILL_HOLDS_SEATS = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.INVOICED})
# Access-code emails asked for (POST /access-codes) per attendee in any hour; more requests are answered the same
# (202) and send nothing.
ACCESS_CODES_PER_HOUR = 3
ACCESS_CODE_WINDOW = timedelta(hours=1)
# Adding a requested code is a read and a write conditional on what was read; two at once retry this often.
CODE_WRITE_ATTEMPTS = 5


class EmailBusy(Exception):
    """Another sender holds this email's lease: retry the record later."""


@dataclass
class _Read:
    """What a send's check read (the attendee of a reminder, the certificate of its email), for its composition."""

    attendee: Attendee | None = None
    certificate: Certificate | None = None


@dataclass(frozen=True)
class ReactionResult:
    reaction: ReactionKind
    done: list[str]


class ReactionService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: ReactionRepository,
        mailer: Mailer,
        wall_clock: Clock,
        site_url: str,
        certificates: CertificateFiles,
        sender_address: str = "",
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sender_address = sender_address  # empty: each event's own sender
        self._pause = pause
        self._events = events
        self._repository = repository
        self._mailer = mailer
        self._certificates = certificates
        self._wall_clock = wall_clock
        self._site_url = site_url

    def react(self, reaction: Reaction) -> ReactionResult:
        if reaction.kind is ReactionKind.ACCESS_CODE_REQUESTED:
            assert reaction.request_id is not None and reaction.requester is not None
            return ReactionResult(reaction.kind, self._access_code_requested(reaction.request_id, reaction.requester))
        registration = self._repository.registration(reaction.registration_id)
        if registration is None:
            return ReactionResult(reaction.kind, ["registration gone: nothing to do"])
        if reaction.kind is ReactionKind.SEATS_PAID:
            return ReactionResult(reaction.kind, self._seats_paid(registration))
        if reaction.kind is ReactionKind.SEATS_REFUNDED:
            return ReactionResult(reaction.kind, self._seats_refunded(registration))
        if reaction.kind is ReactionKind.REGISTRATION_CREATED:
            self._repository.index_people(registration)
            return ReactionResult(reaction.kind, ["people indexed"])
        if reaction.kind is ReactionKind.SEATS_REFUNDED_ALONE:
            return ReactionResult(reaction.kind, self._seats_refunded_alone(registration, reaction.attendee_ids))
        if reaction.kind is ReactionKind.INVOICE_PAID:
            # The same reaction again (each step idempotent): what an invoice's approval held back, the receipt and
            # the coin, is owed now.
            return ReactionResult(reaction.kind, self._seats_paid(registration))
        if reaction.kind is ReactionKind.SEATS_CANCELLED:
            return ReactionResult(reaction.kind, self._seats_cancelled(registration))
        if reaction.kind is ReactionKind.DISPUTE_OPENED:
            # The status itself is the organiser's flag; access stays until the dispute is decided.
            return ReactionResult(reaction.kind, ["flagged for the organiser; access kept"])
        assert reaction.email_key is not None
        return ReactionResult(reaction.kind, [self._send(registration, reaction.email_key)])

    def repair(self) -> dict[str, int]:
        """Redo, idempotently, every reaction the registrations' current states call for, and send every
        email still owed: what a record that ended in the dead-letter queue did not get done."""
        counts = {"registrations": 0, "emails sent": 0}
        statuses = (RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.REFUNDED)
        for event_id, status in itertools.product(self._events.event_ids(), statuses):
            for registration in self._repository.registrations_with_status(event_id, status):
                counts["registrations"] += 1
                if status is RegistrationStatus.REFUNDED:
                    self._seats_refunded(registration)
                else:
                    self._seats_paid(registration)
                for entry in self._repository.emails(registration.registration_id):
                    if entry.status in {OutboxStatus.PENDING, OutboxStatus.SENDING}:
                        with suppress(EmailBusy):  # a live lease: its sender is at work
                            counts["emails sent"] += self._send(registration, entry.key) == "sent"
        return counts

    def _seats_paid(self, registration: Registration) -> list[str]:
        if registration.status not in STILL_HOLDS_SEATS:
            return [f"registration is {registration.status} now: no access codes or confirmations"]
        # Only the seats that count: a person who already held a paid seat keeps that one (this seat is refunded).
        seats = registration.active_seats
        self._repository.add_attendees([Attendee.of_seat(registration, seat) for seat in seats])
        registration_id = registration.registration_id
        emails = [
            OutboxEmail(registration_id=registration_id, kind=EmailKind.CONFIRMATION, attendee_id=s.attendee_id)
            for s in seats
        ]
        paid = registration.status is not RegistrationStatus.INVOICED  # an invoice's receipt and coin wait for payment
        if paid:  # every payer gets a receipt
            emails.append(OutboxEmail(registration_id=registration_id, kind=EmailKind.RECEIPT))
        self._repository.add_emails(emails)
        done = [f"{len(seats)} attendee(s)", f"{len(emails)} email(s) queued"]
        conference = self._events.conference(registration.event_id)
        mails_coin = conference.mails_coin_to_individuals and registration.kind == "individual" and paid
        if mails_coin and registration.shipping_address is not None and seats:
            seat, address = seats[0], registration.shipping_address
            self._repository.add_shipment(
                Shipment(
                    registration_id=registration.registration_id,
                    event_id=registration.event_id,
                    attendee_id=seat.attendee_id,
                    name=f"{seat.first_name} {seat.last_name}",
                    organization=seat.organization,
                    created_at=self._wall_clock.now(),
                    **address.model_dump(),
                )
            )
            done.append("coin on the mailing list")
        return done

    def _access_code_requested(self, request_id: str, email_key: str) -> list[str]:
        """An access-code email to each paid seat this email holds (one per event), within the hourly limit; for an
        email without one, nothing. Nothing of this reaches the requester: the request was answered already."""
        now = self._wall_clock.now()
        done: list[str] = []
        for registration_id in self._repository.seats_of(email_key):
            registration = self._repository.registration(registration_id)
            seat = next((s for s in registration.seats if s.email_key == email_key), None) if registration else None
            if registration is None or seat is None or registration.status not in STILL_HOLDS_SEATS:
                continue  # a seat freed or never paid, or refunded: no access to give
            attendee = self._repository.attendee(seat.attendee_id)
            if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
                continue
            if not self._repository.take_access_code_slot(
                seat.attendee_id, request_id, now, since=now - ACCESS_CODE_WINDOW, slots=ACCESS_CODES_PER_HOUR
            ):
                done.append("hourly limit reached: no email")
                continue
            self._repository.add_emails(
                [
                    OutboxEmail(
                        registration_id=registration_id,
                        kind=EmailKind.ACCESS_CODE,
                        attendee_id=seat.attendee_id,
                        request=request_id,
                    )
                ]
            )
            done.append("access code email queued")
        return done or ["no paid seat for this email: nothing sent"]

    def _seats_refunded_alone(self, registration: Registration, attendee_ids: tuple[str, ...]) -> list[str]:
        """Seats refunded one by one: each one's access and certificate end, and someone is told: the person, or
        for a seat refunded because its person already held one, the payer (the person keeps their seat)."""
        done: list[str] = []
        duplicates = _duplicate_seats(registration)
        emails = []
        for seat in registration.seats:
            if seat.attendee_id not in attendee_ids or seat.status is not SeatStatus.REFUNDED:
                continue
            if self._repository.attendee(seat.attendee_id) is not None:
                self._repository.revoke_attendee(seat.attendee_id)
                done.append("access revoked")
            if self._certificates.revoke_current(seat.attendee_id):
                done.append("certificate revoked")
            kind = EmailKind.DUPLICATE_SEAT_REFUND if seat.attendee_id in duplicates else EmailKind.REFUND_NOTICE
            emails.append(
                OutboxEmail(registration_id=registration.registration_id, kind=kind, attendee_id=seat.attendee_id)
            )
        self._repository.add_emails(emails)
        done.append(f"{len(emails)} refund notice(s) queued")
        return done

    def _seats_cancelled(self, registration: Registration) -> list[str]:
        """An invoice that will not be paid (voided, uncollectible): its seats' codes stop working, no certificate, no
        coin; nobody paid, so no refund notice."""
        done = []
        for seat in registration.seats:
            if self._repository.attendee(seat.attendee_id) is not None:
                self._repository.revoke_attendee(seat.attendee_id)
            if self._certificates.revoke_current(seat.attendee_id):
                done.append("certificate revoked")
        done.append("access revoked")
        if self._repository.set_shipment_state(
            registration.registration_id, ShipmentState.PENDING, ShipmentState.CANCELLED
        ):
            done.append("coin cancelled")
        return done

    def _seats_refunded(self, registration: Registration) -> list[str]:
        done = []
        # A seat refunded because its person held another was never this registration's to revoke or notify.
        duplicates = _duplicate_seats(registration)
        for seat in registration.seats:
            if seat.attendee_id in duplicates:
                continue
            if self._repository.attendee(seat.attendee_id) is not None:
                self._repository.revoke_attendee(seat.attendee_id)
            if self._certificates.revoke_current(seat.attendee_id):
                done.append("certificate revoked")
        done.append("access revoked")
        shipment = self._repository.shipment(registration.registration_id)
        if shipment is not None:
            if self._repository.set_shipment_state(
                registration.registration_id, ShipmentState.PENDING, ShipmentState.CANCELLED
            ):
                done.append("coin cancelled")
            elif self._repository.set_shipment_state(
                registration.registration_id, ShipmentState.SHIPPED, ShipmentState.SHIPPED_THEN_REFUNDED
            ):
                done.append("coin already shipped: flagged for the organiser")
        registration_id = registration.registration_id
        self._repository.add_emails(
            [
                OutboxEmail(registration_id=registration_id, kind=EmailKind.REFUND_NOTICE, attendee_id=s.attendee_id)
                for s in registration.seats
                if s.attendee_id not in duplicates
            ]
        )
        done.append(f"{len(registration.seats) - len(duplicates)} refund notice(s) queued")
        return done

    def deliver(self, email: OutboxEmail, *, new: bool = False) -> OutboxEmail:
        """A bulk job's send (shared/jobs): the entry sent if it is still owed, leased and recorded as every email
        is (so never twice), and returned as it ends. Raises MailThrottled (the entry pending again) or EmailBusy.
        `new`: the job's claim has just created the entry, so it is not read back (the lease's condition holds
        against any other sender all the same)."""
        entry = email if new else self._repository.email(email.registration_id, email.key)
        registration = self._repository.registration(email.registration_id) if entry is not None else None
        if entry is None or registration is None:
            return email.model_copy(update={"status": OutboxStatus.SKIPPED})
        done = self._send(registration, email.key, entry)
        ended = {"sent": OutboxStatus.SENT, "rejected for good": OutboxStatus.FAILED, "already settled": entry.status}
        return entry.model_copy(update={"status": ended.get(done, OutboxStatus.SKIPPED)})

    def _send(self, registration: Registration, email_key: str, entry: OutboxEmail | None = None) -> str:
        if entry is None:
            entry = self._repository.email(registration.registration_id, email_key)
        if entry is None or entry.status in {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED}:
            return "already settled"
        now = self._wall_clock.now()
        if not self._repository.claim_email(entry, now, now + SEND_LEASE):
            raise EmailBusy(email_key)
        try:
            read = _Read()
            not_owed = self._not_owed(registration, entry, read)
            if not_owed is not None:
                self._finish(entry, OutboxStatus.SKIPPED, error=not_owed)
                return f"skipped: {not_owed}"
            message_id = self._mailer.send(self._compose(registration, entry, read))
        except MailUnencodable as exc:
            # Not a poison record retried into the dead-letter queue: it fails for good, and the organiser sees the
            # address as undeliverable on the attendee (and corrects it).
            self._finish(entry, OutboxStatus.FAILED, error=str(exc))
            if entry.attendee_id is not None:
                seat = next((s for s in registration.seats if s.attendee_id == entry.attendee_id), None)
                if seat is not None:
                    self._repository.record_email_status(
                        entry.attendee_id,
                        EmailStatus.BOUNCED,
                        str(exc),
                        now,
                        email=seat.email,
                        event_id=registration.event_id,
                    )
            return "rejected for good"
        except MailRejected as exc:
            self._finish(entry, OutboxStatus.FAILED, error=str(exc) or "rejected")
            return "rejected for good"
        except Exception as exc:
            # Nothing went out (SES throttled, the table or the bucket failed while composing): give the claim
            # back, so the retried record sends at once instead of meeting its own lease until it expires.
            with suppress(Exception):  # if even that fails, the lease expires and a retry claims it then
                cause = (str(exc) or "throttled") if isinstance(exc, MailThrottled) else type(exc).__name__
                self._finish(entry, OutboxStatus.PENDING, error=cause)
            raise
        # The message is out: recording it is worth a few tries, since an entry left `sending` is sent again
        # once its lease expires (the one duplicate SES's lack of an idempotency token allows).
        self._finish(entry, OutboxStatus.SENT, message_id=message_id)
        return "sent"

    def _not_owed(self, registration: Registration, entry: OutboxEmail, read: _Read) -> str | None:
        """Why the entry is no longer owed, if it is not; what it read for that is kept in `read`."""
        owes_access = entry.kind in {EmailKind.CONFIRMATION, EmailKind.ACCESS_CODE}
        if owes_access and registration.status not in STILL_HOLDS_SEATS:
            return f"registration {registration.status}"
        seat = next((s for s in registration.seats if s.attendee_id == entry.attendee_id), None)
        if owes_access and seat is not None and seat.status is not SeatStatus.ACTIVE:
            return f"seat {seat.status}"
        if entry.kind is EmailKind.REMINDER:
            if registration.status not in STILL_HOLDS_SEATS:
                return f"registration {registration.status}"
            attendee = read.attendee = self._repository.attendee(entry.attendee_id or "")
            if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
                return "seat refunded or revoked"
        if entry.kind is EmailKind.CERTIFICATE:
            certificate = read.certificate = self._certificates.certificate(entry.certificate_id or "")
            if certificate is None or certificate.status is not CertificateStatus.VALID:
                return "certificate replaced or revoked"
        return None

    def _finish(self, entry: OutboxEmail, status: OutboxStatus, **outcome: str) -> None:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self._repository.finish_email(entry, status, **outcome)
                return
            except TemporarilyUnavailable:
                if attempt == RECORD_ATTEMPTS:
                    raise
                self._pause(RECORD_PAUSE_SECONDS * attempt)

    def _compose(self, registration: Registration, entry: OutboxEmail, read: _Read | None = None) -> Email:
        conference = self._events.conference(registration.event_id)
        sender = Mailbox(display_name=conference.name, address=self._sender_address or conference.sender)
        # The footer's contact is the address the mail comes from (a reply reaches the organiser).
        conference = conference.model_copy(update={"sender": sender.address})
        return replace(self._content(conference, registration, entry, read or _Read()), sender=sender)

    def _content(self, conference: Conference, registration: Registration, entry: OutboxEmail, read: _Read) -> Email:
        if entry.kind is EmailKind.RECEIPT:
            paid_at = became(registration.history, RegistrationStatus.PAID) or registration.created_at
            paid_amount = registration.amount_due.model_copy(
                update={"amount": registration.payment.amount_paid or registration.amount_due.amount}
            )
            return receipt(conference, registration, paid_amount=paid_amount, paid_at=paid_at)
        seat = next(s for s in registration.seats if s.attendee_id == entry.attendee_id)
        if entry.kind is EmailKind.CERTIFICATE:
            certificate = read.certificate or self._certificates.certificate(entry.certificate_id or "")
            assert certificate is not None, "checked before the lease was used"
            return self._certificate_email(conference, registration, seat, certificate)
        if entry.kind is EmailKind.REFUND_NOTICE:
            return refund_notice(conference, registration, seat)
        if entry.kind is EmailKind.DUPLICATE_SEAT_REFUND:
            return duplicate_seat_refund(conference, registration, seat)
        # A fresh code per send: only its digest is kept. A confirmation's becomes the current code; an access code
        # asked for works beside the earlier ones; the organiser's resend replaces every earlier code.
        code, now = new_access_code(), self._wall_clock.now()
        if entry.kind is EmailKind.REMINDER:
            # A code of its own for the one-click link, beside the confirmation's (only digests are kept, so the
            # confirmation's code cannot be put in the link again).
            self._add_requested_code(seat.attendee_id, hash_access_code(code), now, read.attendee)
            return reminder(
                conference, registration, seat, code, which=entry.reminder or "", site_url=self._site_url, sent_at=now
            )
        if entry.kind is EmailKind.ACCESS_CODE:
            if entry.request:
                self._add_requested_code(seat.attendee_id, hash_access_code(code), now)
            else:
                self._repository.set_access_code(seat.attendee_id, hash_access_code(code), now, replaces_all=True)
            return access_code(conference, registration, seat, code, site_url=self._site_url)
        self._repository.set_access_code(seat.attendee_id, hash_access_code(code), now)
        return confirmation(conference, registration, seat, code, site_url=self._site_url, sent_at=now)

    def _add_requested_code(
        self, attendee_id: str, code_hash: str, now: datetime, read: Attendee | None = None
    ) -> None:
        """Add the code to the attendee's requested ones, starting from `read` if the send has just read them."""
        for attempt in range(CODE_WRITE_ATTEMPTS):
            attendee = read if attempt == 0 and read is not None else self._repository.attendee(attendee_id)
            if attendee is None:
                return
            codes = attendee.with_requested_code(code_hash, now)
            if self._repository.set_requested_codes(attendee_id, codes, expected=attendee.requested_codes):
                return
        # Nothing is sent: the claim goes back and the record is retried.
        raise TemporarilyUnavailable("The attendee's access codes kept changing; the email will be retried.")

    def _certificate_email(
        self, conference: Conference, registration: Registration, seat: Seat, certificate: Certificate
    ) -> Email:
        certificate_id = certificate.certificate_id
        content = certificate_content(certificate, conference, site_url=self._site_url)
        verification_url = content.verification_url
        from shared.certificates.pdf import render_certificate  # reportlab loads with the first certificate drawn

        pdf = render_certificate(content)
        self._certificates.store_pdf(certificate_id, pdf)
        return certificate_email(
            conference,
            registration,
            seat,
            attendee_name=certificate.attendee_name,
            certificate_id=certificate_id,
            hours=certificate.hours,
            verification_url=verification_url,
            pdf=pdf,
        )


def _duplicate_seats(registration: Registration) -> set[str]:
    """The attendee ids of seats refunded because their person already held a paid seat when this one was paid."""
    return {e.attendee_id for e in registration.history if e.action == HistoryAction.SEAT_DUPLICATE and e.attendee_id}
