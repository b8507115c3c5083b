from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.dynamodb_admin import DynamoAdminRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.dynamodb_group_changes import DynamoGroupChanges
from shared.adapters.s3_certificates import S3CertificateFiles
from shared.admin.detail import RegistrationDetails
from shared.admin.group_changes import GroupChangeService
from shared.admin.privacy import PrivacyService
from shared.admin.service import AdminService
from shared.clock import conference_clock, wall_clock
from shared.composition.common import event_catalog
from shared.payments.invoices import InvoiceRequest, InvoiceService, SentInvoice
from shared.payments.seat_refunds import SeatRefunds
from shared.settings import AdminSettings

if TYPE_CHECKING:
    from shared.adapters.stripe_gateway import StripeInvoiceGateway, StripeRefunds
    from shared.conference.models import Money


class RefundsOnFirstUse:
    """Stripe's SDK loads with the first refund, not with every cold start: the organiser's function mostly
    lists and exports, and a refund is its rare branch (the import is about a fifth of the function's)."""

    def __init__(self, settings: AdminSettings) -> None:
        self._settings = settings
        self._refunds: StripeRefunds | None = None

    def refund(self, payment_intent_id: str, registration_id: str) -> str:
        return self._stripe().refund(payment_intent_id, registration_id)

    def refund_seat(self, payment_intent_id: str, registration_id: str, attendee_id: str, amount: Money) -> str:
        return self._stripe().refund_seat(payment_intent_id, registration_id, attendee_id, amount)

    def _stripe(self) -> StripeRefunds:
        if self._refunds is None:
            from shared.adapters.stripe_gateway import StripeRefunds
            from shared.composition.stripe_client import stripe_from

            settings = self._settings
            self._refunds = StripeRefunds(lambda: stripe_from(settings))
        return self._refunds


class InvoicesOnFirstUse:
    """Stripe's SDK loads with the first invoice, as with the first refund (RefundsOnFirstUse)."""

    def __init__(self, settings: AdminSettings) -> None:
        self._settings = settings
        self._invoices: StripeInvoiceGateway | None = None

    def send_invoice(self, request: InvoiceRequest) -> SentInvoice:
        if self._invoices is None:
            from shared.adapters.stripe_gateway import StripeInvoiceGateway
            from shared.composition.stripe_client import stripe_from

            settings = self._settings
            self._invoices = StripeInvoiceGateway(lambda: stripe_from(settings))
        return self._invoices.send_invoice(request)


def invoice_service(settings: AdminSettings) -> InvoiceService:
    return InvoiceService(
        events=event_catalog(settings),
        repository=DynamoRegistrationRepository(settings.table_name),
        invoices=InvoicesOnFirstUse(settings),
        wall_clock=wall_clock,
    )


def admin_service(settings: AdminSettings) -> AdminService:
    return AdminService(
        events=event_catalog(settings),
        repository=DynamoAdminRepository(settings.table_name),
        refunds=(refunds := RefundsOnFirstUse(settings)),
        seat_refunds=SeatRefunds(
            repository=DynamoRegistrationRepository(settings.table_name), refunds=refunds, wall_clock=wall_clock
        ),
        wall_clock=wall_clock,
    )


def privacy_service(settings: AdminSettings) -> PrivacyService:
    return PrivacyService(
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        pdfs=S3CertificateFiles(settings.certificates_bucket, DynamoCertificateRepository(settings.table_name)),
        wall_clock=wall_clock,
    )


def group_change_service(settings: AdminSettings) -> GroupChangeService:
    return GroupChangeService(
        events=event_catalog(settings),
        repository=DynamoGroupChanges(settings.table_name),
        wall_clock=wall_clock,
        conference_clock=conference_clock,
    )


def registration_details(settings: AdminSettings) -> RegistrationDetails:
    return RegistrationDetails(repository=DynamoGroupChanges(settings.table_name))
