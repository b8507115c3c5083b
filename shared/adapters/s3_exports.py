"""Large exports go to S3 and are answered with a short-lived download link (Lambda answers are capped
at 6 MB; 100,000 seats make a CSV of about 20 MB)."""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.errors import TemporarilyUnavailable

LINK_LIFETIME_SECONDS = 15 * 60


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
