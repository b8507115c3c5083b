"""An attendee's correction in one transaction (shared/admin/corrections.py): the seat in the registration item
(conditional on its version, with the history entry), the attendee item (conditional on the address read; a new
address ends its codes and session), the email guard moved (`EMAIL#<old>/SEAT#<event>` deleted if still this
registration's, `EMAIL#<new>/SEAT#<event>` created if free or left by a registration holding no seat for it) and
the new confirmation's outbox entry, and the person index (`EMAIL#<email>/REG#<id>`) moved with the address. A
refusal or a race writes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import (
    STATUS_INDEX,
    DynamoRegistrationRepository,
    email_guard_key,
    from_item,
    registration_key,
    to_item,
    translated_errors,
)
from shared.adapters.dynamodb_email_status import mail_problems_key
from shared.adapters.dynamodb_reactions import ATTENDEE_FIELDS, DynamoReactionRepository, attendee_key, outbox_item
from shared.admin.corrections import Correction
from shared.reactions.models import Attendee, EmailStatus, OutboxEmail
from shared.registration.models import Registration, normalize_email

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def person_key(email_key: str, registration_id: str) -> dict[str, Any]:
    return to_item({"pk": f"EMAIL#{email_key}", "sk": f"REG#{registration_id}"})


# The item's own attributes that are not the Attendee model's.
_NOT_ATTENDEE = frozenset({"pk", "sk", "entity", "logins", "login_days", "gsi1pk", "gsi1sk"})
# BatchGetItem's limit per call.
BATCH_KEYS = 100


class DynamoCorrections:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)
        self._reactions = DynamoReactionRepository(table_name, self._client)

    def registration(self, registration_id: str) -> Registration | None:
        return self._registrations.get(registration_id)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self._reactions.attendee(attendee_id)

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return self._reactions.emails(registration_id)

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=email_guard_key(event_id, email_key), ConsistentRead=True
            )
        item = from_item(answer.get("Item", {}))
        return str(item["registration_id"]) if item else None

    def attendees(self, attendee_ids: Iterable[str]) -> dict[str, Attendee]:
        """Many attendees at once (a page of registrations' seats), BatchGetItem a hundred at a time."""
        wanted = list(dict.fromkeys(attendee_ids))
        found: dict[str, Attendee] = {}
        for start in range(0, len(wanted), BATCH_KEYS):
            keys: list[dict[str, Any]] = [attendee_key(a) for a in wanted[start : start + BATCH_KEYS]]
            while keys:
                with translated_errors():
                    answer = self._client.batch_get_item(
                        RequestItems={
                            self._table: {
                                "Keys": keys,
                                "ProjectionExpression": ", ".join(ATTENDEE_FIELDS),
                                "ExpressionAttributeNames": ATTENDEE_FIELDS,
                            }
                        }
                    )
                for item in answer.get("Responses", {}).get(self._table, []):
                    attendee = self._attendee(from_item(item))
                    found[attendee.attendee_id] = attendee
                unprocessed: Any = answer.get("UnprocessedKeys") or {}
                keys = list((unprocessed.get(self._table) or {}).get("Keys", []))
        return found

    def mail_problems(
        self, event_id: str, status: EmailStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Attendee], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :listing",
            "ExpressionAttributeValues": to_item({":listing": mail_problems_key(event_id, status)}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            request["ExclusiveStartKey"] = start
        with translated_errors():
            page = self._client.query(**request)
        listed = [self._attendee(from_item(item)) for item in page.get("Items", [])]
        return listed, page.get("LastEvaluatedKey")

    @staticmethod
    def _attendee(fields: dict[str, Any]) -> Attendee:
        return Attendee.model_validate({k: v for k, v in fields.items() if k not in _NOT_ATTENDEE})

    def correct(self, correction: Correction) -> None:
        registration, attendee, i = correction.registration, correction.attendee, correction.seat_index
        seat = f"seats[{i}]"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": registration_key(registration.registration_id),
                    "UpdateExpression": (
                        f"SET {seat}.first_name = :first, {seat}.last_name = :last, {seat}.email = :email, "
                        "version = version + :one, history = list_append(if_not_exists(history, :none), :entry)"
                    ),
                    "ConditionExpression": f"version = :version AND {seat}.attendee_id = :attendee",
                    "ExpressionAttributeValues": to_item(
                        {
                            ":first": correction.first_name,
                            ":last": correction.last_name,
                            ":email": correction.email,
                            ":one": 1,
                            ":none": [],
                            ":entry": [correction.entry.as_record()],
                            ":version": registration.version,
                            ":attendee": attendee.attendee_id,
                        }
                    ),
                }
            }
        ]
        person = "SET first_name = :first, last_name = :last, email = :email"
        values: dict[str, Any] = {
            ":first": correction.first_name,
            ":last": correction.last_name,
            ":email": correction.email,
            ":read": attendee.email,
        }
        if correction.new_guard is not None:
            # The old code (and any asked for) and the session it opened end now; the confirmation brings a new one.
            person += (
                ", email_status = :ok REMOVE access_code_hash, requested_codes, current_session, session_expires_at, "
                "email_status_reason, email_status_at, gsi1pk, gsi1sk"
            )
            values[":ok"] = EmailStatus.OK.value
        items.append(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": attendee_key(attendee.attendee_id),
                    "UpdateExpression": person,
                    "ConditionExpression": "attribute_exists(pk) AND email = :read",
                    "ExpressionAttributeValues": to_item(values),
                }
            }
        )
        if correction.new_guard is not None:
            event_id, registration_id = registration.event_id, registration.registration_id
            old_key = registration.seats[i].email_key
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": email_guard_key(event_id, old_key),
                        "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :registration",
                        "ExpressionAttributeValues": to_item({":registration": registration_id}),
                    }
                }
            )
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": email_guard_key(event_id, correction.new_guard)
                | to_item({"entity": "email_guard", "registration_id": registration_id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            if correction.take_guard_from is not None:
                put["ConditionExpression"] = "attribute_not_exists(pk) OR registration_id = :stale"
                put["ExpressionAttributeValues"] = to_item({":stale": correction.take_guard_from})
            items.append({"Put": put})
            # The person index (an erasure's way to the person) follows the address: the new one names this
            # registration, the old one no longer does, unless it is the purchaser's too.
            index = {"entity": "person_index", "registration_id": registration_id}
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": person_key(correction.new_guard, registration_id) | to_item(index),
                    }
                }
            )
            purchaser = registration.purchaser
            if purchaser is None or normalize_email(purchaser.email) != old_key:
                items.append({"Delete": {"TableName": self._table, "Key": person_key(old_key, registration_id)}})
        if correction.confirmation is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": outbox_item(correction.confirmation),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        with translated_errors():  # a failed condition is StaleWrite: the caller reads again
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
