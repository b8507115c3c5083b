"""In-memory fakes of the organiser's ports (the parts refunds and resends use), with the adapters' semantics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from shared.admin.privacy import ERASED
from shared.certificates.models import Certificate, CertificateStatus
from shared.payments.models import HistoryEntry
from shared.reactions.models import Attendee, OutboxEmail, Shipment, ShipmentState
from shared.registration.models import Registration, Seat
from shared.registration.ports import PaymentProviderError, StaleWrite
from shared.registration.status import RegistrationStatus
from tests.support.fakes_payments import save_seats


class InMemoryAdmin:
    """Registrations, their outbox entries and their audit history; a partial AdminRepository."""

    def __init__(self, *registrations: Registration) -> None:
        self.registrations = {r.registration_id: r for r in registrations}
        self.outbox: dict[tuple[str, str], OutboxEmail] = {}

    def registration(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def get(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def save_seats(self, registration: Registration, seats: list[Seat], entry: HistoryEntry) -> None:
        save_seats(self.registrations, registration, seats, entry)

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return [e for (owner, _), e in self.outbox.items() if owner == registration_id]

    def add_emails(self, emails: list[OutboxEmail]) -> None:
        for email in emails:  # attribute_not_exists: an entry already there is kept as it is
            self.outbox.setdefault((email.registration_id, email.key), email)

    def append_history(self, registration_id: str, entry: HistoryEntry) -> None:
        current = self.registrations.get(registration_id)
        if current is None:  # the adapter's attribute_exists(pk)
            raise StaleWrite(registration_id)
        self.registrations[registration_id] = current.model_copy(update={"history": [*current.history, entry]})


class FakeRefunds:
    """Stripe's refunds: one refund per registration (the idempotency key), or unavailable."""

    def __init__(self) -> None:
        self.refunds: dict[str, str] = {}
        self.unavailable = False

    def refund(self, payment_intent_id: str, registration_id: str) -> str:
        if self.unavailable:
            raise PaymentProviderError("APIConnectionError")
        return self.refunds.setdefault(registration_id, f"re_{len(self.refunds) + 1}")


