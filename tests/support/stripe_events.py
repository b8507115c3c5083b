"""Stripe webhook deliveries made by hand, signed as Stripe signs (for forgeries, skews and orderings)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import stripe

from infra.apigw import HttpResponse, LocalHttpApi
from infra.stripe_standin import StripeStandIn

SECRET = "whsec_local_development"


def signature(payload: bytes, secret: str = SECRET, timestamp: int | None = None, scheme: str = "v1") -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={moment},{scheme}={mac}"


def event(event_type: str, data_object: dict[str, Any], *, livemode: bool = False) -> bytes:
    body = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": data_object},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(body, indent=2).encode()


def deliver(api: LocalHttpApi, payload: bytes, header: str | None = None, **extra_headers: str) -> HttpResponse:
    headers = {"content-type": "application/json; charset=utf-8"} | extra_headers
    if header is not None:
        headers["stripe-signature"] = header
    return api.request("POST", "/webhooks/stripe", headers=headers, body=payload)


def refund_at_stripe(standin: StripeStandIn, session_id: str, amount: int | None = None) -> None:
    """A refund made at Stripe (the dashboard or the API): its charge.refunded webhook follows in the background."""
    client = stripe.StripeClient("sk_test_local", base_addresses={"api": standin.public_url})
    intent = client.v1.checkout.sessions.retrieve(session_id).payment_intent
    params: dict[str, Any] = {"payment_intent": intent}
    if amount is not None:
        params["amount"] = amount
    client.v1.refunds.create(params=params)  # type: ignore[arg-type]
    assert standin.wait_idle()
