"""Stripe, through the official SDK's StripeClient. The only module that imports stripe."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import stripe
from stripe.params.checkout import SessionCreateParams

from shared.registration.models import Checkout
from shared.registration.ports import CheckoutRequest, PaymentProviderError

# Pinned: the webhook endpoint is created with the same version, and both move together on upgrade.
STRIPE_API_VERSION = "2026-10-28.endive"
# Well inside the function's timeout, so a slow Stripe becomes a clean 503 rather than a Lambda timeout.
STRIPE_TIMEOUT_SECONDS = 8


@lru_cache(maxsize=4)
def stripe_client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": api_base.rstrip("/")},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
    )


class StripeCheckoutGateway:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        # No personal data in metadata: the registration id is the only link Stripe needs.
        link = {"registration_id": request.registration_id}
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": request.seats,
                    "price_data": {
                        "currency": request.unit_price.currency,
                        "unit_amount": request.unit_price.amount,
                        "product_data": {"name": request.item_name},
                    },
                }
            ],
            "client_reference_id": request.registration_id,
            "metadata": link | {"kind": request.kind, "attempt": str(request.attempt)},
            "payment_intent_data": {"metadata": link},
            "customer_email": request.customer_email,
            "expires_at": int(request.expires_at.timestamp()),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc
        if not session.url:
            raise PaymentProviderError("checkout session without url")
        return Checkout(
            session_id=session.id,
            url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )
