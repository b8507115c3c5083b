"""Large exports go to S3 and are answered with a short-lived download link (Lambda answers are capped
at 6 MB; 100,000 seats make a CSV of about 20 MB)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.errors import TemporarilyUnavailable

LINK_LIFETIME_SECONDS = 15 * 60
# S3's multipart parts are 5 MiB at least (but the last): an export is uploaded a part at a time.
PART_BYTES = 8 * 1024 * 1024


class S3ExportStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self._bucket = bucket
        self._client = client or aws.client("s3")

    def publish(self, name: str, document: bytes, content_type: str) -> str:
        """Store the document under an unguessable key; return a presigned URL valid for 15 minutes."""
        key = f"exports/{secrets.token_urlsafe(16)}/{name}"
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=document, ContentType=content_type, ServerSideEncryption="AES256"
            )
            url = self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{name}"',
                },
                ExpiresIn=LINK_LIFETIME_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("The export could not be stored; try again.") from exc
        return str(url)

    def publish_parts(self, name: str, pieces: Iterable[bytes], content_type: str) -> str:
        """The same for a document made as it is read (pieces in order): a multipart upload of PART_BYTES parts,
        so no more than a part is held in memory; aborted (nothing stored) if anything fails."""
        key = f"exports/{secrets.token_urlsafe(16)}/{name}"
        try:
            upload = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type, ServerSideEncryption="AES256"
            )["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("The export could not be stored; try again.") from exc
        try:
            parts: list[dict[str, Any]] = []
            part = bytearray()
            for piece in pieces:
                part += piece
                if len(part) >= PART_BYTES:
                    parts.append(self._upload(key, upload, len(parts) + 1, bytes(part)))
                    part.clear()
            if part or not parts:
                parts.append(self._upload(key, upload, len(parts) + 1, bytes(part)))
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
            )
            return self._link(key, name)
        except BaseException as exc:
            with suppress(ClientError, BotoCoreError):  # else the bucket's lifecycle rule ends the upload
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload)
            if isinstance(exc, (ClientError, BotoCoreError)):
                raise TemporarilyUnavailable("The export could not be stored; try again.") from exc
            raise

    def _upload(self, key: str, upload: str, number: int, body: bytes) -> dict[str, Any]:
        answer = self._client.upload_part(Bucket=self._bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _link(self, key: str, name: str) -> str:
        return str(
            self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{name}"',
                },
                ExpiresIn=LINK_LIFETIME_SECONDS,
            )
        )
