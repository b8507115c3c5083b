"""What registration needs from the outside world; adapters implement these, tests fake them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.conference.models import Money
from shared.registration.models import Checkout, Registration


class EmailsHeld(Exception):
    """Creating a registration failed because some of its emails' guards are held (by a paid seat, or stale)."""

    def __init__(self, email_keys: list[str]) -> None:
        super().__init__(f"{len(email_keys)} email(s) have a seat's guard")
        self.email_keys = email_keys


class RequestPending(Exception):
    """Creating a registration failed because an identical request's registration holds the claim on it."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(f"an identical request made {registration_id}")
        self.registration_id = registration_id


class StaleWrite(Exception):
    """A conditional write lost: the item changed since it was read. The caller re-reads."""


class RegistrationRepository(Protocol):
    def create(self, registration: Registration, tolerated: Mapping[str, str] | None = None) -> None:
        """Store a new registration with its claim on its request (`resubmission`), all or nothing, provided no
        seat's email has a guard (payment takes them, not this) other than the `tolerated` ones (email -> the
        registration that guard names, known to hold no paid seat). EmailsHeld for the guarded emails, else
        RequestPending when an identical request's registration holds the claim."""

    def get(self, registration_id: str) -> Registration | None: ...

    def seat_holders(self, event_id: str, email_keys: list[str]) -> dict[str, str]:
        """For each email that a paid registration claimed in this event, that registration's id."""

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        """Free a request's claim held by a registration that no longer awaits payment (or is gone)."""

    def start_checkout_attempt(self, registration: Registration, attempt: int, expires_at: datetime) -> None:
        """Record a new Checkout attempt, if the registration still has the previous one (StaleWrite)."""

    def attach_checkout(self, registration: Registration, checkout: Checkout) -> None:
        """Record the Checkout Session of the registration's current attempt (StaleWrite)."""

    def discard(self, registration: Registration) -> None:
        """Delete a registration that never got a Checkout Session, and its claim on its request."""


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
