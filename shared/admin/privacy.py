"""Personal data rights: everything held about one person, and erasure that keeps the money trail.

The person is found in every registration that names them, whatever its status (paid, awaiting payment, expired,
cancelled, refunded) and whether they hold a seat or only bought seats for others: the email's guards and the
index the stream keeps (`EMAIL#<email>/REG#<id>`). Erasure replaces the person's names, email, organization, phone,
licence id and address wherever they are kept (the registration's seats, the purchaser, the attendee, the coin
shipment, every certificate ever issued to them, its PDF in every stored version) and frees their email. Amounts,
Stripe ids, statuses and the audit history stay, so the accounts still add up; the certificates are revoked, so
verifying one shows nothing about anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import ConfigDict

from shared.admin.detail import former_attendee_ids
from shared.attendance.facts import AttendanceReader
from shared.certificates.models import Certificate
from shared.clock import Clock
from shared.errors import NotFound, TemporarilyUnavailable
from shared.models import Model
from shared.payments.models import HistoryAction, HistoryEntry
from shared.reactions.models import Attendee, OutboxEmail, Shipment
from shared.registration.models import Email, Purchaser, Registration, Seat, ShippingAddress, normalize_email
from shared.registration.ports import StaleWrite

ERASED = "erased"
ERASE_ATTEMPTS = 3


class PersonRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email


class PrivacyRepository(Protocol):
    def registrations_naming(self, email_key: str) -> list[str]:
        """Every registration naming this email as a seat or as the purchaser, whatever its status."""

    def forget_person(self, email_key: str, registration_id: str) -> None:
        """Drop the index entry of this email for this registration (an erased email names no one)."""

    def registration(self, registration_id: str) -> Registration | None: ...

    def attendee(self, attendee_id: str) -> Attendee | None: ...

    def emails(self, registration_id: str) -> list[OutboxEmail]: ...

    def shipment(self, registration_id: str) -> Shipment | None: ...

    def current_certificate(self, attendee_id: str) -> str | None: ...

    def certificate(self, certificate_id: str) -> Certificate | None: ...

    def replace_personal_data(self, registration: Registration, changes: dict[str, Any], entry: HistoryEntry) -> None:
        """Write the erased seats/purchaser/address if the registration is still at its version (StaleWrite)."""

    def erase_attendee(self, attendee_id: str) -> None: ...

    def erase_shipment(self, registration_id: str) -> None: ...

    def erase_certificate(self, certificate_id: str) -> None: ...

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None: ...

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        """Free the request's claim: an erased registration is nobody's request any more."""


class CertificatePdfs(Protocol):
    def erase_pdf(self, certificate_id: str) -> int:
        """Delete every stored version of the certificate's PDF; how many there were."""


@dataclass(frozen=True)
class Named:
    """A registration naming the person: the seats that are theirs, and whether they bought it."""

    registration: Registration
    seats: list[Seat]
    purchaser: bool  # they bought it: its purchaser, or the billing contact an invoice went to
    billed: bool = False  # the billing contact (paying by invoice)
    # The seats a substitution passed from them to another person: no seat names them any more, but their revoked
    # attendee item (and its attendance and any certificate) is still theirs.
    replaced: tuple[Seat, ...] = ()


