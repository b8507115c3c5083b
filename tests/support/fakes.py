"""In-memory fakes of the registration ports, with the same conditional semantics as the adapters."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime

from shared.registration.models import Checkout, Registration
from shared.registration.ports import CheckoutRequest, EmailsTaken, PaymentProviderError, StaleWrite
from shared.registration.status import RegistrationStatus


class InMemoryRegistrations:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.guards: dict[tuple[str, str], str] = {}  # (event id, email) -> registration
        self._lock = threading.Lock()
        self._races: dict[str, list[Callable[[], None]]] = {}

    def race(self, method: str, writer: Callable[[], None]) -> None:
        """Let another writer act just before the next call of `method`: what a concurrent request or
        container can do between this caller's read and its (conditional) write."""
        self._races.setdefault(method, []).append(writer)

    def _let_racers_in(self, method: str) -> None:
        racers = self._races.get(method)
        if racers:
            racers.pop(0)()

    def create(self, registration: Registration) -> None:
        self._let_racers_in("create")
        with self._lock:
            taken = [key for key in registration.email_keys if (registration.event_id, key) in self.guards]
            if taken or registration.registration_id in self.registrations:
                raise EmailsTaken(taken)
            self.registrations[registration.registration_id] = registration
            for key in registration.email_keys:
                self.guards[registration.event_id, key] = registration.registration_id

    def get(self, registration_id: str) -> Registration | None:
        return self.registrations.get(registration_id)

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        self._let_racers_in("holder_of")
        return self.guards.get((event_id, email_key))

    def start_checkout_attempt(self, registration: Registration, attempt: int, expires_at: datetime) -> None:
        self._let_racers_in("start_checkout_attempt")
        with self._lock:
            current = self._pending(registration.registration_id)
            if current.checkout_attempt != registration.checkout_attempt:
                raise StaleWrite("attempt moved on")
            self.registrations[registration.registration_id] = current.model_copy(
                update={
                    "checkout_attempt": attempt,
                    "checkout_expires_at": expires_at,
                    "checkout": None,
                    "version": current.version + 1,
                }
            )

    def attach_checkout(self, registration: Registration, checkout: Checkout) -> None:
        self._let_racers_in("attach_checkout")
        with self._lock:
            current = self._pending(registration.registration_id)
            if current.checkout is not None or current.checkout_attempt != registration.checkout_attempt:
                raise StaleWrite("checkout already attached")
            self.registrations[registration.registration_id] = current.model_copy(
                update={"checkout": checkout, "version": current.version + 1}
            )

    def _pending(self, registration_id: str) -> Registration:
        """The adapter's condition `status = pending_payment` (a missing item fails it too)."""
        current = self.registrations.get(registration_id)
        if current is None or current.status is not RegistrationStatus.PENDING_PAYMENT:
            raise StaleWrite("not awaiting payment")
        return current

    def discard(self, registration: Registration) -> None:
        """One transaction, like the adapter's: the registration only if it has no Checkout Session, and each
        guard only if it still names it; any condition failing cancels all of it."""
        self._let_racers_in("discard")
        with self._lock:
            current = self.registrations.get(registration.registration_id)
            event = registration.event_id
            guards_ours = all(
                self.guards.get((event, key)) == registration.registration_id for key in registration.email_keys
            )
            if (current is not None and current.checkout is not None) or not guards_ours:
                raise StaleWrite("transaction cancelled")
            self.registrations.pop(registration.registration_id, None)
            for key in registration.email_keys:
                del self.guards[event, key]

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        self._let_racers_in("release_email")
        with self._lock:
            if self.guards.get((event_id, email_key)) == registration_id:  # else freed or claimed again: not ours
                del self.guards[event_id, email_key]


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
