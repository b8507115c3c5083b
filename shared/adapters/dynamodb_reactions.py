"""Attendees, the email outbox and the coin mailing list in the main table.

Keys (see the README's table):
  ATTENDEE#<attendee_id> / META             an attendee: who may log in; the access code's digest, and the
                                             digests of the codes asked for (`requested_codes`)
  REG#<registration_id> / EMAIL#<kind>#<to>  an outbox entry, one per logical email
  REG#<registration_id> / SHIPMENT#COIN      the coin for an individual registrant
                                             (gsi1: SHIPMENTS#<event_id> / <created>#<id>)
  THROTTLE#access_code#<attendee_id> / SENDS the last access-code emails asked for: one slot per email allowed
                                             an hour (`slot<n>_at`, `slot<n>_by`), expires an hour after the last
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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
from shared.reactions.models import (
    Attendee,
    AttendeeStatus,
    EmailStatus,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    Shipment,
    ShipmentState,
)
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UpdateItemInputTypeDef


def shipments_index_key(event_id: str) -> str:
    return f"SHIPMENTS#{event_id}"


def attendee_key(attendee_id: str) -> dict[str, Any]:
    return to_item({"pk": f"ATTENDEE#{attendee_id}", "sk": "META"})


def email_key(registration_id: str, key: str) -> dict[str, Any]:
    return to_item({"pk": f"REG#{registration_id}", "sk": f"EMAIL#{key}"})


def access_code_sends_key(attendee_id: str) -> dict[str, Any]:
    return to_item({"pk": f"THROTTLE#access_code#{attendee_id}", "sk": "SENDS"})


def shipment_key(registration_id: str) -> dict[str, Any]:
    return to_item({"pk": f"REG#{registration_id}", "sk": "SHIPMENT#COIN"})


def outbox_item(email: OutboxEmail) -> dict[str, Any]:
    return email_key(email.registration_id, email.key) | to_item(
        {"entity": "outbox", "email_key": email.key, **email.model_dump(mode="json")}
    )


# Reserved words, named in expressions through placeholders.
_NAMES = {"#status": "status", "#ttl": "ttl"}
_KEYS = frozenset({"pk", "sk", "entity", "gsi1pk", "gsi1sk", "email_key", "logins", "login_days"})
# An attendee read for a reaction asks for the model's fields only: most of the item is its attendance (a set of
# minutes per agenda session, up to about a thousand numbers over the conference), which no reaction reads.
ATTENDEE_FIELDS = {f"#a{n}": name for n, name in enumerate(Attendee.model_fields)}  # placeholder -> name


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return _without_keys(from_item(item))


def _without_keys(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if name not in _KEYS}


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

    def _get(self, key: dict[str, Any], fields: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The item's attributes (only `fields`' if given: placeholder -> name) by a consistent read."""
        projection: dict[str, Any] = {}
        if fields:
            projection = {"ProjectionExpression": ", ".join(fields), "ExpressionAttributeNames": fields}
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True, **projection)
        return _fields(answer["Item"]) if "Item" in answer else None

    def _update(self, key: dict[str, Any], expression: str, condition: str, values: dict[str, Any]) -> bool:
        """A conditional update; False when the condition does not hold (the change is not ours to make)."""
        request: UpdateItemInputTypeDef = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
        }
        names = {name: attribute for name, attribute in _NAMES.items() if name in expression + condition}
        if names:  # DynamoDB refuses an empty map
            request["ExpressionAttributeNames"] = names
        try:
            with translated_errors():
                self._client.update_item(**request)
        except StaleWrite:
            return False
        return True

    def add_attendees(self, attendees: list[Attendee]) -> None:
        for attendee in attendees:
            values = {"entity": "attendee", **attendee.model_dump(mode="json")}
            self._put_new(attendee_key(attendee.attendee_id) | to_item(values))

    def attendee(self, attendee_id: str) -> Attendee | None:
        fields = self._get(attendee_key(attendee_id), ATTENDEE_FIELDS)
        return Attendee.model_validate(fields) if fields else None

    def set_access_code(
        self, attendee_id: str, code_hash: str, issued_at: datetime, *, replaces_all: bool = False
    ) -> None:
        self._update(
            attendee_key(attendee_id),
            "SET access_code_hash = :hash, access_code_issued_at = :at"
            + (" REMOVE requested_codes" if replaces_all else ""),
            "attribute_exists(pk)",
            {":hash": code_hash, ":at": issued_at.isoformat()},
        )

    def set_requested_codes(
        self, attendee_id: str, codes: tuple[RequestedCode, ...], *, expected: tuple[RequestedCode, ...]
    ) -> bool:
        # The whole list, conditional on the list read (DynamoDB compares lists element by element); an attendee
        # written with none has an empty list, or (erased, or written before requested codes) no attribute.
        values: dict[str, Any] = {":codes": [code.model_dump(mode="json") for code in codes]}
        if expected:
            values[":expected"] = [code.model_dump(mode="json") for code in expected]
            unchanged = "requested_codes = :expected"
        else:
            values[":none"] = 0
            unchanged = "(attribute_not_exists(requested_codes) OR size(requested_codes) = :none)"
        return self._update(
            attendee_key(attendee_id), "SET requested_codes = :codes", f"attribute_exists(pk) AND {unchanged}", values
        )

    def seats_of(self, email_key: str) -> list[str]:
        return self._registrations.seats_of(email_key)

    def index_people(self, registration: Registration) -> None:
        self._registrations.index_people(registration)

    def take_access_code_slot(
        self, attendee_id: str, request_id: str, now: datetime, *, since: datetime, slots: int
    ) -> bool:
        key = access_code_sends_key(attendee_id)
        sends = self._get(key) or {}
        taken = {n: int(sends[f"slot{n}_at"]) for n in range(slots) if f"slot{n}_at" in sends}
        if any(sends.get(f"slot{n}_by") == request_id and at > since.timestamp() for n, at in taken.items()):
            return True  # a replayed record: this request holds its slot already
        for n in range(slots):
            if n in taken and taken[n] > since.timestamp():
                continue  # taken within the hour (as read; the condition below checks it again)
            # Each slot is claimed by its own conditional write: two requests at once never take one slot.
            if self._update(
                key,
                f"SET slot{n}_at = :now, slot{n}_by = :request, #ttl = :expires, entity = :entity",
                f"attribute_not_exists(slot{n}_at) OR slot{n}_at <= :since",
                {
                    ":now": int(now.timestamp()),
                    ":request": request_id,
                    ":since": int(since.timestamp()),
                    ":expires": int((now + (now - since)).timestamp()),
                    ":entity": "access_code_sends",
                },
            ):
                return True
        return False

    def revoke_attendee(self, attendee_id: str) -> None:
        self._update(
            attendee_key(attendee_id),
            "SET #status = :revoked",
            "attribute_exists(pk)",
            {":revoked": AttendeeStatus.REVOKED.value},
        )

    def record_email_status(
        self, attendee_id: str, status: EmailStatus, reason: str, at: datetime, *, email: str, event_id: str
    ) -> bool:
        # Conditional on the address: a late event about an address the organiser has corrected records nothing.
        return self._update(
            attendee_key(attendee_id),
            "SET email_status = :status, email_status_reason = :reason, email_status_at = :at, "
            "gsi1pk = :listing, gsi1sk = :order",
            "attribute_exists(pk) AND email = :email",
            {
                ":status": status.value,
                ":reason": reason[:500],
                ":at": at.isoformat(),
                ":email": email,
                ":listing": f"MAIL#{event_id}#{status.value}",
                ":order": f"{at.isoformat()}#{attendee_id}",
            },
        )

    def add_emails(self, emails: list[OutboxEmail]) -> int:
        return sum(self._put_new(outbox_item(email)) for email in emails)

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
        listed = query_items(
            self._client,
            TableName=self._table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression="gsi1pk = :list",
            ExpressionAttributeValues=to_item({":list": shipments_index_key(event_id)}),
        )
        return (Shipment.model_validate(_without_keys(item)) for item in listed)

    def set_shipment_state(self, registration_id: str, expected: ShipmentState, state: ShipmentState) -> bool:
        return self._update(
            shipment_key(registration_id),
            "SET shipment_state = :state",
            "shipment_state = :expected",
            {":state": state.value, ":expected": expected.value},
        )
