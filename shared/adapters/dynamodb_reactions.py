"""Attendees, the email outbox and the coin mailing list in the main table.

Keys (see the README's table):
  ATTENDEE#<attendee_id> / META             an attendee: who may log in; the access code's digest
  REG#<registration_id> / EMAIL#<kind>#<to>  an outbox entry, one per logical email
  REG#<registration_id> / SHIPMENT#COIN      the coin for an individual registrant
                                             (gsi1: SHIPMENTS#<event_id> / <created>#<id>)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository, from_item, to_item, translated_errors
from shared.reactions.models import Attendee, AttendeeStatus, OutboxEmail, OutboxStatus, Shipment, ShipmentState
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def shipments_index_key(event_id: str) -> str:
    return f"SHIPMENTS#{event_id}"


def attendee_key(attendee_id: str) -> dict[str, Any]:
    return to_item({"pk": f"ATTENDEE#{attendee_id}", "sk": "META"})


def email_key(registration_id: str, key: str) -> dict[str, Any]:
    return to_item({"pk": f"REG#{registration_id}", "sk": f"EMAIL#{key}"})


def shipment_key(registration_id: str) -> dict[str, Any]:
    return to_item({"pk": f"REG#{registration_id}", "sk": "SHIPMENT#COIN"})


def outbox_item(email: OutboxEmail) -> dict[str, Any]:
    return email_key(email.registration_id, email.key) | to_item(
        {"entity": "outbox", "email_key": email.key, **email.model_dump(mode="json")}
    )


_KEYS = frozenset({"pk", "sk", "entity", "gsi1pk", "gsi1sk", "email_key", "logins", "login_days"})


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in from_item(item).items() if name not in _KEYS}


class DynamoReactionRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)

    def registration(self, registration_id: str) -> Registration | None:
        return self._registrations.get(registration_id)

    def _put_new(self, item: dict[str, Any]) -> bool:
        try:
            with translated_errors():
                self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except StaleWrite:
            return False  # already there: a replayed record
        return True

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        return _fields(answer["Item"]) if "Item" in answer else None

    def _update(self, key: dict[str, Any], expression: str, condition: str, values: dict[str, Any]) -> bool:
        """A conditional update; False when the condition does not hold (the change is not ours to make)."""
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#status": "status"} if "#status" in expression + condition else {},
                    ExpressionAttributeValues=to_item(values),
                )
        except StaleWrite:
            return False
        return True

    def add_attendees(self, attendees: list[Attendee]) -> None:
        for attendee in attendees:
            values = {"entity": "attendee", **attendee.model_dump(mode="json")}
            self._put_new(attendee_key(attendee.attendee_id) | to_item(values))

    def attendee(self, attendee_id: str) -> Attendee | None:
        fields = self._get(attendee_key(attendee_id))
        return Attendee.model_validate(fields) if fields else None

    def set_access_code(self, attendee_id: str, code_hash: str, issued_at: datetime) -> None:
        self._update(
            attendee_key(attendee_id),
            "SET access_code_hash = :hash, access_code_issued_at = :at",
            "attribute_exists(pk)",
            {":hash": code_hash, ":at": issued_at.isoformat()},
        )

    def revoke_attendee(self, attendee_id: str) -> None:
        self._update(
            attendee_key(attendee_id),
            "SET #status = :revoked",
            "attribute_exists(pk)",
            {":revoked": AttendeeStatus.REVOKED.value},
        )

    def add_emails(self, emails: list[OutboxEmail]) -> None:
        for email in emails:
            self._put_new(outbox_item(email))

    def email(self, registration_id: str, key: str) -> OutboxEmail | None:
        fields = self._get(email_key(registration_id, key))
        return OutboxEmail.model_validate(fields) if fields else None

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        with translated_errors():
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :registration AND begins_with(sk, :emails)",
                ExpressionAttributeValues=to_item({":registration": f"REG#{registration_id}", ":emails": "EMAIL#"}),
                ConsistentRead=True,
            )
        return [OutboxEmail.model_validate(_fields(item)) for item in answer.get("Items", [])]

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        return self._registrations.registrations_with_status(event_id, status)

    def claim_email(self, email: OutboxEmail, now: datetime, lease_until: datetime) -> bool:
        return self._update(
            email_key(email.registration_id, email.key),
            "SET #status = :sending, lease_until = :until, attempts = attempts + :one",
            "#status = :pending OR (#status = :sending AND lease_until < :now)",
            {
                ":sending": OutboxStatus.SENDING.value,
                ":pending": OutboxStatus.PENDING.value,
                ":until": lease_until.isoformat(),
                ":now": now.isoformat(),
                ":one": 1,
            },
        )

    def finish_email(
        self, email: OutboxEmail, status: OutboxStatus, *, message_id: str | None = None, error: str | None = None
    ) -> None:
        assignments, values = ["#status = :status"], {":status": status.value, ":sending": OutboxStatus.SENDING.value}
        if message_id is not None:
            assignments += ["message_id = :message", "sent_at = :at"]
            values |= {":message": message_id, ":at": datetime.now().astimezone().isoformat()}
        if error is not None:
            assignments.append("last_error = :error")
            values[":error"] = error[:500]
        # Only the holder of the lease records the outcome.
        self._update(
            email_key(email.registration_id, email.key),
            "SET " + ", ".join(assignments) + " REMOVE lease_until",
            "#status = :sending",
            values,
        )

    def add_shipment(self, shipment: Shipment) -> None:
        created = shipment.created_at.isoformat()
        self._put_new(
            shipment_key(shipment.registration_id)
            | to_item(
                {
                    "entity": "shipment",
                    "gsi1pk": shipments_index_key(shipment.event_id),
                    "gsi1sk": f"{created}#{shipment.registration_id}",
                    **shipment.model_dump(mode="json"),
                    "created_at": created,
                }
            )
        )

    def shipment(self, registration_id: str) -> Shipment | None:
        fields = self._get(shipment_key(registration_id))
        return Shipment.model_validate(fields) if fields else None

    def shipments(self, event_id: str) -> Iterator[Shipment]:
        """The event's whole mailing list, oldest first, a page at a time."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :list",
            "ExpressionAttributeValues": to_item({":list": shipments_index_key(event_id)}),
        }
        while True:
            with translated_errors():
                page = self._client.query(**kwargs)
            yield from (Shipment.model_validate(_fields(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_shipment_state(self, registration_id: str, expected: ShipmentState, state: ShipmentState) -> bool:
        return self._update(
            shipment_key(registration_id),
            "SET shipment_state = :state",
            "shipment_state = :expected",
            {":state": state.value, ":expected": expected.value},
        )
