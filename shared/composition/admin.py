from __future__ import annotations

from shared.adapters.dynamodb_admin import DynamoAdminRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.stripe_gateway import StripeRefunds
from shared.admin.privacy import PrivacyService
from shared.admin.service import AdminService
from shared.clock import wall_clock
from shared.composition.common import conference_for
from shared.composition.stripe_client import stripe_from
from shared.settings import AdminSettings


def admin_service(settings: AdminSettings) -> AdminService:
    return AdminService(
        conference=conference_for(settings),
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        refunds=StripeRefunds(stripe_from(settings)),
        wall_clock=wall_clock,
    )


def privacy_service(settings: AdminSettings) -> PrivacyService:
    return PrivacyService(
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        wall_clock=wall_clock,
    )
