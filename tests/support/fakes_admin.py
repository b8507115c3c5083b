"""In-memory fakes of the organiser's ports (the parts refunds and resends use), with the adapters' semantics."""

from __future__ import annotations

from shared.payments.models import HistoryEntry
from shared.reactions.models import OutboxEmail
from shared.registration.models import Registration
from shared.registration.ports import PaymentProviderError, StaleWrite


class InMemoryAdmin:
    """Registrations, their outbox entries and their audit history; a partial AdminRepository."""

    def __init__(self, *registrations: Registration) -> None:
        self.registrations = {r.registration_id: r for r in registrations}
        self.outbox: dict[tuple[str, str], OutboxEmail] = {}

    def registration(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

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
