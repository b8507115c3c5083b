"""What reactions need from the table and from the mail service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from shared.certificates.models import Certificate
from shared.email import Email
from shared.reactions.models import (
    Attendee,
    EmailStatus,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    Shipment,
    ShipmentState,
)
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus


class MailThrottled(Exception):
    """The mail service asked us to slow down: retry later."""


class MailRejected(Exception):
    """The mail service refused this message for good (bad address, unverified sender...)."""


class MailUnencodable(MailRejected):
    """The message could not be built for this recipient (an address or a name MIME cannot carry): it never will
    be, so it fails for good and the address is recorded as undeliverable on the attendee."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send and return the provider's message id."""


class CertificateFiles(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...

    def store_pdf(self, certificate_id: str, pdf: bytes) -> None:
        """Keep the PDF as sent (private, encrypted, versioned)."""

    def revoke_current(self, attendee_id: str) -> bool:
        """Revoke the attendee's valid certificate, if any (a refunded seat earns none)."""


class ReactionRepository(Protocol):
    def registration(self, registration_id: str) -> Registration | None: ...

    def add_attendees(self, attendees: list[Attendee]) -> None:
        """Create each attendee unless it exists (a replayed record creates nothing)."""

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def set_access_code(
        self, attendee_id: str, code_hash: str, issued_at: datetime, *, replaces_all: bool = False
    ) -> None:
        """Make this the attendee's current code; `replaces_all` also ends the codes asked for (the organiser's
        resend)."""

    def set_requested_codes(
        self, attendee_id: str, codes: tuple[RequestedCode, ...], *, expected: tuple[RequestedCode, ...]
    ) -> bool:
        """Replace the attendee's requested codes if they are still `expected`; False (nothing written) if not."""

    def index_people(self, registration: Registration) -> None:
        """Index the registration under each email it names (seats and purchaser), whatever becomes of it."""

    def seats_of(self, email_key: str) -> list[str]:
        """The registrations holding this email's seats (one per event)."""

    def take_access_code_slot(
        self, attendee_id: str, request_id: str, now: datetime, *, since: datetime, slots: int
    ) -> bool:
        """Take one of the attendee's `slots` access-code sends for this request: a slot never taken, or last taken
        at or before `since`. True also when this request already holds one (a replayed record takes no second);
        False when every slot was taken after `since`."""

    def revoke_attendee(self, attendee_id: str) -> None: ...

    def record_email_status(
        self, attendee_id: str, status: EmailStatus, reason: str, at: datetime, *, email: str, event_id: str
    ) -> bool:
        """Record what became of mail to the attendee's address, if it is still `email` (listed for the event's
        organisers while it does not work); False if it is not."""

    def add_emails(self, emails: list[OutboxEmail]) -> int:
        """Create each outbox entry unless it exists; how many were created."""

    def email(self, registration_id: str, email_key: str) -> OutboxEmail | None: ...

    def emails(self, registration_id: str) -> list[OutboxEmail]: ...

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]: ...

    def claim_email(self, email: OutboxEmail, now: datetime, lease_until: datetime) -> bool:
        """Take the entry for sending if it is pending (or its lease ran out); False if someone else has it."""

    def finish_email(
        self, email: OutboxEmail, status: OutboxStatus, *, message_id: str | None = None, error: str | None = None
    ) -> None: ...

    def add_shipment(self, shipment: Shipment) -> None:
        """Put the coin on the mailing list unless it is already there."""

    def shipment(self, registration_id: str) -> Shipment | None: ...

    def set_shipment_state(self, registration_id: str, expected: ShipmentState, state: ShipmentState) -> bool: ...
