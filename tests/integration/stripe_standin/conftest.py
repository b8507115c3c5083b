"""Fixtures: a stand-in served on a loopback port, the official SDK pointed at it, and a webhook receiver that
verifies signatures the way the backend's webhook handler does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from infra.stripe_standin import StripeStandIn, StripeStandInServer

API_KEY = "sk_test_local"
WEBHOOK_SECRET = "whsec_local_development"


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    event: stripe.Event | None  # None when the signature did not verify
    status: int


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1: answers 400 to a bad signature, otherwise the scripted statuses
    (200 once the script runs out), and may call back into the stand-in while handling an event."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.on_event: Callable[[stripe.Event], None] | None = None
        self._script: list[int] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/stripe"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def answer_with(self, *statuses: int) -> None:
        with self._lock:
            self._script.extend(statuses)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        try:
            event = stripe.Webhook.construct_event(body, request.headers.get("Stripe-Signature"), self.secret)
        except stripe.SignatureVerificationError:
            event, status = None, 400
        else:
            if self.on_event is not None:
                self.on_event(event)
            with self._lock:
                status = self._script.pop(0) if self._script else 200
        with self._lock:
            self.received.append(Received(body, dict(request.headers), event, status))
        return Response("{}", status, content_type="application/json")(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.received) >= count, f"expected {count} webhook requests, got {len(self.received)}"
        return list(self.received)

    @property
    def events(self) -> list[stripe.Event]:
        return [r.event for r in self.received if r.event is not None]

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def standin(receiver: WebhookReceiver) -> Iterator[StripeStandIn]:
    # Short retry delays keep the background-retry tests fast; the schedule's shape is the same.
    standin = StripeStandIn(api_key=API_KEY, webhook_url=receiver.url, retry_delays=(0.05, 0.1, 0.2))
    yield standin
    standin.close()


@pytest.fixture
def server(standin: StripeStandIn) -> Iterator[StripeStandInServer]:
    with StripeStandInServer(standin) as server:
        yield server


@pytest.fixture
def client(server: StripeStandInServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)


def as_dict(obj: stripe.StripeObject) -> dict[str, Any]:
    """The object as plain JSON data; the SDK types most fields Optional, which makes deep assertions noisy."""
    return obj.to_dict(recursive=True)


def headers_of(obj: stripe.StripeObject) -> Mapping[str, str]:
    assert obj.last_response is not None
    return obj.last_response.headers


def error_type(error: stripe.StripeError) -> str | None:
    return error.error.type if error.error is not None else None


def session_params(**overrides: Any) -> dict[str, Any]:
    """What the backend's checkout gateway sends, nested line items and metadata included."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 3,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 20000,
                    "product_data": {"name": "Conférence ticket"},
                },
            }
        ],
        "client_reference_id": "reg_123",
        "customer_email": "ada@example.com",
        "metadata": {"registration_id": "reg_123", "kind": "initial", "attempt": "1"},
        "payment_intent_data": {"metadata": {"registration_id": "reg_123"}},
        "expires_at": int(time.time()) + 3600,
        "success_url": "https://conf.example/registered?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://conf.example/register",
    }
    params.update(overrides)
    return params


@pytest.fixture
def create_session(client: stripe.StripeClient) -> Callable[..., stripe.checkout.Session]:
    def create(**overrides: Any) -> stripe.checkout.Session:
        return client.v1.checkout.sessions.create(params=session_params(**overrides))  # type: ignore[arg-type]

    return create
