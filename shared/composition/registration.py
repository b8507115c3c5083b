from __future__ import annotations

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.stripe_gateway import StripeCheckoutGateway
from shared.clock import conference_clock, wall_clock
from shared.composition.stripe_client import stripe_from
from shared.conference import Conference
from shared.registration.service import RegistrationService
from shared.settings import RegistrationApiSettings


def registration_service(settings: RegistrationApiSettings, conference: Conference) -> RegistrationService:
    return RegistrationService(
        conference=conference,
        repository=DynamoRegistrationRepository(settings.table_name),
        payments=StripeCheckoutGateway(stripe_from(settings)),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
        site_url=settings.site_url,
    )
