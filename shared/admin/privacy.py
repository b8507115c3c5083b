"""Personal data rights: everything held about one person, and erasure that keeps the money trail.

Erasure replaces the person's names, email, organization, phone, licence id and address wherever they are kept
(the registration's seat, the purchaser, the attendee, the coin shipment, the certificate's name and organization) and
frees their email. Amounts, Stripe ids, statuses and the audit history stay, so the accounts still add
up; the certificate is revoked, so verifying it shows nothing about anyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import ConfigDict

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
    def seats_of(self, email_key: str) -> list[str]: ...

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


class PrivacyService:
    def __init__(self, *, repository: PrivacyRepository, attendance: AttendanceReader, wall_clock: Clock) -> None:
        self._repository = repository
        self._attendance = attendance
        self._wall_clock = wall_clock

    def _find(self, email: str) -> list[tuple[Registration, Seat]]:
        """The person's seats, one per event they registered for."""
        key = normalize_email(email)
        found = []
        for registration_id in self._repository.seats_of(key):
            registration = self._repository.registration(registration_id)
            seat = next((s for s in registration.seats if s.email_key == key), None) if registration else None
            if registration is not None and seat is not None:
                found.append((registration, seat))
        if not found:
            raise NotFound("Nothing is held about this email.")
        return found

    def export(self, email: str) -> dict[str, Any]:
        """Everything held about the person with this email (as a JSON document), seat by seat."""
        return {
            "exported_at": self._wall_clock.now().isoformat(),
            "seats": [self._export_seat(registration, seat) for registration, seat in self._find(email)],
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
        """Erase the person from every seat they hold (one per event). A registration may change under us (a
        payment, a refund): its seat is re-read and erased again, a few times."""
        erased: list[dict[str, str]] = []
        for _ in range(len(self._find(email)) * ERASE_ATTEMPTS):
            try:
                registration, seat = self._find(email)[0]  # an erased seat no longer carries the email
            except NotFound:
                return {**erased[0], "erased": True, "seats": erased}
            try:
                erased.append(self._erase_once(registration, seat, actor=actor))
            except StaleWrite:
                continue
        raise TemporarilyUnavailable("The registration is changing right now; please try again.")

    def _erase_once(self, registration: Registration, seat: Seat, *, actor: str) -> dict[str, str]:
        erased_seat = seat.model_copy(
            update={
                "first_name": ERASED,
                "last_name": ERASED,
                "email": f"{ERASED}+{seat.attendee_id}@invalid",
                "organization": ERASED,
                "job_title": None,
                "phone": None,
                "license_id": None,
            }
        )
        changes: dict[str, Any] = {
            "seats": [erased_seat if s.attendee_id == seat.attendee_id else s for s in registration.seats]
        }
        if registration.kind == "individual" and registration.shipping_address is not None:
            changes["shipping_address"] = ShippingAddress(
                line1=ERASED, line2=None, city=ERASED, state=ERASED, postal_code="00000", country="ZZ"
            )
        if registration.purchaser and normalize_email(registration.purchaser.email) == seat.email_key:
            # A purchaser's email is checked as an address whenever the registration is read (the seats' are not):
            # `.example` is reserved (RFC 2606) and passes that check, where `.invalid` is refused.
            changes["purchaser"] = Purchaser(
                name=ERASED, email=f"{ERASED}+purchaser@{ERASED}.example", organization=ERASED
            )
        now: datetime = self._wall_clock.now()
        entry = HistoryEntry(
            at=now, actor=actor, action=HistoryAction.PERSONAL_DATA_ERASED, attendee_id=seat.attendee_id
        )
        self._repository.replace_personal_data(registration, changes, entry)
        self._repository.erase_attendee(seat.attendee_id)
        if "shipping_address" in changes:
            self._repository.erase_shipment(registration.registration_id)
        certificate_id = self._repository.current_certificate(seat.attendee_id)
        if certificate_id:
            self._repository.erase_certificate(certificate_id)
        self._repository.release_email(registration.event_id, seat.email_key, registration.registration_id)
        return {
            "attendee_id": seat.attendee_id,
            "registration_id": registration.registration_id,
            "event_id": registration.event_id,
        }
