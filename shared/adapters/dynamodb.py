"""The main table: keys, item shapes and the translation of DynamoDB errors into domain errors.

Keys (one table, entity prefixes; the README lists the access patterns):
  REG#<registration_id>  / META     a registration with its seats
                                    (gsi1: STATUS#<event_id>#<status> / <created_at>#<id>)
  EMAIL#<email, casefolded> / SEAT#<event_id>
                                    the guard that gives one email one seat per event; a person's seats in
                                    every event are one Query (a sign-in finds the attendee by email and code)
  STRIPE_EVENT#<event_id> / EVENT   a Stripe event already acted on (expires via `ttl`)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.errors import TemporarilyUnavailable
from shared.payments.models import HistoryEntry, StripeEvent
from shared.payments.settlement import Settlement
from shared.registration.models import Checkout, Registration
from shared.registration.ports import EmailsTaken, StaleWrite
from shared.registration.status import RELEASES_EMAILS, RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Stripe redelivers for 3 days and the CLI can resend for 30: remember events a little longer than that.
STRIPE_EVENT_KEPT = timedelta(days=35)
STATUS_INDEX = "gsi1"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(_exact(value)) for name, value in values.items() if value is not None}


def _exact(value: Any) -> Any:
    """DynamoDB numbers are decimals: a float (quarter hours) goes in as the Decimal of its repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_exact(item) for item in value]
    return value


