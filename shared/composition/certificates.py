from __future__ import annotations

import json

from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.secrets import secret_string
from shared.certificates.ids import CertificateKeys
from shared.certificates.service import CertificateService
from shared.clock import conference_clock, wall_clock
from shared.composition.common import event_catalog
from shared.settings import CertificateSettings


def certificate_keys(secret_name: str) -> CertificateKeys:
    """The secret is `{"current": "2", "keys": {"1": "<hex>", "2": "<hex>"}}`: old versions keep verifying."""
    value = json.loads(secret_string(secret_name))
    return CertificateKeys(current=str(value["current"]), keys={v: bytes.fromhex(k) for v, k in value["keys"].items()})


def certificate_service(settings: CertificateSettings) -> CertificateService:
    return CertificateService(
        events=event_catalog(settings),
        repository=DynamoCertificateRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        keys=certificate_keys(settings.certificate_keys_secret_name),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
    )
