from __future__ import annotations

from shared.adapters.dynamodb_admin import DynamoAdminRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.admin.privacy import PrivacyService
from shared.admin.service import AdminService, Refunds
from shared.clock import wall_clock
from shared.composition.common import event_catalog
from shared.settings import AdminSettings


class RefundsOnFirstUse:
    """Stripe's SDK loads with the first refund, not with every cold start: the organiser's function mostly
    lists and exports, and a refund is its rare branch (the import is about a fifth of the function's)."""

    def __init__(self, settings: AdminSettings) -> None:
        self._settings = settings
        self._refunds: Refunds | None = None

    def refund(self, payment_intent_id: str, registration_id: str) -> str:
        if self._refunds is None:
            from shared.adapters.stripe_gateway import StripeRefunds
            from shared.composition.stripe_client import stripe_from

            self._refunds = StripeRefunds(stripe_from(self._settings))
        return self._refunds.refund(payment_intent_id, registration_id)


def admin_service(settings: AdminSettings) -> AdminService:
    return AdminService(
        events=event_catalog(settings),
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        refunds=RefundsOnFirstUse(settings),
        wall_clock=wall_clock,
    )


def privacy_service(settings: AdminSettings) -> PrivacyService:
    return PrivacyService(
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        wall_clock=wall_clock,
    )
