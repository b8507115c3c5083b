"""The Stripe client from a function's settings (its key read from the secret store)."""

from __future__ import annotations

from shared.adapters.secrets import secret_string
from shared.adapters.stripe_gateway import StripeClient, stripe_client
from shared.settings import StripeSettings


def stripe_from(settings: StripeSettings) -> StripeClient:
    return stripe_client(secret_string(settings.stripe_secret_key_name), settings.stripe_api_base)
