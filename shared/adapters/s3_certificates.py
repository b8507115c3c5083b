"""Certificate PDFs in S3 (private, encrypted, versioned: every version sent is kept).

Key: certificates/<certificate_id>.pdf. Once a PDF is stored, its certificate item says so (`pdf_stored_at`):
the attendance function reads only that key (s3:GetObject, no s3:ListBucket), and without ListBucket S3 answers a
missing object with 403, not 404, so it never asks for a PDF the table does not say is there."""

from __future__ import annotations

from datetime import UTC, datetime
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
        self._given_client = client

    @property
    def _client(self) -> Any:
        # Made on first use: a function that rarely touches the bucket (attendance) does not build it for a heartbeat.
        return self._given_client or aws.client("s3")

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self._certificates.certificate(certificate_id)

    def current_certificate(self, attendee_id: str) -> str | None:
        return self._certificates.current_certificate(attendee_id)

    def revoke_current(self, attendee_id: str) -> bool:
        return self._certificates.revoke_current(attendee_id)

    def store_pdf(self, certificate_id: str, pdf: bytes) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=_pdf_key(certificate_id),
                Body=pdf,
                ContentType="application/pdf",
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("The certificate could not be stored; it will be retried.") from exc
        self._certificates.mark_pdf_stored(certificate_id, datetime.now(UTC))

    def pdf(self, certificate_id: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=_pdf_key(certificate_id))
            body: bytes = answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise TemporarilyUnavailable("The certificate could not be read; please try again.") from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable("The certificate could not be read; please try again.") from exc
        return body

    def erase_pdf(self, certificate_id: str) -> int:
        """Every version of the PDF (the bucket keeps each one sent), and any delete marker: an erasure leaves none."""
        key = _pdf_key(certificate_id)
        try:
            listed = self._client.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=key)
            versions = [
                {"Key": key, "VersionId": entry["VersionId"]}
                for page in listed
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                if entry["Key"] == key
            ]
            for start in range(0, len(versions), 1000):  # DeleteObjects takes at most 1,000 keys
                self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True}
                )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("The certificate's file could not be erased; please try again.") from exc
        return len(versions)


def _pdf_key(certificate_id: str) -> str:
    return f"certificates/{certificate_id}.pdf"
