from __future__ import annotations

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.stripe_gateway import StripeCheckoutGateway
from shared.clock import conference_clock, wall_clock
from shared.composition.common import event_catalog
from shared.composition.stripe_client import stripe_from
from shared.registration.service import RegistrationService
from shared.settings import RegistrationApiSettings


def registration_service(settings: RegistrationApiSettings) -> RegistrationService:
    return RegistrationService(
        events=event_catalog(settings),
        repository=DynamoRegistrationRepository(settings.table_name),
        payments=StripeCheckoutGateway(stripe_from(settings)),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
        site_url=settings.site_url,
    )
