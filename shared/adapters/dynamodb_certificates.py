"""Certificates in the main table.

Keys (see the README's table):
  CERT#<certificate_id> / META          a certificate: name, hours, issue date, valid or revoked (and when),
                                        what it certifies (sessions, organization, licence id)
  ATTENDEE#<attendee_id> / CERTIFICATE  the attendee's current certificate (one per attendee)
(a certificate's `pdf_stored_at`: when the stream stored its PDF, certificates/<certificate_id>.pdf in the bucket)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository, from_item, to_item, translated_errors
from shared.adapters.dynamodb_reactions import DynamoReactionRepository, attendee_key, outbox_item
from shared.certificates.models import Certificate, CertificateStatus
from shared.reactions.models import Attendee, OutboxEmail
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def certificate_key(certificate_id: str) -> dict[str, Any]:
    return to_item({"pk": f"CERT#{certificate_id}", "sk": "META"})


def pointer_key(attendee_id: str) -> dict[str, Any]:
    return to_item({"pk": f"ATTENDEE#{attendee_id}", "sk": "CERTIFICATE"})


class DynamoCertificateRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)
        self._reactions = DynamoReactionRepository(table_name, self._client)

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        return self._registrations.registrations_with_status(event_id, status)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self._reactions.attendee(attendee_id)

    def rename_attendee(self, attendee_id: str, first_name: str, last_name: str) -> None:
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=attendee_key(attendee_id),
                UpdateExpression="SET first_name = :first, last_name = :last",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item({":first": first_name, ":last": last_name}),
            )

    def current_certificate(self, attendee_id: str) -> str | None:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=pointer_key(attendee_id), ConsistentRead=True)
        value = from_item(answer.get("Item", {})).get("certificate_id")
        return str(value) if value else None

    def certificate(self, certificate_id: str) -> Certificate | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=certificate_key(certificate_id), ConsistentRead=True
            )
        if "Item" not in answer:
            return None
        fields = {k: v for k, v in from_item(answer["Item"]).items() if k not in {"pk", "sk", "entity"}}
        return Certificate.model_validate(fields)

    def _certificate_item(self, certificate: Certificate) -> dict[str, Any]:
        return certificate_key(certificate.certificate_id) | to_item(
            {"entity": "certificate", **certificate.model_dump(mode="json")}
        )

    def issue(self, certificate: Certificate, email: OutboxEmail) -> bool:
        pointer = pointer_key(certificate.attendee_id) | to_item(
            {"entity": "certificate_pointer", "certificate_id": certificate.certificate_id}
        )
        return self._transact(
            [
                {"Put": {"TableName": self._table, "Item": pointer, "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self._table, "Item": self._certificate_item(certificate)}},
                {"Put": {"TableName": self._table, "Item": outbox_item(email)}},
            ]
        )

    def replace(self, old: Certificate, new: Certificate, email: OutboxEmail) -> bool:
        return self._transact(
            [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": pointer_key(old.attendee_id),
                        "UpdateExpression": "SET certificate_id = :new",
                        "ConditionExpression": "certificate_id = :old",
                        "ExpressionAttributeValues": to_item({":new": new.certificate_id, ":old": old.certificate_id}),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": certificate_key(old.certificate_id),
                        "UpdateExpression": "SET #status = :revoked, replaced_by = :new, revoked_at = :at",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_item(
                            {
                                ":revoked": CertificateStatus.REVOKED.value,
                                ":new": new.certificate_id,
                                ":at": new.created_at.isoformat(),  # revoked as its replacement was made
                            }
                        ),
                    }
                },
                {"Put": {"TableName": self._table, "Item": self._certificate_item(new)}},
                {"Put": {"TableName": self._table, "Item": outbox_item(email)}},
            ]
        )

    def mark_pdf_stored(self, certificate_id: str, at: datetime) -> None:
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=certificate_key(certificate_id),
                    UpdateExpression="SET pdf_stored_at = :at",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues=to_item({":at": at.isoformat()}),
                )
        except StaleWrite:
            pass  # no such certificate: nothing will ask for its PDF

    def revoke_current(self, attendee_id: str) -> bool:
        certificate_id = self.current_certificate(attendee_id)
        if certificate_id is None:
            return False
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=certificate_key(certificate_id),
                    UpdateExpression="SET #status = :revoked, revoked_at = :at",
                    ConditionExpression="#status = :valid",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":revoked": CertificateStatus.REVOKED.value,
                            ":valid": CertificateStatus.VALID.value,
                            # When the refund's record is processed (the verification page says "revoked on").
                            ":at": datetime.now(UTC).isoformat(),
                        }
                    ),
                )
        except StaleWrite:
            return False  # already revoked
        return True

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except StaleWrite:
            return False
        return True
