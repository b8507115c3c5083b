"""Certificate PDFs in S3 (private, encrypted, versioned: every version sent is kept)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.certificates.models import Certificate
from shared.errors import TemporarilyUnavailable


class S3CertificateFiles:
    def __init__(self, bucket: str, certificates: DynamoCertificateRepository, client: Any | None = None) -> None:
        self._bucket = bucket
        self._certificates = certificates
        self._client = client or aws.client("s3")

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self._certificates.certificate(certificate_id)

    def revoke_current(self, attendee_id: str) -> bool:
        return self._certificates.revoke_current(attendee_id)

    def store_pdf(self, certificate_id: str, pdf: bytes) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=f"certificates/{certificate_id}.pdf",
                Body=pdf,
                ContentType="application/pdf",
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("The certificate could not be stored; it will be retried.") from exc
