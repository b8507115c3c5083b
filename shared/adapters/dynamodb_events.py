"""Events in the main table: each event's current version, every version's change record, the featured one.

Keys:
  EVENT#<event_id> / META               the current version: document (JSON text, exact), version, published
                                        (gsi1: EVENTS / <starts_on>#<event_id>, every event by date)
  EVENT#<event_id> / VERSION#<000001>   one version's change record and its document, never rewritten
  EVENTS / FEATURED                     the stack's featured event (GET /conference)

The document is stored as JSON text rather than a map: it round-trips exactly (no Decimal for the policy's
shares) and it is read whole, never queried inside.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import (
    STATUS_INDEX,
    DynamoRegistrationRepository,
    from_item,
    query_items,
    to_item,
    translated_errors,
)
from shared.conference.models import EventDocument
from shared.events.models import EventChange, EventRecord
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVENTS_INDEX_KEY = "EVENTS"
FEATURED_KEY = {"pk": "EVENTS", "sk": "FEATURED"}
# Registrations whose seats were bought (or are being bought, through Checkout or an invoice) at the event's fee.
HOLDS_SEATS = (
    RegistrationStatus.PENDING_PAYMENT,
    RegistrationStatus.INVOICE_REQUESTED,
    RegistrationStatus.INVOICED,
    RegistrationStatus.PAID,
    RegistrationStatus.DISPUTED,
)
WITH_ATTENDANCE = (
    RegistrationStatus.INVOICED,
    RegistrationStatus.PAID,
    RegistrationStatus.DISPUTED,
    RegistrationStatus.REFUNDED,
)


def event_key(event_id: str) -> dict[str, Any]:
    return to_item({"pk": f"EVENT#{event_id}", "sk": "META"})


def _version_key(event_id: str, version: int) -> dict[str, Any]:
    return to_item({"pk": f"EVENT#{event_id}", "sk": f"VERSION#{version:06d}"})


class DynamoEventRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()

    def get(self, event_id: str) -> EventRecord | None:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=event_key(event_id), ConsistentRead=True)
        return _record(from_item(answer["Item"])) if "Item" in answer else None

    def all(self) -> list[EventRecord]:
        listed = query_items(
            self._client,
            TableName=self._table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression="gsi1pk = :events",
            ExpressionAttributeValues=to_item({":events": EVENTS_INDEX_KEY}),
        )
        return [_record(item) for item in listed]

    def create(self, record: EventRecord, change: EventChange) -> None:
        self._write(record, change, "attribute_not_exists(pk)", {})

    def save(self, record: EventRecord, change: EventChange, *, expected_version: int) -> None:
        self._write(record, change, "version = :expected", {":expected": expected_version})

    def history(self, event_id: str) -> list[EventChange]:
        with translated_errors():
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :versions)",
                ExpressionAttributeValues=to_item({":pk": f"EVENT#{event_id}", ":versions": "VERSION#"}),
                ProjectionExpression="change_record",
                ConsistentRead=True,
            )
        return [EventChange.model_validate_json(from_item(item)["change_record"]) for item in answer.get("Items", [])]

    def featured_id(self) -> str | None:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=to_item(FEATURED_KEY), ConsistentRead=True)
        return str(from_item(answer["Item"])["event_id"]) if "Item" in answer else None

    def feature(self, event_id: str, *, only_if_none: bool) -> bool:
        condition = {"ConditionExpression": "attribute_not_exists(pk)"} if only_if_none else {}
        try:
            with translated_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item({**FEATURED_KEY, "entity": "featured_event", "event_id": event_id}),
                    **condition,  # type: ignore[arg-type]
                )
        except StaleWrite:
            return False
        return True

    def _write(self, record: EventRecord, change: EventChange, condition: str, values: dict[str, Any]) -> None:
        document = record.document.model_dump_json()
        current = event_key(record.event_id) | to_item(
            {
                "entity": "event",
                "gsi1pk": EVENTS_INDEX_KEY,
                "gsi1sk": f"{record.document.starts_on.isoformat()}#{record.event_id}",
                "event_id": record.event_id,
                "version": record.version,
                "published": record.published,
                "document": document,
                "updated_at": record.updated_at.isoformat(),
                "updated_by": record.updated_by,
            }
        )
        put_current: dict[str, Any] = {"TableName": self._table, "Item": current, "ConditionExpression": condition}
        if values:
            put_current["ExpressionAttributeValues"] = to_item(values)
        snapshot = _version_key(record.event_id, record.version) | to_item(
            {"entity": "event_version", "change_record": change.model_dump_json(), "document": document}
        )
        put_snapshot: dict[str, Any] = {
            "TableName": self._table,
            "Item": snapshot,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        with translated_errors():
            self._client.transact_write_items(
                TransactItems=[{"Put": put_current}, {"Put": put_snapshot}]  # type: ignore[typeddict-item]
            )


class DynamoEventUsage:
    """What attendees hold in an event, read from the registrations' status index and the attendees' items."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)

    def holds_registrations(self, event_id: str) -> bool:
        for status in HOLDS_SEATS:
            page, _ = self._registrations.registration_page(event_id, status, None, 1)
            if page:
                return True
        return False

    def sessions_with_attendance(self, event_id: str, session_ids: Collection[str]) -> set[str]:
        """Reads every attendee of the event until each session is found attended: an organiser's edit, rare."""
        # Here, not at the top: the attendees' adapters (and their models) are for this rare read only, and every
        # function that reads events imports this module.
        from shared.adapters.dynamodb_attendance import MINUTES_PREFIX
        from shared.adapters.dynamodb_reactions import attendee_key

        wanted, found = set(session_ids), set[str]()
        for attendee_id in self._attendee_ids(event_id):
            if not wanted - found:
                break
            with translated_errors():
                answer = self._client.get_item(TableName=self._table, Key=attendee_key(attendee_id))
            item = from_item(answer.get("Item", {}))
            found |= {s for s in wanted if item.get(f"{MINUTES_PREFIX}{s}")}
        return found

    def _attendee_ids(self, event_id: str) -> Iterator[str]:
        for status in WITH_ATTENDANCE:
            for registration in self._registrations.registrations_with_status(event_id, status):
                yield from (seat.attendee_id for seat in registration.seats)


def _record(item: dict[str, Any]) -> EventRecord:
    return EventRecord(
        event_id=str(item["event_id"]),
        version=int(item["version"]),
        published=bool(item["published"]),
        document=EventDocument.model_validate(json.loads(item["document"])),
        updated_at=item["updated_at"],
        updated_by=str(item["updated_by"]),
    )
