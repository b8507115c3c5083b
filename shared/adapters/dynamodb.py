"""The main table: keys, item shapes and the translation of DynamoDB errors into domain errors.

Keys (one table, entity prefixes; the README lists the access patterns):
  REG#<registration_id>  / META     a registration with its seats
                                    (gsi1: STATUS#<event_id>#<status> / <created_at>#<id>)
  EMAIL#<email, casefolded> / SEAT#<event_id>
                                    the guard that gives one email one paid seat per event, taken by the payment;
                                    a person's seats in every event are one Query (a sign-in finds the attendee)
  EMAIL#<email, casefolded> / REG#<registration_id>
                                    every registration naming the email (a seat, the purchaser or billing), whatever its
                                    status: what an erasure finds the person by (written by the stream)
  REQUEST#<event_id>#<resubmission key> / REQUEST
                                    the registration an identical request gets back while it awaits payment
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
from shared.payments.models import HistoryEntry, SeatClaims, StripeEvent
from shared.payments.settlement import Settlement
from shared.registration.models import Checkout, Registration, Seat, normalize_email
from shared.registration.ports import EmailsHeld, RequestPending, StaleWrite
from shared.registration.status import RELEASES_EMAILS, RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Stripe redelivers for 3 days and the CLI can resend for 30: remember events a little longer than that.
STRIPE_EVENT_KEPT = timedelta(days=35)
# An expired or cancelled registration stays for the organiser's questions this long, then the table's TTL drops it;
# a request's claim lasts as long at most (a registration awaits payment a day at most: Stripe's longest session).
UNPAID_KEPT = timedelta(days=30)
# BatchGetItem reads at most 100 keys per call; a group has at most 50 seats.
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
TRANSACTION_ITEMS = 100
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


def request_claim_key(event_id: str, resubmission: str) -> dict[str, Any]:
    return to_item({"pk": f"REQUEST#{event_id}#{resubmission}", "sk": "REQUEST"})


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

    def create(self, registration: Registration, tolerated: Mapping[str, str] | None = None) -> None:
        tolerated = tolerated or {}
        record: dict[str, Any] = {
            "Put": {
                "TableName": self._table,
                "Item": self._registration_item(registration),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        claim_key = request_claim_key(registration.event_id, registration.resubmission or registration.registration_id)
        claim: dict[str, Any] = {
            "Put": {
                "TableName": self._table,
                "Item": claim_key
                | to_item(
                    {
                        "entity": "request_claim",
                        "registration_id": registration.registration_id,
                        "ttl": int((registration.created_at + UNPAID_KEPT).timestamp()),
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        # No guard is taken here (payment takes them), but an email whose seat is paid refuses the request in the
        # same write: checked, not read, so a registration costs no extra call.
        checks = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": email_guard_key(registration.event_id, key),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
                | (
                    {
                        "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :stale",
                        "ExpressionAttributeValues": to_item({":stale": tolerated[key]}),
                    }
                    if key in tolerated
                    else {}
                )
            }
            for key in dict.fromkeys(registration.email_keys)
        ]
        # The person index in the same write, as far as a transaction's 100 items allow (a group of up to 48): an
        # erasure finds the registration at once. The stream indexes every registration again (idempotently), which
        # covers the few people of a bigger group.
        room = _indexed_at_creation(registration)
        index = [{"Put": {"TableName": self._table, "Item": item}} for item in _person_index_items(registration)[:room]]
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=[record, claim, *checks, *index])  # type: ignore[list-item]
        except StaleWrite as exc:
            reasons = _cancellation_reasons(exc)
            held = [
                key
                for key, code in zip(dict.fromkeys(registration.email_keys), reasons[2:], strict=False)
                if code != "None"
            ]
            if held:
                raise EmailsHeld(held) from exc
            if reasons[1:2] != ["ConditionalCheckFailed"]:
                raise
            with translated_errors():
                answer = self._client.get_item(TableName=self._table, Key=claim_key, ConsistentRead=True)
            raise RequestPending(str(from_item(answer.get("Item", {})).get("registration_id", ""))) from exc

    def get(self, registration_id: str) -> Registration | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=registration_key(registration_id), ConsistentRead=True
            )
        if "Item" not in answer:
            return None
        return self._registration(from_item(answer["Item"]))

    def seat_holders(self, event_id: str, email_keys: list[str]) -> dict[str, str]:
        holders: dict[str, str] = {}
        for start in range(0, len(email_keys), BATCH_GET_KEYS):
            keys: list[Any] = [
                email_guard_key(event_id, key) for key in dict.fromkeys(email_keys[start : start + BATCH_GET_KEYS])
            ]
            while keys:
                with translated_errors():
                    answer = self._client.batch_get_item(
                        RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                    )
                for item in answer.get("Responses", {}).get(self._table, []):
                    guard = from_item(item)
                    holders[str(guard["pk"]).removeprefix("EMAIL#")] = str(guard["registration_id"])
                unprocessed: Any = answer.get("UnprocessedKeys", {}).get(self._table, {})
                keys = list(unprocessed.get("Keys", []))
        return holders

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        try:
            with translated_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key=request_claim_key(event_id, resubmission),
                    ConditionExpression="registration_id = :registration",
                    ExpressionAttributeValues=to_item({":registration": registration_id}),
                )
        except StaleWrite:
            pass  # already freed, or taken by a newer registration of the same request: not ours to free

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

    def index_people(self, registration: Registration, *, expires: datetime | None = None) -> None:
        """`EMAIL#<email>/REG#<id>` for each person the registration names that its creation had no room for (the
        stream's call: idempotent, nothing to write for all but the biggest groups); with `expires`, every one,
        dropped by the TTL then with the unpaid registration they point at."""
        items = _person_index_items(registration)
        if expires is None:
            items = items[_indexed_at_creation(registration) :]
        ttl = to_item({"ttl": int(expires.timestamp())}) if expires else {}
        self._batch_write([{"PutRequest": {"Item": item | ttl}} for item in items])

    def _batch_write(self, requests: list[Any]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_ITEMS):
            pending: Any = {self._table: requests[start : start + BATCH_WRITE_ITEMS]}
            while pending:
                with translated_errors():
                    answer = self._client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or None

    def registrations_naming(self, email_key: str) -> list[str]:
        """Every registration naming this email: those holding its seat (the guards) and those the index lists."""
        items = query_items(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"EMAIL#{email_key}"}),
            ConsistentRead=True,
        )
        return list(dict.fromkeys(str(item["registration_id"]) for item in items if "registration_id" in item))

    def forget_person(self, email_key: str, registration_id: str) -> None:
        with translated_errors():
            self._client.delete_item(
                TableName=self._table, Key=to_item({"pk": f"EMAIL#{email_key}", "sk": f"REG#{registration_id}"})
            )

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
        with translated_errors():
            self._client.delete_item(
                TableName=self._table,
                Key=registration_key(registration.registration_id),
                ConditionExpression="attribute_not_exists(checkout)",
            )
        if registration.resubmission is not None:
            self.release_claim(registration.event_id, registration.resubmission, registration.registration_id)
        keys = [
            {"DeleteRequest": {"Key": {k: item[k] for k in ("pk", "sk")}}} for item in _person_index_items(registration)
        ]
        self._batch_write(keys)

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        try:
            with translated_errors():
                self._client.delete_item(**self._release_guard(event_id, email_key, registration_id)["Delete"])
        except StaleWrite:
            pass  # already freed, or claimed again by a newer registration: either way not ours to free

    def save_settlement(self, registration: Registration, settlement: Settlement) -> None:
        """One conditional write; the one that records the payment takes the seats' guards in the same transaction,
        so of two payments for one person exactly one holds the seat. One that ends the wait for payment (expired,
        cancelled) gives the registration its TTL and frees its request's claim."""
        sets = [
            "#status = :status",
            "payment = :payment",
            "gsi1pk = :listing",
            "version = version + :one",
            "history = list_append(if_not_exists(history, :none), :entries)",
        ]
        values: dict[str, Any] = {
            ":status": settlement.status.value,
            ":payment": settlement.facts.model_dump(mode="json"),
            ":listing": status_index_key(registration.event_id, settlement.status),
            ":entries": [entry.as_record() for entry in settlement.history],
            ":none": [],
            ":one": 1,
            ":version": registration.version,
        }
        if settlement.seats is not None:
            sets.append("seats = :seats")
            values[":seats"] = [seat.model_dump(mode="json") for seat in settlement.seats]
        ends_wait = settlement.status in RELEASES_EMAILS and registration.status not in RELEASES_EMAILS
        if ends_wait:
            sets.append("#ttl = :ttl")
            values[":ttl"] = int((datetime.now().astimezone() + UNPAID_KEPT).timestamp())
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": registration_key(registration.registration_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "version = :version",
            "ExpressionAttributeNames": {"#status": "status"} | ({"#ttl": "ttl"} if ends_wait else {}),
            "ExpressionAttributeValues": to_item(values),
        }
        with translated_errors():
            if settlement.claims is None:
                self._client.update_item(**update)
            else:
                guards = self._guard_puts(registration, settlement.claims)
                self._client.transact_write_items(TransactItems=[{"Update": update}, *guards])  # type: ignore[typeddict-item, list-item]
        if ends_wait:
            if registration.resubmission is not None:
                self.release_claim(registration.event_id, registration.resubmission, registration.registration_id)
            # The person index goes with the registration: nothing names anyone once the TTL has run.
            self.index_people(registration, expires=datetime.fromtimestamp(values[":ttl"]).astimezone())

    def _guard_puts(self, registration: Registration, claims: SeatClaims) -> list[dict[str, Any]]:
        def put(email_key: str, condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
            return {
                "Put": {
                    "TableName": self._table,
                    "Item": email_guard_key(registration.event_id, email_key)
                    | to_item({"entity": "email_guard", "registration_id": registration.registration_id}),
                    "ConditionExpression": condition,
                }
                | ({"ExpressionAttributeValues": to_item(values)} if values else {})
            }

        return [put(key, "attribute_not_exists(pk)") for key in claims.take] + [
            put(key, "registration_id = :stale", {":stale": holder}) for key, holder in claims.take_over.items()
        ]

    def save_seats(self, registration: Registration, seats: list[Seat], entry: HistoryEntry) -> None:
        """The seats (a seat refunded) and the entry, if the registration is still at the version read (StaleWrite)."""
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=registration_key(registration.registration_id),
                UpdateExpression="SET seats = :seats, version = version + :one, "
                "history = list_append(if_not_exists(history, :none), :entry)",
                ConditionExpression="version = :version",
                ExpressionAttributeValues=to_item(
                    {
                        ":seats": [seat.model_dump(mode="json") for seat in seats],
                        ":entry": [entry.as_record()],
                        ":none": [],
                        ":one": 1,
                        ":version": registration.version,
                    }
                ),
            )

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

    def invoiced_registrations(self, event_id: str) -> Iterator[Registration]:
        return self.registrations_with_status(event_id, RegistrationStatus.INVOICED)

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


def _indexed_at_creation(registration: Registration) -> int:
    """How many of the registration's person-index items its creating transaction wrote: what room the
    registration, its claim and one check per seat's email left of a transaction's 100 items."""
    return max(0, TRANSACTION_ITEMS - 2 - len(set(registration.email_keys)))


def _person_index_items(registration: Registration) -> list[dict[str, Any]]:
    purchaser = [normalize_email(registration.purchaser.email)] if registration.purchaser else []
    # The billing contact an invoice goes to is a person the registration names too (an erasure finds them).
    if registration.billing is not None:
        purchaser.append(normalize_email(registration.billing.billing_email))
    return [
        to_item(
            {
                "pk": f"EMAIL#{key}",
                "sk": f"REG#{registration.registration_id}",
                "entity": "person_index",
                "registration_id": registration.registration_id,
            }
        )
        for key in dict.fromkeys([*purchaser, *registration.email_keys])
    ]


def _cancellation_reasons(error: StaleWrite) -> list[str]:
    cause = error.__cause__
    if isinstance(cause, ClientError):
        return [reason.get("Code", "None") for reason in cause.response.get("CancellationReasons", [])]
    return []
