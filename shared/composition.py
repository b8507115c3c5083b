"""Building services from a function's settings: the one place where adapters meet the domain.

Each handler calls these once per container (they are cached there), never per request.
"""

from __future__ import annotations

import json

from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.dynamodb_admin import DynamoAdminRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.adapters.s3_certificates import S3CertificateFiles
from shared.adapters.secrets import secret_string
from shared.adapters.ses_mailer import SesMailer
from shared.adapters.stripe_gateway import (
    StripeCheckoutGateway,
    StripeClient,
    StripePaymentReader,
    StripeRefunds,
    stripe_client,
)
from shared.admin.privacy import PrivacyService
from shared.admin.service import AdminService
from shared.attendance.service import AttendanceService
from shared.certificates.ids import CertificateKeys
from shared.certificates.service import CertificateService
from shared.clock import conference_clock, wall_clock
from shared.conference import DEFAULT_CONFERENCE_FILE, Conference, load_conference
from shared.email import Mailbox
from shared.payments.service import PaymentService
from shared.reactions.service import ReactionService
from shared.registration.service import RegistrationService
from shared.settings import (
    AdminSettings,
    CertificateSettings,
    PaymentSettings,
    ReactionSettings,
    RegistrationApiSettings,
    StripeSettings,
    TableSettings,
)


def _stripe(settings: StripeSettings) -> StripeClient:
    return stripe_client(secret_string(settings.stripe_secret_key_name), settings.stripe_api_base)


def registration_service(settings: RegistrationApiSettings, conference: Conference) -> RegistrationService:
    return RegistrationService(
        conference=conference,
        repository=DynamoRegistrationRepository(settings.table_name),
        payments=StripeCheckoutGateway(_stripe(settings)),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
        site_url=settings.site_url,
    )


def payment_service(settings: PaymentSettings) -> PaymentService:
    return PaymentService(
        repository=DynamoRegistrationRepository(settings.table_name),
        stripe=StripePaymentReader(_stripe(settings)),
        expected_livemode=settings.stripe_livemode,
        wall_clock=wall_clock,
    )


def webhook_secrets(settings: PaymentSettings) -> list[str]:
    """The endpoint's signing secrets: one `whsec_...`, or a JSON list of them while a secret is rolled."""
    value = secret_string(settings.stripe_webhook_secret_name)
    if value.startswith("["):
        secrets = json.loads(value)
        return [secret for secret in secrets if isinstance(secret, str) and secret]
    return [value]


def reaction_service(settings: ReactionSettings) -> ReactionService:
    conference = load_conference(settings.conference_file or DEFAULT_CONFERENCE_FILE)
    sender = Mailbox(display_name=conference.name, address=settings.sender_address or conference.sender)
    return ReactionService(
        conference=conference,
        repository=DynamoReactionRepository(settings.table_name),
        mailer=SesMailer(sender, settings.ses_configuration_set or None),
        wall_clock=wall_clock,
        site_url=settings.site_url,
        certificates=S3CertificateFiles(settings.certificates_bucket, DynamoCertificateRepository(settings.table_name)),
    )


def attendance_service(settings: TableSettings) -> AttendanceService:
    return AttendanceService(
        conference=load_conference(settings.conference_file or DEFAULT_CONFERENCE_FILE),
        repository=DynamoAttendanceRepository(settings.table_name),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
    )


def certificate_keys(secret_name: str) -> CertificateKeys:
    """The secret is `{"current": "2", "keys": {"1": "<hex>", "2": "<hex>"}}`: old versions keep verifying."""
    value = json.loads(secret_string(secret_name))
    return CertificateKeys(current=str(value["current"]), keys={v: bytes.fromhex(k) for v, k in value["keys"].items()})


def certificate_service(settings: CertificateSettings) -> CertificateService:
    return CertificateService(
        conference=load_conference(settings.conference_file or DEFAULT_CONFERENCE_FILE),
        repository=DynamoCertificateRepository(settings.table_name),
        keys=certificate_keys(settings.certificate_keys_secret_name),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
    )


def admin_service(settings: AdminSettings) -> AdminService:
    return AdminService(
        conference=load_conference(settings.conference_file or DEFAULT_CONFERENCE_FILE),
        repository=DynamoAdminRepository(settings.table_name),
        refunds=StripeRefunds(_stripe(settings)),
        wall_clock=wall_clock,
    )


def privacy_service(settings: AdminSettings) -> PrivacyService:
    return PrivacyService(repository=DynamoAdminRepository(settings.table_name), wall_clock=wall_clock)
