"""What Stripe says about a registration's payment, and what we keep of it.

Stripe events are hints: for each one the webhook re-reads the object from Stripe (a `PaymentTruth`)
and merges it into the registration's `PaymentFacts`. Every merge only moves forward (an amount
refunded never shrinks, a closed dispute never reopens), and the status is a function of the facts,
so duplicate and out-of-order events all end in the same place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

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
HANDLED_EVENTS = SESSION_EVENTS | CHARGE_EVENTS | DISPUTE_EVENTS


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

    @property
    def shows_payment(self) -> bool:
        completed_and_paid = self.session_status == "complete" and self.payment_status in {
            "paid",
            "no_payment_required",
        }
        return completed_and_paid or self.charge_succeeded


class PaymentFacts(BaseModel):
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

    @property
    def fully_refunded(self) -> bool:
        return self.paid and self.amount_paid > 0 and self.amount_refunded >= self.amount_paid


class HistoryEntry(BaseModel):
    """An audit entry: what changed, when, who or what caused it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str  # "stripe", "reconciler", "admin:<name>"
    change: str  # "pending_payment -> paid", "partial refund 5000"
    stripe_event_id: str | None = None
    stripe_event_type: str | None = None


class FindingKind(StrEnum):
    """Payments that must not be fulfilled automatically; each is logged and alarmed."""

    UNKNOWN_REGISTRATION = "unknown_registration"
    LIVEMODE_MISMATCH = "livemode_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNREACHABLE_STATUS = "unreachable_status"  # e.g. money arrived for a registration already expired


@dataclass(frozen=True)
class SettlementOutcome:
    registration_id: str | None
    duplicate: bool = False
    ignored: bool = False  # an event type we do not act on
    changes: list[str] = field(default_factory=list)
    findings: list[FindingKind] = field(default_factory=list)