class InMemoryAdminTable(InMemoryAdmin):
    """The whole of the organiser's and the personal-data ports (AdminRepository, PrivacyRepository), as
    shared/adapters/dynamodb_admin.py keeps them: the status index queried a page at a time (a page that
    reaches the limit carries a LastEvaluatedKey, as DynamoDB's does), the erasure's registration write
    conditional on its version, and email guards freed only by the registration holding them."""

    def __init__(self, *registrations: Registration) -> None:
        super().__init__(*registrations)
        self.guards = {(r.event_id, seat.email_key): r.registration_id for r in registrations for seat in r.seats}
        self.attendees: dict[str, Attendee] = {}
        self.shipments: dict[str, Shipment] = {}
        self.certificates: dict[str, Certificate] = {}
        self.pointers: dict[str, str] = {}  # attendee id -> current certificate id
        self.people: set[tuple[str, str]] = set()  # (email, registration id): the stream's index of who is named
        self.pdf_versions: dict[str, int] = {}  # certificate id -> versions of its PDF in the bucket
        self.released_claims: list[tuple[str, str, str]] = []  # (event, request key, registration) freed
        self._races: dict[str, list[Callable[[], None]]] = {}

    def race(self, method: str, writer: Callable[[], None]) -> None:
        """Let another writer act just before the next call of `method` (between a caller's read and its write)."""
        self._races.setdefault(method, []).append(writer)

    def _let_racers_in(self, method: str) -> None:
        racers = self._races.get(method)
        if racers:
            racers.pop(0)()

    # -- the status index -----------------------------------------------------------------------------------

    @staticmethod
    def _index_key(registration: Registration) -> dict[str, Any]:
        return {
            "pk": {"S": f"REG#{registration.registration_id}"},
            "sk": {"S": "META"},
            "gsi1pk": {"S": f"STATUS#{registration.event_id}#{registration.status.value}"},
            "gsi1sk": {"S": f"{registration.created_at.isoformat()}#{registration.registration_id}"},
        }

    def _listed(self, event_id: str, status: RegistrationStatus) -> list[Registration]:
        matching = [r for r in self.registrations.values() if r.status is status and r.event_id == event_id]
        return sorted(matching, key=lambda r: self._index_key(r)["gsi1sk"]["S"])

    def registration_page(
        self, event_id: str, status: RegistrationStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Registration], dict[str, Any] | None]:
        listed = self._listed(event_id, status)
        if start:
            after = start["gsi1sk"]["S"]
            listed = [r for r in listed if self._index_key(r)["gsi1sk"]["S"] > after]
        page = listed[:limit]
        return page, (self._index_key(page[-1]) if len(page) == limit else None)

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        yield from self._listed(event_id, status)

    # -- what the reactions and certificates left -------------------------------------------------------------

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self.attendees.get(attendee_id)

    def seats_of(self, email_key: str) -> list[str]:
        return [registration for (_, email), registration in self.guards.items() if email == email_key]

    def registrations_naming(self, email_key: str) -> list[str]:
        """The guards, then the stream's index (`people`: (email, registration id), what a new registration adds)."""
        indexed = [registration for email, registration in sorted(self.people) if email == email_key]
        return list(dict.fromkeys([*self.seats_of(email_key), *indexed]))

    def forget_person(self, email_key: str, registration_id: str) -> None:
        self.people.discard((email_key, registration_id))

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        self.released_claims.append((event_id, resubmission, registration_id))

    def shipment(self, registration_id: str) -> Shipment | None:
        return self.shipments.get(registration_id)

    def current_certificate(self, attendee_id: str) -> str | None:
        return self.pointers.get(attendee_id)

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self.certificates.get(certificate_id)

    # -- erasure ------------------------------------------------------------------------------------------------

    def replace_personal_data(self, registration: Registration, changes: dict[str, Any], entry: HistoryEntry) -> None:
        self._let_racers_in("replace_personal_data")
        current = self.registrations.get(registration.registration_id)
        if current is None or current.version != registration.version:  # version = :current
            raise StaleWrite(registration.registration_id)
        self.registrations[registration.registration_id] = current.model_copy(
            update=changes | {"history": [*registration.history, entry], "version": registration.version + 1}
        )

    def erase_attendee(self, attendee_id: str) -> None:
        attendee = self.attendees.get(attendee_id)
        if attendee is None:
            return  # never paid: only the registration held the person
        self.attendees[attendee_id] = attendee.model_copy(
            update={
                "first_name": ERASED,
                "last_name": ERASED,
                "email": f"{ERASED}+{attendee_id}@invalid",
                "organization": ERASED,
                "license_id": None,
                "access_code_hash": None,
                "requested_codes": (),
                "current_session": None,
                "session_expires_at": None,
            }
        )

    def erase_shipment(self, registration_id: str) -> None:
        shipment = self.shipments.get(registration_id)
        if shipment is None:
            return
        state = ShipmentState.CANCELLED if shipment.shipment_state is ShipmentState.PENDING else shipment.shipment_state
        self.shipments[registration_id] = shipment.model_copy(
            update={"name": ERASED, "organization": ERASED, "line1": ERASED, "line2": None, "city": ERASED,
                    "state": ERASED, "postal_code": "00000", "country": "ZZ", "shipment_state": state}
        )  # fmt: skip

    def erase_certificate(self, certificate_id: str) -> None:
        certificate = self.certificates.get(certificate_id)
        if certificate is None:  # attribute_exists(pk)
            raise StaleWrite(certificate_id)
        self.certificates[certificate_id] = certificate.model_copy(
            update={
                "attendee_name": ERASED,
                "organization": ERASED,
                "license_id": None,
                "status": CertificateStatus.REVOKED,
            }
        )

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        if self.guards.get((event_id, email_key)) == registration_id:  # else freed already, or claimed again
            del self.guards[event_id, email_key]

    def erase_pdf(self, certificate_id: str) -> int:  # the bucket's port (CertificatePdfs)
        return self.pdf_versions.pop(certificate_id, 0)
