from __future__ import annotations

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.dynamodb_limits import DynamoCounters
from shared.adapters.stripe_gateway import StripeCheckoutGateway
from shared.clock import conference_clock, wall_clock
from shared.composition.common import event_catalog
from shared.composition.stripe_client import stripe_from
from shared.limits import ClientLimits
from shared.registration.service import RegistrationService
from shared.settings import RegistrationApiSettings


def registration_service(settings: RegistrationApiSettings) -> RegistrationService:
    return RegistrationService(
        events=event_catalog(settings),
        repository=DynamoRegistrationRepository(settings.table_name),
        payments=StripeCheckoutGateway(lambda: stripe_from(settings)),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
        site_url=settings.site_url,
        limits=ClientLimits(counters=DynamoCounters(settings.table_name), wall_clock=wall_clock),
        per_client_hourly=settings.registrations_per_address,
    )
