"""What SES reported about mail, on the attendee item (`email_status`, `email_status_reason`, `email_status_at`; while
bounced or complained also `gsi1pk = MAIL#<event_id>#<status>`, `gsi1sk = <at>#<attendee_id>`, the organisers' list) or,
for mail to a group's purchaser, on the registration item (`purchaser_email_status`: {status, reason, at}).

Each write is conditional on the address and the record as read, so an event about an address since corrected,
or one that raced another event for the same person, writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import from_item, registration_key, to_item, translated_errors
from shared.adapters.dynamodb_reactions import attendee_key
from shared.reactions.email_events import RecordedStatus
from shared.reactions.models import EmailStatus
from shared.registration.ports import StaleWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def mail_problems_key(event_id: str, status: EmailStatus) -> str:
    """gsi1's list of an event's attendees whose address bounced (or who complained)."""
    return f"MAIL#{event_id}#{status.value}"


class DynamoEmailStatuses:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()

    def recorded(self, registration_id: str, attendee_id: str | None) -> RecordedStatus | None:
        if attendee_id is not None:
            item = self._get(
                attendee_key(attendee_id), "email, email_status, email_status_reason, email_status_at, event_id"
            )
            if item is None or item.get("registration_id", registration_id) != registration_id:
                return None
            return RecordedStatus(
                email=item["email"],
                status=item.get("email_status", EmailStatus.OK),
                reason=item.get("email_status_reason"),
                at=item.get("email_status_at"),
                event_id=item.get("event_id"),
            )
        item = self._get(registration_key(registration_id), "purchaser, purchaser_email_status")
        if item is None or not item.get("purchaser"):
            return None
        recorded = item.get("purchaser_email_status") or {}
        return RecordedStatus(email=item["purchaser"]["email"], **recorded)

    def record(
        self, registration_id: str, attendee_id: str | None, new: RecordedStatus, *, expected: RecordedStatus
    ) -> bool:
        names = {"#at": "at"}
        values: dict[str, Any] = {":email": expected.email}
        if attendee_id is not None:
            key = attendee_key(attendee_id)
            expression = "SET email_status = :status, email_status_reason = :reason, email_status_at = :at"
            values |= {":status": new.status.value, ":reason": new.reason or "", ":at": _at(new)}
            if new.status is not EmailStatus.OK and new.event_id:
                # Listed for the organisers (gsi1, newest first) while the address does not work.
                expression += ", gsi1pk = :listing, gsi1sk = :order"
                values |= {
                    ":listing": mail_problems_key(new.event_id, new.status),
                    ":order": f"{_at(new)}#{attendee_id}",
                }
            else:
                expression += " REMOVE gsi1pk, gsi1sk"
            unchanged = "attribute_not_exists(email_status_at)"
            if expected.at is not None:
                unchanged = "email_status_at = :read_at"
                values[":read_at"] = expected.at.isoformat()
            condition = f"email = :email AND {unchanged}"
            names = {}
        else:
            key = registration_key(registration_id)
            expression = "SET purchaser_email_status = :recorded"
            values[":recorded"] = {"status": new.status.value, "reason": new.reason or "", "at": _at(new)}
            unchanged = "attribute_not_exists(purchaser_email_status)"
            if expected.at is not None:
                unchanged = "purchaser_email_status.#at = :read_at"
                values[":read_at"] = expected.at.isoformat()
            else:
                names = {}
            condition = f"purchaser.email = :email AND {unchanged}"
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            with translated_errors():
                self._client.update_item(**request)
        except StaleWrite:
            return False
        return True

    def _get(self, key: dict[str, Any], projection: str) -> dict[str, Any] | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression=f"registration_id, {projection}",
            )
        return from_item(answer["Item"]) if "Item" in answer else None


def _at(status: RecordedStatus) -> str:
    assert status.at is not None, "a recorded status says when the mail it is about was sent"
    return status.at.isoformat()