class PrivacyService:
    def __init__(
        self, *, repository: PrivacyRepository, attendance: AttendanceReader, pdfs: CertificatePdfs, wall_clock: Clock
    ) -> None:
        self._repository = repository
        self._attendance = attendance
        self._pdfs = pdfs
        self._wall_clock = wall_clock

    def _find(self, email: str) -> list[Named]:
        """Every registration naming the person, with their seats in it (any status) and whether they bought it."""
        key = normalize_email(email)
        found = []
        for registration_id in self._repository.registrations_naming(key):
            registration = self._repository.registration(registration_id)
            if registration is None:
                continue
            seats = [s for s in registration.seats if s.email_key == key]
            bought = registration.purchaser is not None and normalize_email(registration.purchaser.email) == key
            billed = registration.billing is not None and normalize_email(registration.billing.billing_email) == key
            replaced = tuple(self._replaced(registration, key))
            if seats or bought or billed or replaced:
                found.append(Named(registration, seats, bought or billed, billed, replaced))
        if not found:
            raise NotFound("Nothing is held about this email.")
        return found

    def _replaced(self, registration: Registration, key: str) -> list[Seat]:
        """The person's seats that substitutions passed on, rebuilt from their attendee items."""
        former = [self._repository.attendee(attendee_id) for attendee_id in former_attendee_ids(registration)]
        return [
            Seat(
                attendee_id=attendee.attendee_id,
                first_name=attendee.first_name,
                last_name=attendee.last_name,
                email=attendee.email,
                organization=attendee.organization,
                license_id=attendee.license_id,
            )
            for attendee in former
            if attendee is not None and normalize_email(attendee.email) == key
        ]

    def export(self, email: str) -> dict[str, Any]:
        """Everything held about the person with this email (as a JSON document): each seat, and each registration
        they bought (for others, or for themselves too)."""
        found = self._find(email)
        return {
            "exported_at": self._wall_clock.now().isoformat(),
            "seats": [self._export_seat(named.registration, seat) for named in found for seat in named.seats],
            "replaced_seats": [
                self._export_seat(named.registration, seat) for named in found for seat in named.replaced
            ],
            "purchases": [self._export_purchase(named.registration) for named in found if named.purchaser],
        }

    @staticmethod
    def _export_purchase(registration: Registration) -> dict[str, Any]:
        return {
            "event_id": registration.event_id,
            "registration_id": registration.registration_id,
            "kind": registration.kind,
            "status": registration.status,
            "created_at": registration.created_at.isoformat(),
            "amount": registration.amount.model_dump(),
            "purchaser": registration.purchaser.model_dump() if registration.purchaser else None,
            "billing": registration.billing.model_dump() if registration.billing else None,
            "seats": len(registration.seats),
        }

    def _export_seat(self, registration: Registration, seat: Seat) -> dict[str, Any]:
        attendee = self._repository.attendee(seat.attendee_id)
        certificate_id = self._repository.current_certificate(seat.attendee_id)
        certificate = self._repository.certificate(certificate_id) if certificate_id else None
        logins, days = self._attendance.login_days(seat.attendee_id)
        shipment = (
            self._repository.shipment(registration.registration_id) if registration.kind == "individual" else None
        )
        return {
            "event_id": registration.event_id,
            "registration": {
                "registration_id": registration.registration_id,
                "kind": registration.kind,
                "status": registration.status,
                "created_at": registration.created_at.isoformat(),
                "amount": registration.amount.model_dump(),
                "seat": seat.model_dump(),
                "shipping_address": registration.shipping_address.model_dump()
                if registration.shipping_address
                else None,
                "history": [entry.as_record() for entry in registration.history],
            },
            "attendee": attendee.model_dump(
                mode="json", exclude={"access_code_hash", "requested_codes", "current_session", "session_expires_at"}
            )
            if attendee
            else None,
            "attendance": {
                "minutes_by_session": self._attendance.minutes(seat.attendee_id),
                "logins": logins,
                "days_logged_in": days,
                "shared_login_signals": self._attendance.signals(seat.attendee_id),
            },
            "emails": [
                e.model_dump(mode="json", include={"kind", "status", "sent_at"})
                for e in self._repository.emails(registration.registration_id)
                if e.attendee_id == seat.attendee_id
            ],
            "coin_shipment": shipment.model_dump(mode="json") if shipment else None,
            "certificate": certificate.model_dump(mode="json") if certificate else None,
        }

    def erase(self, email: str, *, actor: str) -> dict[str, Any]:
        """Erase the person from every registration naming them. A registration may change under us (a payment, a
        refund): it is re-read and erased again, a few times."""
        key = normalize_email(email)
        erased: list[dict[str, str]] = []
        purchases: list[str] = []
        for _ in range(len(self._find(email)) * ERASE_ATTEMPTS):
            try:
                named = self._find(email)[0]  # an erased registration no longer names the email
            except NotFound:
                for registration_id in self._repository.registrations_naming(key):  # left by a registration now gone
                    self._repository.forget_person(key, registration_id)
                first = erased[0] if erased else {"attendee_id": None, "registration_id": purchases[0]}
                return {**first, "erased": True, "seats": erased, "purchases": purchases}
            try:
                erased += self._erase_once(named, key, actor=actor)
            except StaleWrite:
                continue
            if named.purchaser:
                purchases.append(named.registration.registration_id)
        raise TemporarilyUnavailable("The registration is changing right now; please try again.")

    def _erase_once(self, named: Named, key: str, *, actor: str) -> list[dict[str, str]]:
        registration, mine = named.registration, {seat.attendee_id for seat in named.seats}
        changes: dict[str, Any] = {
            "seats": [
                s.model_copy(
                    update={
                        "first_name": ERASED,
                        "last_name": ERASED,
                        "email": f"{ERASED}+{s.attendee_id}@invalid",
                        "organization": ERASED,
                        "job_title": None,
                        "phone": None,
                        "license_id": None,
                    }
                )
                if s.attendee_id in mine
                else s
                for s in registration.seats
            ]
        }
        if registration.kind == "individual" and mine and registration.shipping_address is not None:
            changes["shipping_address"] = ShippingAddress(
                line1=ERASED, line2=None, city=ERASED, state=ERASED, postal_code="00000", country="ZZ"
            )
        purchaser = registration.purchaser
        if named.purchaser and purchaser is not None and normalize_email(purchaser.email) == key:
            # A purchaser's email is checked as an address whenever the registration is read (the seats' are not):
            # `.example` is reserved (RFC 2606) and passes that check, where `.invalid` is refused.
            changes["purchaser"] = Purchaser(
                name=ERASED, email=f"{ERASED}+purchaser@{ERASED}.example", organization=ERASED
            )
        if named.billed and registration.billing is not None:
            # The PO number is the agency's, not the person's: it stays with the money trail.
            changes["billing"] = registration.billing.model_copy(
                update={"billing_email": f"{ERASED}+billing@{ERASED}.example", "billing_name": ERASED}
            )
        now: datetime = self._wall_clock.now()
        # The entry names the seat erased (a purchaser who holds none: the registration's first), never the person.
        theirs = sorted(mine | {seat.attendee_id for seat in named.replaced})
        named_seat = next(iter(theirs), registration.seats[0].attendee_id)
        entry = HistoryEntry(at=now, actor=actor, action=HistoryAction.PERSONAL_DATA_ERASED, attendee_id=named_seat)
        self._repository.replace_personal_data(registration, changes, entry)
        if "shipping_address" in changes:
            self._repository.erase_shipment(registration.registration_id)
        for seat in named.replaced:  # no seat names them: their attendee item and certificates only
            self._repository.erase_attendee(seat.attendee_id)
            for certificate_id in self._certificates_of(registration.registration_id, seat.attendee_id):
                self._repository.erase_certificate(certificate_id)
                self._pdfs.erase_pdf(certificate_id)
        for seat in named.seats:
            self._repository.erase_attendee(seat.attendee_id)
            for certificate_id in self._certificates_of(registration.registration_id, seat.attendee_id):
                self._repository.erase_certificate(certificate_id)
                self._pdfs.erase_pdf(certificate_id)
            self._repository.release_email(registration.event_id, seat.email_key, registration.registration_id)
        self._repository.forget_person(key, registration.registration_id)
        if registration.resubmission is not None:
            self._repository.release_claim(
                registration.event_id, registration.resubmission, registration.registration_id
            )
        return [
            {
                "attendee_id": seat.attendee_id,
                "registration_id": registration.registration_id,
                "event_id": registration.event_id,
            }
            for seat in (*named.seats, *named.replaced)
        ]

    def _certificates_of(self, registration_id: str, attendee_id: str) -> list[str]:
        """Every certificate the attendee was ever issued: the current one, and those a reissue revoked (each was
        sent in its own email, which names it)."""
        current = self._repository.current_certificate(attendee_id)
        sent = [
            e.certificate_id
            for e in self._repository.emails(registration_id)
            if e.attendee_id == attendee_id and e.certificate_id
        ]
        return list(dict.fromkeys([*([current] if current else []), *sent]))
