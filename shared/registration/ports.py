"""What registration needs from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.conference.models import Money
from shared.registration.models import Checkout, Registration


class EmailsTaken(Exception):
    """Creating a registration failed because some of its emails already hold a seat."""

    def __init__(self, email_keys: list[str]) -> None:
        super().__init__(f"{len(email_keys)} email(s) already hold a seat")
        self.email_keys = email_keys


class StaleWrite(Exception):
    """A conditional write lost: the item changed since it was read. The caller re-reads."""


class RegistrationRepository(Protocol):
    def create(self, registration: Registration) -> None:
        """Store a new registration and claim each seat's email, all or nothing (EmailsTaken)."""

    def get(self, registration_id: str) -> Registration | None: ...

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        """The registration id holding this email's seat in this event, if any."""

    def start_checkout_attempt(self, registration: Registration, attempt: int, expires_at: datetime) -> None:
        """Record a new Checkout attempt, if the registration still has the previous one (StaleWrite)."""

    def attach_checkout(self, registration: Registration, checkout: Checkout) -> None:
        """Record the Checkout Session of the registration's current attempt (StaleWrite)."""

    def discard(self, registration: Registration) -> None:
        """Delete a registration that never got a Checkout Session and free its emails."""

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        """Free an email whose holder no longer holds seats (expired, cancelled or gone)."""


@dataclass(frozen=True)
class CheckoutRequest:
    registration_id: str
    attempt: int
    kind: str
    seats: int
    unit_price: Money
    item_name: str
    customer_email: str
    expires_at: datetime
    success_url: str
    cancel_url: str

    @property
    def idempotency_key(self) -> str:
        # Deterministic: a retried call (Lambda retry, resumed registration) never makes a second session.
        return f"checkout-create:{self.registration_id}:{self.attempt}"


class PaymentProviderError(Exception):
    """The payment provider failed or could not be reached; nothing was charged."""


class PaymentGateway(Protocol):
    def create_checkout(self, request: CheckoutRequest) -> Checkout: ...
