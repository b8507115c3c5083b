"""Per-client counters in the main table (shared/limits.py): `LIMIT#<name>#<address digest>` / `WINDOW#<start>`,
one conditional update per request, dropped by the table's TTL after its window."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import to_item, translated_errors
from shared.registration.ports import StaleWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoCounters:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()

    def take(self, key: str, window_start: datetime, limit: int, expires: datetime) -> bool:
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(key, window_start),
                    UpdateExpression="ADD #count :one SET #ttl = :ttl, entity = :entity",
                    ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                    ExpressionAttributeNames={"#count": "count", "#ttl": "ttl"},
                    ExpressionAttributeValues=to_item(
                        {":one": 1, ":limit": limit, ":ttl": int(expires.timestamp()), ":entity": "client_counter"}
                    ),
                )
        except StaleWrite:
            return False  # the window is full
        return True

    def give_back(self, key: str, window_start: datetime) -> None:
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(key, window_start),
                    UpdateExpression="ADD #count :minus",
                    ConditionExpression="#count > :zero",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues=to_item({":minus": -1, ":zero": 0}),
                )
        except StaleWrite:
            pass  # the window ended and the counter expired meanwhile: nothing to give back


def _key(key: str, window_start: datetime) -> dict[str, Any]:
    return to_item({"pk": f"LIMIT#{key}", "sk": f"WINDOW#{window_start.isoformat()}"})
