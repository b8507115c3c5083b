"""Which reaction a stream record calls for: real transitions only, read from old and new images."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.registration.status import RegistrationStatus


class ReactionKind(StrEnum):
    SEATS_PAID = "seats_paid"
    SEATS_REFUNDED = "seats_refunded"
    DISPUTE_OPENED = "dispute_opened"
    SEND_EMAIL = "send_email"
    ACCESS_CODE_REQUESTED = "access_code_requested"
    REGISTRATION_CREATED = "registration_created"  # its people indexed by email, for erasure
    SEATS_REFUNDED_ALONE = "seats_refunded_alone"  # some seats' own refunds (attendee_ids), the registration paid
    INVOICE_PAID = "invoice_paid"  # an invoiced registration paid: its payer's receipt (the seats had theirs)
    SEATS_CANCELLED = "seats_cancelled"  # an invoice voided or uncollectible: access and certificates end


@dataclass(frozen=True)
class Reaction:
    kind: ReactionKind
    registration_id: str  # empty for an access-code request, which names an email, not a registration
    email_key: str | None = None  # the outbox entry to send
    request_id: str | None = None  # an access-code request (POST /access-codes)...
    requester: str | None = None  # ...and the email it asks for, as the seats' guards key it
    attendee_ids: tuple[str, ...] = ()  # the seats refunded alone


def route(event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> Reaction | None:
    """The reaction for one stream record, or None (a write that changed nothing that matters, a TTL
    delete, an entity nothing reacts to). Filters on the event source mapping are only an optimisation;
    this is the check that counts."""
    old, new = old or {}, new or {}
    entity = new.get("entity") or old.get("entity")
    if entity == "registration" and event_name == "INSERT":
        return Reaction(ReactionKind.REGISTRATION_CREATED, str(new["registration_id"]))
    if entity == "registration" and event_name == "MODIFY":
        before, after = old.get("status"), new.get("status")
        registration_id = str(new["registration_id"])
        if before == after:
            refunded = _newly_refunded_seats(old, new)
            return (
                Reaction(ReactionKind.SEATS_REFUNDED_ALONE, registration_id, attendee_ids=refunded)
                if refunded
                else None
            )
        if before == RegistrationStatus.PENDING_PAYMENT and after == RegistrationStatus.PAID:
            return Reaction(ReactionKind.SEATS_PAID, registration_id)
        # An approved invoice holds the seats: attendees and confirmations at once, the receipt once it is paid.
        if after == RegistrationStatus.INVOICED:
            return Reaction(ReactionKind.SEATS_PAID, registration_id)
        if before == RegistrationStatus.INVOICED and after == RegistrationStatus.PAID:
            return Reaction(ReactionKind.INVOICE_PAID, registration_id)
        if before == RegistrationStatus.INVOICED and after == RegistrationStatus.CANCELLED:
            return Reaction(ReactionKind.SEATS_CANCELLED, registration_id)
        if after == RegistrationStatus.REFUNDED:
            return Reaction(ReactionKind.SEATS_REFUNDED, registration_id)
        if after == RegistrationStatus.DISPUTED:
            return Reaction(ReactionKind.DISPUTE_OPENED, registration_id)
        return None  # disputed -> paid keeps access as it was; expiry and cancellation owe nobody anything
    if entity == "outbox" and event_name == "INSERT" and not new.get("job_id"):
        # An entry of a bulk job is sent by the job's worker, paced to SES's quota (shared/jobs); not here.
        return Reaction(ReactionKind.SEND_EMAIL, str(new["registration_id"]), str(new["email_key"]))
    if entity == "access_code_request" and event_name == "INSERT":
        return Reaction(
            ReactionKind.ACCESS_CODE_REQUESTED, "", request_id=str(new["request_id"]), requester=str(new["email_key"])
        )
    return None


def _newly_refunded_seats(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """The seats whose status became `refunded` in this write (a seat's own refund)."""
    was = {seat.get("attendee_id"): seat.get("status") for seat in old.get("seats") or []}
    return tuple(
        str(seat["attendee_id"])
        for seat in new.get("seats") or []
        if seat.get("status") == "refunded" and was.get(seat.get("attendee_id")) != "refunded"
    )