def from_item(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def registration_key(registration_id: str) -> dict[str, Any]:
    return to_item({"pk": f"REG#{registration_id}", "sk": "META"})


def email_guard_key(event_id: str, email_key: str) -> dict[str, Any]:
    return to_item({"pk": f"EMAIL#{email_key}", "sk": f"SEAT#{event_id}"})


def stripe_event_key(event_id: str) -> dict[str, Any]:
    return to_item({"pk": f"STRIPE_EVENT#{event_id}", "sk": "EVENT"})


def status_index_key(event_id: str, status: RegistrationStatus) -> str:
    return f"STATUS#{event_id}#{status.value}"


def query_items(client: DynamoDBClient, **query: Any) -> Iterator[Item]:
    """Every item a Query matches, page after page (each page read as the previous one is used up)."""
    while True:
        with translated_errors():
            page = client.query(**query)
        yield from (from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@contextmanager
def translated_errors() -> Iterator[None]:
    """The one place where DynamoDB's error codes become domain errors."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise StaleWrite(code) from exc
        if code == "TransactionCanceledException":
            reasons = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons and not set(reasons) - {"None", "ConditionalCheckFailed"}:
                raise StaleWrite(code) from exc
        raise TemporarilyUnavailable("The database is busy; please try again.") from exc
    except BotoCoreError as exc:
        raise TemporarilyUnavailable("The database could not be reached; please try again.") from exc


class DynamoRegistrationRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()

    def create(self, registration: Registration) -> None:
        guards = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": email_guard_key(registration.event_id, key)
                    | to_item({"entity": "email_guard", "registration_id": registration.registration_id}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "NONE",
                }
            }
            for key in registration.email_keys
        ]
        record = {
            "Put": {
                "TableName": self._table,
                "Item": self._registration_item(registration),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=[record, *guards])  # type: ignore[list-item]
        except StaleWrite as exc:
            reasons = _cancellation_reasons(exc)
            taken = [key for key, code in zip(registration.email_keys, reasons[1:], strict=False) if code != "None"]
            raise EmailsTaken(taken or registration.email_keys) from exc

    def get(self, registration_id: str) -> Registration | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=registration_key(registration_id), ConsistentRead=True
            )
        if "Item" not in answer:
            return None
        return self._registration(from_item(answer["Item"]))

    def holder_of(self, event_id: str, email_key: str) -> str | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=email_guard_key(event_id, email_key), ConsistentRead=True
            )
        item = from_item(answer.get("Item", {}))
        return str(item["registration_id"]) if item else None

    def seats_of(self, email_key: str) -> list[str]:
        """The registrations holding this email's seats, one per event (a person in several events)."""
        with translated_errors():
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :seat)",
                ExpressionAttributeValues=to_item({":pk": f"EMAIL#{email_key}", ":seat": "SEAT#"}),
                ConsistentRead=True,
            )
        return [str(from_item(item)["registration_id"]) for item in answer.get("Items", [])]

    def start_checkout_attempt(self, registration: Registration, attempt: int, expires_at: datetime) -> None:
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=registration_key(registration.registration_id),
                UpdateExpression=(
                    "SET checkout_attempt = :next, checkout_expires_at = :expires, version = version + :one"
                    " REMOVE checkout"
                ),
                ConditionExpression="#status = :pending AND checkout_attempt = :current",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":next": attempt,
                        ":current": registration.checkout_attempt,
                        ":expires": expires_at.isoformat(),
                        ":one": 1,
                        ":pending": RegistrationStatus.PENDING_PAYMENT.value,
                    }
                ),
            )

    def attach_checkout(self, registration: Registration, checkout: Checkout) -> None:
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=registration_key(registration.registration_id),
                UpdateExpression="SET checkout = :checkout, version = version + :one",
                ConditionExpression=(
                    "#status = :pending AND checkout_attempt = :attempt AND attribute_not_exists(checkout)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":checkout": checkout.model_dump(mode="json"),
                        ":one": 1,
                        ":attempt": registration.checkout_attempt,
                        ":pending": RegistrationStatus.PENDING_PAYMENT.value,
                    }
                ),
            )

    def discard(self, registration: Registration) -> None:
        release = [
            self._release_guard(registration.event_id, key, registration.registration_id)
            for key in registration.email_keys
        ]
        remove = {
            "Delete": {
                "TableName": self._table,
                "Key": registration_key(registration.registration_id),
                "ConditionExpression": "attribute_not_exists(checkout)",
            }
        }
        with translated_errors():
            self._client.transact_write_items(TransactItems=[remove, *release])  # type: ignore[list-item]

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        try:
            with translated_errors():
                self._client.delete_item(**self._release_guard(event_id, email_key, registration_id)["Delete"])
        except StaleWrite:
            pass  # already freed, or claimed again by a newer registration: either way not ours to free

    def save_settlement(self, registration: Registration, settlement: Settlement) -> None:
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=registration_key(registration.registration_id),
                UpdateExpression=(
                    "SET #status = :status, payment = :payment, gsi1pk = :listing, version = version + :one, "
                    "history = list_append(if_not_exists(history, :none), :entries)"
                ),
                ConditionExpression="version = :version",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":status": settlement.status.value,
                        ":payment": settlement.facts.model_dump(mode="json"),
                        ":listing": status_index_key(registration.event_id, settlement.status),
                        ":entries": [entry.as_record() for entry in settlement.history],
                        ":none": [],
                        ":one": 1,
                        ":version": registration.version,
                    }
                ),
            )
        if settlement.status in RELEASES_EMAILS and registration.status not in RELEASES_EMAILS:
            # Not in one transaction: a guard may already be free or taken by a newer registration, and a
            # guard left behind by a crash here is freed by the next registration that meets it.
            for key in registration.email_keys:
                self.release_email(registration.event_id, key, registration.registration_id)

    def event_seen(self, event_id: str) -> bool:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=stripe_event_key(event_id), ConsistentRead=True)
        return "Item" in answer

    def remember_event(self, event: StripeEvent, registration_id: str | None) -> None:
        now = datetime.now().astimezone()
        with translated_errors():
            self._client.put_item(
                TableName=self._table,
                Item=stripe_event_key(event.id)
                | to_item(
                    {
                        "entity": "stripe_event",
                        "type": event.type,
                        "registration_id": registration_id,
                        "received_at": now.isoformat(),
                        "ttl": int((now + STRIPE_EVENT_KEPT).timestamp()),
                    }
                ),
            )

    def pending_registrations(self, event_id: str, created_before: datetime) -> Iterator[Registration]:
        return self.registrations_with_status(
            event_id, RegistrationStatus.PENDING_PAYMENT, created_before=created_before
        )

    def registrations_with_status(
        self, event_id: str, status: RegistrationStatus, *, created_before: datetime | None = None
    ) -> Iterator[Registration]:
        """Oldest first, from the status index; each read back (the index is eventually consistent)."""
        condition = "gsi1pk = :listing" + (" AND gsi1sk < :before" if created_before else "")
        values: dict[str, Any] = {":listing": status_index_key(event_id, status)}
        if created_before:
            values[":before"] = created_before.isoformat()
        listed = query_items(
            self._client,
            TableName=self._table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_item(values),
        )
        for item in listed:
            registration = self.get(str(item["pk"]).removeprefix("REG#"))
            if registration is not None and registration.status == status:
                yield registration

    def append_history(self, registration_id: str, entry: HistoryEntry) -> None:
        """An audit entry for an action that changes nothing else (an organiser's refund request, a resend).

        It bumps the version like every other write, so that a writer conditional on the version it read (an
        erasure, which writes the history back) re-reads instead of dropping this entry."""
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=registration_key(registration_id),
                UpdateExpression="SET history = list_append(if_not_exists(history, :none), :entry), "
                "version = version + :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item({":entry": [entry.as_record()], ":none": [], ":one": 1}),
            )

    def registration_page(
        self, event_id: str, status: RegistrationStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Registration], dict[str, Any] | None]:
        """One page of a status's registrations, oldest first, straight from the index (a list view)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :listing",
            "ExpressionAttributeValues": to_item({":listing": status_index_key(event_id, status)}),
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        with translated_errors():
            page = self._client.query(**kwargs)
        items = [self._registration(from_item(item)) for item in page.get("Items", [])]
        return items, page.get("LastEvaluatedKey")

    def _release_guard(self, event_id: str, email_key: str, registration_id: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": email_guard_key(event_id, email_key),
                "ConditionExpression": "registration_id = :registration",
                "ExpressionAttributeValues": to_item({":registration": registration_id}),
            }
        }

    @staticmethod
    def _registration_item(registration: Registration) -> dict[str, Any]:
        created_at = registration.created_at.isoformat()
        return registration_key(registration.registration_id) | to_item(
            {
                "entity": "registration",
                "gsi1pk": status_index_key(registration.event_id, registration.status),
                "gsi1sk": f"{created_at}#{registration.registration_id}",
                **registration.model_dump(mode="json"),
                "created_at": created_at,
            }
        )

    @staticmethod
    def _registration(item: Item) -> Registration:
        fields = {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}
        return Registration.model_validate(fields)


_KEY_ATTRIBUTES = frozenset({"pk", "sk", "entity", "gsi1pk", "gsi1sk"})


def _cancellation_reasons(error: StaleWrite) -> list[str]:
    cause = error.__cause__
    if isinstance(cause, ClientError):
        return [reason.get("Code", "None") for reason in cause.response.get("CancellationReasons", [])]
    return []
