"""In-memory fakes of the registration ports, with the same conditional semantics as the adapters."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from shared.registration.models import Checkout, Registration
from shared.registration.ports import CheckoutRequest, EmailsTaken, PaymentProviderError, StaleWrite


class InMemoryRegistrations:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.guards: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, registration: Registration) -> None:
        with self._lock:
            taken = [key for key in registration.email_keys if key in self.guards]
            if taken or registration.registration_id in self.registrations:
                raise EmailsTaken(taken)
            self.registrations[registration.registration_id] = registration
            for key in registration.email_keys:
                self.guards[key] = registration.registration_id

    def get(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def holder_of(self, email_key: str) -> str | None:
        return self.guards.get(email_key)

    def start_checkout_attempt(self, registration: Registration, attempt: int, expires_at: datetime) -> None:
        with self._lock:
            current = self.registrations[registration.registration_id]
            if current.checkout_attempt != registration.checkout_attempt:
                raise StaleWrite("attempt moved on")
            self.registrations[registration.registration_id] = current.model_copy(
                update={"checkout_attempt": attempt, "checkout_expires_at": expires_at, "checkout": None}
            )

    def attach_checkout(self, registration: Registration, checkout: Checkout) -> None:
        with self._lock:
            current = self.registrations[registration.registration_id]
            if current.checkout is not None or current.checkout_attempt != registration.checkout_attempt:
                raise StaleWrite("checkout already attached")
            self.registrations[registration.registration_id] = current.model_copy(update={"checkout": checkout})

    def discard(self, registration: Registration) -> None:
        with self._lock:
            self.registrations.pop(registration.registration_id, None)
            for key in registration.email_keys:
                if self.guards.get(key) == registration.registration_id:
                    del self.guards[key]

    def release_email(self, email_key: str, registration_id: str) -> None:
        with self._lock:
            if self.guards.get(email_key) == registration_id:
                del self.guards[email_key]


class FakePayments:
    """Records Checkout requests; like Stripe, one idempotency key gives one session."""

    def __init__(self) -> None:
        self.requests: list[CheckoutRequest] = []
        self.sessions: dict[str, Checkout] = {}
        self.failures = 0
        self._numbers = itertools.count(1)

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        self.requests.append(request)
        if self.failures:
            self.failures -= 1
            raise PaymentProviderError("APIConnectionError")
        if request.idempotency_key not in self.sessions:
            session_id = f"cs_test_{next(self._numbers)}"
            self.sessions[request.idempotency_key] = Checkout(
                session_id=session_id, url=f"https://checkout.test/{session_id}", expires_at=request.expires_at
            )
        return self.sessions[request.idempotency_key]
