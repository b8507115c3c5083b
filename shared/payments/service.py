"""Payments: Stripe events and the reconciler settle registrations from what Stripe says now."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from shared.clock import Clock
from shared.errors import PaymentProviderUnavailable, TemporarilyUnavailable
from shared.ids import is_id
from shared.payments.models import (
    CHARGE_EVENTS,
    DISPUTE_EVENTS,
    HANDLED_EVENTS,
    SESSION_EVENTS,
    FindingKind,
    HistoryEntry,
    PaymentTruth,
    SettlementOutcome,
    StripeEvent,
)
from shared.payments.ports import PaymentRepository, StripeObjectMissing, StripeReader
from shared.payments.settlement import settle
from shared.registration.ports import PaymentProviderError, StaleWrite

# Concurrent writers (two deliveries of one change, the reconciler) each re-read and re-decide.
SETTLE_ROUNDS = 8
# A registration that never got a Checkout Session this long after creation was abandoned by a crash.
ABANDONED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class ReconcileReport:
    examined: int = 0
    settled: list[SettlementOutcome] = field(default_factory=list)
    discarded: int = 0


class PaymentService:
    def __init__(
        self,
        *,
        repository: PaymentRepository,
        stripe: StripeReader,
        expected_livemode: bool,
        wall_clock: Clock,
    ) -> None:
        self._repository = repository
        self._stripe = stripe
        self._expected_livemode = expected_livemode
        self._wall_clock = wall_clock

    def handle(self, event: StripeEvent) -> SettlementOutcome:
        """Act once on a verified event; the event itself is only a hint of which object to re-read."""
        if event.type not in HANDLED_EVENTS:
            return SettlementOutcome(None, ignored=True)
        if self._repository.event_seen(event.id):
            return SettlementOutcome(None, duplicate=True)
        if event.livemode != self._expected_livemode:
            outcome = SettlementOutcome(None, findings=[FindingKind.LIVEMODE_MISMATCH])
        else:
            outcome = self._settle(self._read(event), actor="stripe", event=event)
        self._repository.remember_event(event, outcome.registration_id)
        return outcome

    def reconcile(self, *, pending_for: timedelta, event_ids: Iterable[str]) -> ReconcileReport:
        """Settle registrations still pending after `pending_for` from their Checkout Session's state:
        a webhook that never arrived never leaves a payer unregistered or an email blocked."""
        now = self._wall_clock.now()
        examined, settled, discarded = 0, [], 0
        pending = (
            registration
            for event_id in event_ids
            for registration in self._repository.pending_registrations(event_id, created_before=now - pending_for)
        )
        for registration in pending:
            examined += 1
            if registration.checkout is None:
                if now - registration.created_at > ABANDONED_AFTER:
                    try:
                        self._repository.discard(registration)
                    except StaleWrite:
                        continue  # its creator finished after all (a Checkout Session is attached): not abandoned
                    discarded += 1
                continue
            outcome = self._settle(
                self._stripe_call(self._stripe.session_truth, registration.checkout.session_id), actor="system"
            )
            if outcome.changes or outcome.findings:
                settled.append(outcome)
        return ReconcileReport(examined, settled, discarded)

    def _read(self, event: StripeEvent) -> PaymentTruth:
        if event.type in SESSION_EVENTS:
            return self._stripe_call(self._stripe.session_truth, event.object_id)
        if event.type in CHARGE_EVENTS:
            return self._stripe_call(self._stripe.charge_truth, event.object_id)
        assert event.type in DISPUTE_EVENTS
        return self._stripe_call(self._stripe.dispute_truth, event.object_id)

    def _stripe_call(self, read: Callable[[str], PaymentTruth], object_id: str) -> PaymentTruth:
        try:
            return read(object_id)
        except StripeObjectMissing:
            return PaymentTruth(registration_id=None, livemode=self._expected_livemode)
        except PaymentProviderError as exc:
            # Answered 503: Stripe delivers the event again later.
            raise PaymentProviderUnavailable("Stripe could not be read back; retry later.") from exc

    def _settle(self, truth: PaymentTruth, *, actor: str, event: StripeEvent | None = None) -> SettlementOutcome:
        """Write settlements until the registration reflects `truth`, one transition per write."""
        registration_id = truth.registration_id
        changes: list[HistoryEntry] = []
        findings: list[FindingKind] = []
        for _ in range(SETTLE_ROUNDS):
            registration = (
                self._repository.get(registration_id) if registration_id and is_id(registration_id, "reg") else None
            )
            if registration is None:
                return SettlementOutcome(registration_id, findings=[FindingKind.UNKNOWN_REGISTRATION])
            settlement = settle(
                registration,
                truth,
                expected_livemode=self._expected_livemode,
                at=self._wall_clock.now(),
                actor=actor,
                event=event,
            )
            findings = settlement.findings
            if not settlement.changed:
                return SettlementOutcome(registration_id, changes=changes, findings=findings)
            try:
                self._repository.save_settlement(registration, settlement)
            except StaleWrite:
                continue  # another writer got there first: re-read and decide again
            changes += settlement.history
            if not settlement.more:
                return SettlementOutcome(registration_id, changes=changes, findings=findings)
        raise TemporarilyUnavailable("The registration is changing too often; retry later.")
