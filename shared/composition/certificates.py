from __future__ import annotations

import json
from functools import lru_cache

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
    return _parsed_keys(secret_string(secret_name))


@lru_cache(maxsize=4)
def _parsed_keys(value: str) -> CertificateKeys:
    document = json.loads(value)
    keys = {str(version): bytes.fromhex(key) for version, key in document["keys"].items()}
    return CertificateKeys(current=str(document["current"]), keys=keys)


class KeysFromSecret:
    """The certificate keys as the secret holds them now, read through the secrets' cache (5 minutes) at each use: a
    rotation (a new current version) signs new certificates within that, without a cold start."""

    def __init__(self, secret_name: str) -> None:
        self._secret_name = secret_name

    def new_id(self) -> str:
        return certificate_keys(self._secret_name).new_id()

    def verifies(self, certificate_id: str) -> bool:
        return certificate_keys(self._secret_name).verifies(certificate_id)


def certificate_service(settings: CertificateSettings) -> CertificateService:
    return CertificateService(
        events=event_catalog(settings),
        repository=DynamoCertificateRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
        keys=KeysFromSecret(settings.certificate_keys_secret_name),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
    )
