"""What Stripe says about a registration's payment, and what we keep of it.

Stripe events are hints: for each one the webhook re-reads the object from Stripe (a `PaymentTruth`)
and merges it into the registration's `PaymentFacts`. Every merge only moves forward (an amount
refunded never shrinks, a closed dispute never reopens), and the status is a function of the facts,
so duplicate and out-of-order events all end in the same place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, model_validator

from shared.models import Model
from shared.registration.status import RegistrationStatus

# Stripe's dispute statuses, open and final; "warning_*" are inquiries that may still become disputes.
OPEN_DISPUTE = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review"})
DISPUTE_WON = frozenset({"won", "warning_closed"})
DISPUTE_LOST = frozenset({"lost"})

# The events we act on; every other type is acknowledged and ignored.
SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
CHARGE_EVENTS = frozenset({"charge.refunded"})
DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated"})
# An invoice's payment or its end; finalized and sent change nothing that the approval did not record.
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.voided", "invoice.marked_uncollectible"})
HANDLED_EVENTS = SESSION_EVENTS | CHARGE_EVENTS | DISPUTE_EVENTS | INVOICE_EVENTS
# Stripe's invoice statuses that end an unpaid invoice (an uncollectible one may still be paid later).
INVOICE_CLOSED = frozenset({"void", "uncollectible"})


@dataclass(frozen=True)
class StripeEvent:
    """A webhook event whose signature verified: only what we need to know which object to re-read."""

    id: str
    type: str
    object_type: str
    object_id: str
    livemode: bool
    created: int


@dataclass(frozen=True)
class PaymentTruth:
    """One Stripe object (and what it links to) as Stripe reports it now."""

    registration_id: str | None
    livemode: bool
    session_id: str | None = None
    session_status: str | None = None  # open | complete | expired
    payment_status: str | None = None  # paid | unpaid | no_payment_required
    payment_failed: bool = False  # a delayed payment method failed for this session
    amount: int | None = None  # what was (or is to be) charged, in minor units
    currency: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    charge_succeeded: bool = False
    amount_refunded: int = 0
    dispute_id: str | None = None
    dispute_status: str | None = None
    invoice_id: str | None = None
    invoice_status: str | None = None  # draft | open | paid | void | uncollectible

    @property
    def shows_payment(self) -> bool:
        completed_and_paid = self.session_status == "complete" and self.payment_status in {
            "paid",
            "no_payment_required",
        }
        return completed_and_paid or self.charge_succeeded or self.invoice_status == "paid"


class PaymentFacts(Model):
    """What the registration knows of its payment; merged forward only."""

    model_config = ConfigDict(frozen=True)

    paid: bool = False
    paid_session_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    amount_paid: int = 0
    amount_refunded: int = 0
    dispute_id: str | None = None
    dispute_status: str | None = None
    failed_session_id: str | None = None
    expired_session_ids: list[str] = []
    # Paying by invoice: the Stripe invoice the approval sent, where the payer pays it, when it is due, and
    # whether it ended unpaid (voided or uncollectible).
    invoice_id: str | None = None
    hosted_invoice_url: str | None = None
    invoice_due_at: datetime | None = None
    invoice_closed: bool = False

    @property
    def fully_refunded(self) -> bool:
        return self.paid and self.amount_paid > 0 and self.amount_refunded >= self.amount_paid


class HistoryAction(StrEnum):
    """What an audit entry records: stable dotted names (the organiser API's `history[].action`).

    Each action has its own fields on the entry (`ACTION_FIELDS`); `describe` renders the sentence for people.
    """

    STATUS_CHANGED = "registration.status_changed"  # from_status, to_status
    PARTIALLY_REFUNDED = "payment.partially_refunded"  # amount_refunded (this refund), total_refunded
    REFUND_REQUESTED = "refund.requested"  # refund_id: an organiser asked Stripe; the webhook finishes it
    CONFIRMATION_RESENT = "confirmation.resent"  # resend: the round of confirmations (1 for the first resend)
    PERSONAL_DATA_ERASED = "personal_data.erased"  # attendee_id
    # attendee_id: the person already held a paid seat elsewhere when this registration was paid; its fee goes back
    SEAT_DUPLICATE = "seat.duplicate"
    # attendee_id: the person already held a paid seat when this registration's invoice was made: not on it
    SEAT_NOT_BILLED = "seat.not_billed"
    SEAT_REFUNDED = "seat.refunded"  # attendee_id, refund_id, amount_refunded: that seat's fee, through Stripe
    # attendee_id, changed: an organiser corrected the attendee's email or names (the fields' names, not values)
    ATTENDEE_CORRECTED = "attendee.corrected"
    ATTENDEE_CODE_RESENT = "attendee.code_resent"  # attendee_id, resend: an organiser's resend to this attendee alone
    # from_attendee_id, to_attendee_id: another person took this group seat (a new attendee id; the old one revoked)
    ATTENDEE_SUBSTITUTED = "attendee.substituted"
    # Never stored: the organiser's view of a history starts with it, from the registration's created_at
    REGISTRATION_CREATED = "registration.created"
    LEGACY = "legacy"  # text: an entry stored as a sentence, before entries had actions


ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    HistoryAction.STATUS_CHANGED: ("from_status", "to_status"),
    HistoryAction.PARTIALLY_REFUNDED: ("amount_refunded", "total_refunded"),
    HistoryAction.REFUND_REQUESTED: ("refund_id",),
    HistoryAction.CONFIRMATION_RESENT: ("resend",),
    HistoryAction.PERSONAL_DATA_ERASED: ("attendee_id",),
    HistoryAction.SEAT_DUPLICATE: ("attendee_id",),
    HistoryAction.SEAT_NOT_BILLED: ("attendee_id",),
    HistoryAction.SEAT_REFUNDED: ("attendee_id", "refund_id", "amount_refunded"),
    HistoryAction.ATTENDEE_CORRECTED: ("attendee_id", "changed"),
    HistoryAction.ATTENDEE_CODE_RESENT: ("attendee_id", "resend"),
    HistoryAction.ATTENDEE_SUBSTITUTED: ("from_attendee_id", "to_attendee_id"),
    HistoryAction.LEGACY: ("text",),
}

_LEGACY_TRANSITION = re.compile(r"(\w+) -> (\w+)")


class HistoryEntry(Model):
    """An audit entry: when, who or what caused it, the action and its fields.

    `action` is a `HistoryAction` value; it is typed as a string so that an entry written by a newer
    version (an action this one does not know) still loads.
    """

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str  # "stripe", "system" (the reconciler), or the organiser's email
    action: str
    from_status: RegistrationStatus | None = None
    to_status: RegistrationStatus | None = None
    amount_refunded: int | None = None  # minor units
    total_refunded: int | None = None  # minor units
    refund_id: str | None = None
    resend: int | None = None
    attendee_id: str | None = None
    changed: str | None = None  # attendee.corrected: which fields, comma separated
    from_attendee_id: str | None = None  # attendee.substituted: the seat's person before...
    to_attendee_id: str | None = None  # ...and after
    text: str | None = None
    stripe_event_id: str | None = None
    stripe_event_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_legacy(cls, data: Any) -> Any:
        """An item stored before entries had actions carries `change`, a sentence. A status change
        ("pending_payment -> paid") becomes the action it was; any other sentence is kept as `legacy`."""
        if not isinstance(data, dict) or "action" in data or "change" not in data:
            return data
        upgraded = {key: value for key, value in data.items() if key != "change"}
        change = str(data["change"])
        found = _LEGACY_TRANSITION.fullmatch(change)
        statuses = {status.value for status in RegistrationStatus}
        if found and found[1] in statuses and found[2] in statuses:
            return upgraded | {"action": HistoryAction.STATUS_CHANGED, "from_status": found[1], "to_status": found[2]}
        return upgraded | {"action": HistoryAction.LEGACY, "text": change}

    @model_validator(mode="after")
    def _has_its_fields(self) -> HistoryEntry:
        missing = [name for name in ACTION_FIELDS.get(self.action, ()) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.action} needs {', '.join(missing)}")
        return self

    def as_record(self) -> dict[str, Any]:
        """The entry as stored and exported: JSON values, without the fields its action does not use."""
        return self.model_dump(mode="json", exclude_none=True)


def describe(entry: HistoryEntry) -> str:
    """The entry as a sentence for people (logs, the organiser's page); code reads the fields, never this."""
    match entry.action:
        case HistoryAction.STATUS_CHANGED:
            return f"status {entry.from_status} -> {entry.to_status}"
        case HistoryAction.PARTIALLY_REFUNDED:
            return f"partial refund of {entry.amount_refunded} (total {entry.total_refunded})"
        case HistoryAction.REFUND_REQUESTED:
            return f"refund {entry.refund_id} requested"
        case HistoryAction.CONFIRMATION_RESENT:
            return f"confirmations resent (round {entry.resend})"
        case HistoryAction.PERSONAL_DATA_ERASED:
            return f"personal data of {entry.attendee_id} erased"
        case HistoryAction.SEAT_DUPLICATE:
            return f"{entry.attendee_id} already held a paid seat: this seat's fee is refunded"
        case HistoryAction.SEAT_NOT_BILLED:
            return f"{entry.attendee_id} already held a paid seat: this seat is not on the invoice"
        case HistoryAction.SEAT_REFUNDED:
            return f"seat of {entry.attendee_id} refunded ({entry.amount_refunded}, refund {entry.refund_id})"
        case HistoryAction.ATTENDEE_CORRECTED:
            return f"{entry.attendee_id} corrected ({entry.changed})"
        case HistoryAction.ATTENDEE_CODE_RESENT:
            return f"access code resent to {entry.attendee_id} (round {entry.resend})"
        case HistoryAction.ATTENDEE_SUBSTITUTED:
            return f"{entry.to_attendee_id} took the seat of {entry.from_attendee_id}"
        case HistoryAction.REGISTRATION_CREATED:
            return "registration created"
        case HistoryAction.LEGACY:
            return str(entry.text)
    return entry.action


def became(history: list[HistoryEntry], status: RegistrationStatus) -> datetime | None:
    """When the history first shows the registration moving to `status` (None if it never did)."""
    return next((e.at for e in history if e.action == HistoryAction.STATUS_CHANGED and e.to_status == status), None)


class FindingKind(StrEnum):
    """Payments that must not be fulfilled automatically; each is logged and alarmed."""

    UNKNOWN_REGISTRATION = "unknown_registration"
    LIVEMODE_MISMATCH = "livemode_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNREACHABLE_STATUS = "unreachable_status"  # e.g. money arrived for a registration already expired
    DUPLICATE_PAYMENT = "duplicate_payment"  # a second payment for a registration already paid: refund it alone


@dataclass(frozen=True)
class SeatClaims:
    """The email guards a payment takes for its seats, in the same write as the payment: those nobody holds, and
    those left by a registration that no longer holds that person's paid seat (key -> that registration's id)."""

    take: list[str] = field(default_factory=list)
    take_over: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SettlementOutcome:
    registration_id: str | None
    duplicate: bool = False
    ignored: bool = False  # an event type we do not act on
    changes: list[HistoryEntry] = field(default_factory=list)  # the history entries written, in order
    findings: list[FindingKind] = field(default_factory=list)
    seats_due_refund: bool = False  # some seat's person held a paid seat elsewhere: its fee is still to go back
