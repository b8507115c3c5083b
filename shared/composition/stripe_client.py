"""The Stripe client from a function's settings (its key read from the secret store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.secrets import secret_string
from shared.adapters.stripe_gateway import stripe_client
from shared.settings import StripeSettings

if TYPE_CHECKING:
    from stripe import StripeClient


def stripe_from(settings: StripeSettings) -> StripeClient:
    return stripe_client(secret_string(settings.stripe_secret_key_name), settings.stripe_api_base)
