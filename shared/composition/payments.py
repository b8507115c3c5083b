from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.secrets import secret_string
from shared.adapters.stripe_gateway import StripePaymentReader, StripeRefunds
from shared.clock import wall_clock
from shared.composition.stripe_client import stripe_from
from shared.payments.seat_refunds import SeatRefunds
from shared.payments.service import PaymentService
from shared.settings import PaymentSettings

if TYPE_CHECKING:
    from stripe import StripeClient


def payment_service(settings: PaymentSettings) -> PaymentService:
    repository = DynamoRegistrationRepository(settings.table_name)

    def stripe() -> StripeClient:  # read at each call: a rotated key is used within the secrets' cache age
        return stripe_from(settings)

    return PaymentService(
        repository=repository,
        stripe=StripePaymentReader(stripe),
        expected_livemode=settings.stripe_livemode,
        wall_clock=wall_clock,
        seat_refunds=SeatRefunds(repository=repository, refunds=StripeRefunds(stripe), wall_clock=wall_clock),
    )


def webhook_secrets(settings: PaymentSettings) -> list[str]:
    """The endpoint's signing secrets: one `whsec_...`, or a JSON list of them while a secret is rolled."""
    value = secret_string(settings.stripe_webhook_secret_name)
    if value.startswith("["):
        secrets = json.loads(value)
        return [secret for secret in secrets if isinstance(secret, str) and secret]
    return [value]
