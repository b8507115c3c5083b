"""Bulk jobs in the main table, and the pages of registrations they visit.

Keys:
  JOB#<job_id> / JOB                    the job (kind, event, statuses), and `enumerated` once its last page is queued
  JOB#<job_id>#<shard> / COUNT          one of COUNT_SHARDS counter items: queued, sent, already, not_owed, failed
  JOB#<job_id>#<shard> / DONE#<key>     a page's or a batch's counts were added (written in the same transaction)
The counters are spread over shards by the page's or batch's key, so no one item takes every page's write; the
read adds the shards up (one BatchGetItem). Everything of a job expires via `ttl`.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import (
    STATUS_INDEX,
    DynamoRegistrationRepository,
    from_item,
    status_index_key,
    to_item,
    translated_errors,
)
from shared.jobs.models import Job, JobCounts
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNT_SHARDS = 8
JOB_KEPT = timedelta(days=90)
_COUNTS = tuple(JobCounts.model_fields)


def job_key(job_id: str) -> dict[str, Any]:
    return to_item({"pk": f"JOB#{job_id}", "sk": "JOB"})


def _shard(job_id: str, key: str) -> str:
    return f"JOB#{job_id}#{zlib.crc32(key.encode()) % COUNT_SHARDS}"


class DynamoJobRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()

    def _ttl(self, job: Job) -> int:
        return int((job.created_at + JOB_KEPT).timestamp())

    def create(self, job: Job) -> None:
        item = job_key(job.job_id) | to_item(
            {"entity": "job", "enumerated": False, "ttl": self._ttl(job), **job.model_dump(mode="json")}
        )
        with translated_errors():
            self._client.put_item(TableName=self._table, Item=item)

    def job(self, job_id: str) -> tuple[Job, JobCounts, bool] | None:
        keys = [job_key(job_id)] + [to_item({"pk": f"JOB#{job_id}#{n}", "sk": "COUNT"}) for n in range(COUNT_SHARDS)]
        with translated_errors():
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            items: list[dict[str, Any]] = []
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                items += [from_item(item) for item in answer.get("Responses", {}).get(self._table, [])]
                request = dict(answer.get("UnprocessedKeys") or {})
        fields = next((item for item in items if item["sk"] == "JOB"), None)
        if fields is None:
            return None
        job = Job.model_validate({k: v for k, v in fields.items() if k in Job.model_fields})
        totals = {name: sum(int(item.get(name, 0)) for item in items if item["sk"] == "COUNT") for name in _COUNTS}
        return job, JobCounts(**totals), bool(fields.get("enumerated"))

    def record(self, job: Job, key: str, counts: JobCounts) -> bool:
        shard = _shard(job.job_id, key)
        added = {name: value for name, value in counts.model_dump().items() if value}
        marker = to_item({"pk": shard, "sk": f"DONE#{key}", "entity": "job_count", "ttl": self._ttl(job)})
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}}
        ]
        if added:
            names = {f"#{name}": name for name in added}
            values = {f":{name}": value for name, value in added.items()} | {":ttl": self._ttl(job)}
            expression = "ADD " + ", ".join(f"#{name} :{name}" for name in added) + " SET #ttl = :ttl"
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": to_item({"pk": shard, "sk": "COUNT"}),
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": names | {"#ttl": "ttl"},
                        "ExpressionAttributeValues": to_item(values),
                    }
                }
            )
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except StaleWrite:
            return False  # counted before: a task delivered again
        return True

    def recorded(self, job: Job, key: str) -> bool:
        marker = to_item({"pk": _shard(job.job_id, key), "sk": f"DONE#{key}"})
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=marker, ConsistentRead=True)
        return "Item" in answer

    def mark_enumerated(self, job: Job) -> None:
        with translated_errors():
            self._client.update_item(
                TableName=self._table,
                Key=job_key(job.job_id),
                UpdateExpression="SET enumerated = :yes",
                ExpressionAttributeValues=to_item({":yes": True}),
            )


class DynamoRegistrationPages:
    """Pages of an event's registrations with one status, from the status index, each read back (the index is
    eventually consistent) as registrations_with_status reads them; the cursor is the index's last key."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)

    def page(
        self, event_id: str, status: RegistrationStatus, cursor: str | None, limit: int
    ) -> tuple[list[Registration], str | None]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "gsi1pk = :listing",
            "ExpressionAttributeValues": to_item({":listing": status_index_key(event_id, status)}),
            "ProjectionExpression": "pk, sk, gsi1pk, gsi1sk",
            "Limit": limit,
        }
        if cursor is not None:
            query["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(cursor))
        with translated_errors():
            answer = self._client.query(**query)
        registrations = []
        for item in answer.get("Items", []):
            registration = self._registrations.get(str(from_item(item)["pk"]).removeprefix("REG#"))
            if registration is not None and registration.status == status:
                registrations.append(registration)
        last = answer.get("LastEvaluatedKey")
        return registrations, base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
