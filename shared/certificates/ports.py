"""What issuing and verifying certificates need from the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from shared.certificates.models import Certificate
from shared.reactions.models import Attendee, OutboxEmail
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus


class CertificateRepository(Protocol):
    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def rename_attendee(self, attendee_id: str, first_name: str, last_name: str) -> None: ...

    def current_certificate(self, attendee_id: str) -> str | None: ...

    def certificate(self, certificate_id: str) -> Certificate | None: ...

    def issue(self, certificate: Certificate, email: OutboxEmail) -> bool:
        """Atomically: the attendee's certificate pointer (only if there is none), the certificate and its
        outbox entry. False if the attendee already has a certificate (issuing twice issues nothing)."""

    def replace(self, old: Certificate, new: Certificate, email: OutboxEmail) -> bool:
        """Atomically: revoke `old`, point the attendee at `new` (only if still at `old`), its outbox entry."""
