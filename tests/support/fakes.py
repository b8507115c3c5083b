"""In-memory fakes of the registration ports, with the same conditional semantics as the adapters."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from shared.registration.models import Checkout, Registration
from shared.registration.ports import CheckoutRequest, EmailsHeld, PaymentProviderError, RequestPending, StaleWrite
from shared.registration.status import RegistrationStatus


class InMemoryRegistrations:
    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.guards: dict[tuple[str, str], str] = {}  # (event id, email) -> the paid registration holding it
        self.claims: dict[tuple[str, str], str] = {}  # (event id, resubmission key) -> registration
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

    def pay(self, registration_id: str) -> Registration:
        """What a settled payment does (shared/payments): the registration paid, holding its seats' guards."""
        paid = self.registrations[registration_id].model_copy(update={"status": RegistrationStatus.PAID})
        self.registrations[registration_id] = paid
        for key in paid.email_keys:
            self.guards[paid.event_id, key] = registration_id
        return paid

    def create(self, registration: Registration, tolerated: Mapping[str, str] | None = None) -> None:
        self._let_racers_in("create")
        with self._lock:
            assert registration.resubmission is not None
            event, tolerated = registration.event_id, tolerated or {}
            held = [
                key
                for key in registration.email_keys
                if (event, key) in self.guards and self.guards[event, key] != tolerated.get(key)
            ]
            if held:
                raise EmailsHeld(held)
            claim = (event, registration.resubmission)
            if claim in self.claims:
                raise RequestPending(self.claims[claim])
            assert registration.registration_id not in self.registrations
            self.registrations[registration.registration_id] = registration
            self.claims[claim] = registration.registration_id

    def get(self, registration_id: str) -> Registration | None:
        self._let_racers_in("get")
        return self.registrations.get(registration_id)

    def seat_holders(self, event_id: str, email_keys: list[str]) -> dict[str, str]:
        self._let_racers_in("seat_holders")
        return {key: self.guards[event_id, key] for key in email_keys if (event_id, key) in self.guards}

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        self._let_racers_in("release_claim")
        with self._lock:
            if self.claims.get((event_id, resubmission)) == registration_id:  # else freed or taken again: not ours
                del self.claims[event_id, resubmission]

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
        """The adapter's conditional delete (only without a Checkout Session), then its claim freed if still its."""
        self._let_racers_in("discard")
        with self._lock:
            current = self.registrations.get(registration.registration_id)
            if current is not None and current.checkout is not None:
                raise StaleWrite("checkout attached")
            self.registrations.pop(registration.registration_id, None)
            claim = (registration.event_id, registration.resubmission or "")
            if self.claims.get(claim) == registration.registration_id:
                del self.claims[claim]


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
