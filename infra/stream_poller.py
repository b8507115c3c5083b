"""Lambda's DynamoDB Streams event source mapping (ESM), played in-process for the local stack and the tests.

Event source mappings are never deployed into moto (it would invoke the function inside put_item and drop
the records), so this poller reads the table's stream through the dynamodbstreams API and calls the handler
itself, with the batching, retries, bisection, partial batch responses, record age and on-failure
destination that the mapping in the template configures. What it follows, from AWS's documentation:

- Record shape: "Using AWS Lambda with Amazon DynamoDB" (docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
- Defaults (BatchSize 100, MaximumRetryAttempts and MaximumRecordAgeInSeconds -1 = infinite): "Lambda
  parameters for Amazon DynamoDB event source mappings" (.../services-ddb-params.html).
- Partial batch responses, what counts as success or as a whole-batch failure, checkpointing at the lowest
  failed sequence number and retrying every record from there, bisection at the returned sequence number:
  "Configuring partial batch response with DynamoDB and Lambda" (.../services-ddb-batchfailurereporting.html).
- Retries until the quota or the maximum age is reached, "Splitting batches doesn't consume the retry quota",
  and the invocation record sent to the on-failure destination (metadata only, never the records):
  "Retain discarded records for a DynamoDB event source in Lambda" (.../services-dynamodb-errors.html).

Retries and bisection happen at once here, without Lambda's backoff. With infinite retries a failing batch
blocks its shard instead: poll_once returns and the next poll tries again, as Lambda keeps retrying until
the records are too old.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import boto3

from infra.apigw import LambdaContext

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
InvocationResult = Literal["succeeded", "partially_failed", "raised", "invalid_response"]
# Lambda's conditions in the invocation record. The documentation shows only RetryAttemptsExhausted; the age
# condition is the value seen in real destination records (and used by LocalStack), not a documented one.
RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
_GET_RECORDS_LIMIT = 1000  # DynamoDB Streams' maximum per GetRecords call


@dataclass(frozen=True)
class StreamMapping:
    """An AWS::Lambda::EventSourceMapping on a DynamoDB stream, as the template configures it."""

    function_logical_id: str
    stream_arn: str
    batch_size: int
    maximum_retry_attempts: int  # -1 = infinite
    maximum_record_age_seconds: int  # -1 = infinite
    bisect_batch_on_function_error: bool
    report_batch_item_failures: bool
    on_failure_destination_arn: str | None  # an SQS queue ARN
    starting_position: str  # TRIM_HORIZON | LATEST
    enabled: bool = True
    # FilterCriteria patterns: a record is delivered if it matches one (or if there are none).
    filters: tuple[dict[str, Any], ...] = ()

    def delivers(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(_matches(pattern, record) for pattern in self.filters)


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, for the patterns the template uses: nested keys and lists of exact values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _matches(p, value[k]) for k, p in pattern.items())
    return value in pattern


def _filter_patterns(logical_id: str, properties: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    patterns = tuple(json.loads(f["Pattern"]) for f in properties.get("FilterCriteria", {}).get("Filters", []))

    def exact_only(pattern: Any) -> bool:
        if isinstance(pattern, dict):
            return all(exact_only(p) for p in pattern.values())
        return isinstance(pattern, list) and all(isinstance(v, str | int | float | bool) for v in pattern)

    if not all(isinstance(p, dict) and exact_only(p) for p in patterns):
        raise ValueError(f"{logical_id}: the local poller plays only exact-value filter patterns")
    return patterns


@dataclass(frozen=True)
class Invocation:
    sequence_numbers: tuple[str, ...]
    request_id: str
    result: InvocationResult


def stream_mappings(
    template: dict[str, Any], resources: dict[str, str], session: boto3.session.Session
) -> list[StreamMapping]:
    """Every DynamoDB-stream EventSourceMapping of a translated template, resolved against the deployed resources.

    Mappings on other sources (Kinesis, SQS...) are not this poller's and are left out.
    """
    mappings = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        stream_arn = _stream_arn(template, resources, session, properties["EventSourceArn"])
        if stream_arn is None:
            continue
        function = properties["FunctionName"]
        if not (isinstance(function, dict) and isinstance(function.get("Ref"), str)):
            raise ValueError(f"{logical_id}: FunctionName must be a Ref to a function in the template")
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        mappings.append(
            StreamMapping(
                function_logical_id=function["Ref"],
                stream_arn=stream_arn,
                batch_size=int(_literal(logical_id, properties, "BatchSize", 100)),
                maximum_retry_attempts=int(_literal(logical_id, properties, "MaximumRetryAttempts", -1)),
                maximum_record_age_seconds=int(_literal(logical_id, properties, "MaximumRecordAgeInSeconds", -1)),
                bisect_batch_on_function_error=_flag(
                    _literal(logical_id, properties, "BisectBatchOnFunctionError", False)
                ),
                report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                on_failure_destination_arn=(
                    None if destination is None else _queue_arn(template, resources, session, logical_id, destination)
                ),
                starting_position=str(properties["StartingPosition"]),  # required for streams
                enabled=_flag(_literal(logical_id, properties, "Enabled", True)),
                filters=_filter_patterns(logical_id, properties),
            )
        )
    return mappings


def _literal(logical_id: str, properties: dict[str, Any], name: str, default: Any) -> Any:
    value = properties.get(name, default)
    if isinstance(value, dict):
        raise ValueError(f"{logical_id}: {name} is an intrinsic function; only literal values are played locally")
    return value


def _flag(value: Any) -> bool:
    # CloudFormation accepts "true"/"false" strings for booleans.
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _stream_arn(
    template: dict[str, Any], resources: dict[str, str], session: boto3.session.Session, source: Any
) -> str | None:
    if isinstance(source, str):
        return source if ":dynamodb:" in source and "/stream/" in source else None
    target, attribute = source.get("Fn::GetAtt", (None, None))
    if target is None:
        raise ValueError(f"cannot resolve EventSourceArn {source} locally")
    if template["Resources"][target]["Type"] != "AWS::DynamoDB::Table":
        return None
    if attribute != "StreamArn":
        raise ValueError(f"EventSourceArn names {target}.{attribute}; a table's stream is {target}.StreamArn")
    table = session.client("dynamodb").describe_table(TableName=resources[target])["Table"]
    return str(table["LatestStreamArn"])


def _queue_arn(
    template: dict[str, Any], resources: dict[str, str], session: boto3.session.Session, logical_id: str, value: Any
) -> str:
    if isinstance(value, str) and ":sqs:" in value:
        return value
    target, attribute = value.get("Fn::GetAtt", (None, None)) if isinstance(value, dict) else (None, None)
    if target is None or attribute != "Arn" or template["Resources"][target]["Type"] != "AWS::SQS::Queue":
        raise ValueError(
            f"{logical_id}: only an SQS queue (its ARN or GetAtt Queue.Arn) is played as on-failure destination"
        )
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=resources[target], AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0


@dataclass(frozen=True)
class _Delivery:
    """The latest invocation a record was in, for the on-failure invocation record."""

    count: int
    request_id: str
    function_error: str | None


class StreamPoller:
    """One event source mapping: reads its stream from a checkpoint and invokes the handler in-process.

    Not reentrant: poll_once and has_pending take the same lock, so a background thread and a test (or the
    local stack's drain loop) can share one poller.
    """

    def __init__(
        self,
        session: boto3.session.Session,
        mapping: StreamMapping,
        handler: Handler,
        *,
        function_name: str = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._mapping = mapping
        self._handler = handler
        self._function_name = function_name
        self._clock = clock
        self._streams = session.client("dynamodbstreams")
        self._sqs = session.client("sqs")
        self._region = mapping.stream_arn.split(":")[3]
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._queue_url: str | None = None
        # Shard id -> sequence number of the last record whose processing ended; no entry = from TRIM_HORIZON.
        self._checkpoints: dict[str, str] = {}
        self._deliveries: dict[str, _Delivery] = {}  # sequence number -> latest delivery, until resolved
        self.invocations: list[Invocation] = []
        if mapping.starting_position == "LATEST":
            # LATEST is where the stream ends when the mapping is created, not at each poll; the checkpoint
            # must be a sequence number because iterators are re-acquired on every poll.
            for shard_id in self._shard_ids():
                while records := self._read(shard_id, _GET_RECORDS_LIMIT):
                    self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        elif mapping.starting_position != "TRIM_HORIZON":
            raise ValueError(f"StartingPosition {mapping.starting_position} is not one of TRIM_HORIZON, LATEST")

    def poll_once(self) -> int:
        """Process everything after the checkpoints; returns how many records' processing ended.

        A record's processing ends when the function succeeded with it or it was discarded (sent to the
        on-failure destination, or dropped without one).
        """
        if not self._mapping.enabled:
            return 0
        with self._lock:
            ended = 0
            for shard_id in self._shard_ids():
                # A stopping poller ends between batches, as a disabled mapping does, not after the backlog.
                while not self._stopping.is_set() and (records := self._read(shard_id, self._mapping.batch_size)):
                    read = [self._lambda_record(record) for record in records]
                    # Filtered-out records are never delivered (nor billed): the function sees only the rest.
                    delivered = [record for record in read if self._mapping.delivers(record)]
                    done, blocked = self._process(shard_id, delivered) if delivered else (0, False)
                    ended += done
                    if blocked:
                        break
                    self._checkpoints[shard_id] = read[-1]["dynamodb"]["SequenceNumber"]  # past filtered ones too
            return ended

    def has_pending(self) -> bool:
        """True if a shard has records after its checkpoint (a disabled mapping has none to deliver)."""
        if not self._mapping.enabled:
            return False
        with self._lock:
            return any(self._read(shard_id, 1) for shard_id in self._shard_ids())

    def start(self, interval: float = 0.1) -> None:
        if self._thread is not None:
            raise RuntimeError("the poller is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name=f"stream-poller-{self._function_name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop after the batch in hand (the thread is a daemon: one stuck in a handler ends with the process)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                # A stream or destination call failed: nothing was checkpointed, the next poll tries again.
                logger.warning("stream poll for %s failed", self._function_name, exc_info=True)
            self._stopping.wait(interval)

    # Reading the stream

    def _shard_ids(self) -> list[str]:
        shard_ids: list[str] = []
        arguments: dict[str, Any] = {"StreamArn": self._mapping.stream_arn}
        while True:
            description = self._streams.describe_stream(**arguments)["StreamDescription"]
            shard_ids.extend(shard["ShardId"] for shard in description["Shards"])
            if "LastEvaluatedShardId" not in description:
                return shard_ids
            arguments["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def _read(self, shard_id: str, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records after the shard's checkpoint, in stream order, as the streams API gives them."""
        records: list[Any] = []
        after = self._checkpoints.get(shard_id)
        while len(records) < limit:
            # A fresh iterator on every read: moto rolls a cancelled transaction back by restoring a copy of
            # the table, shard included, which orphans any iterator chain handed out before.
            position: dict[str, Any] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after is not None
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self._streams.get_shard_iterator(
                StreamArn=self._mapping.stream_arn, ShardId=shard_id, **position
            )["ShardIterator"]
            page = self._streams.get_records(
                ShardIterator=iterator, Limit=min(_GET_RECORDS_LIMIT, limit - len(records))
            )["Records"]
            if not page:
                break
            records.extend(page)
            after = page[-1]["dynamodb"]["SequenceNumber"]
        return records

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as Lambda delivers it: moto leaves out eventSourceARN, gives a datetime for
        ApproximateCreationDateTime (Lambda: epoch seconds) and says eventVersion 1.0 (Lambda: 1.1)."""
        stream = record["dynamodb"]
        dynamodb = {
            # DynamoDB rounds the creation time down to the second.
            "ApproximateCreationDateTime": int(stream["ApproximateCreationDateTime"].timestamp()),
            **{name: _json_ready(stream[name]) for name in ("Keys", "NewImage", "OldImage") if name in stream},
            "SequenceNumber": stream["SequenceNumber"],
            "SizeBytes": stream["SizeBytes"],
            "StreamViewType": stream["StreamViewType"],
        }
        lambda_record = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": dynamodb,
            "eventSourceARN": self._mapping.stream_arn,
        }
        if "userIdentity" in record:  # TTL deletes say who removed the item
            lambda_record["userIdentity"] = record["userIdentity"]
        return lambda_record

    # Processing a batch

    def _process(self, shard_id: str, records: list[dict[str, Any]]) -> tuple[int, bool]:
        """Process one batch read from the shard until every record's processing ended, or until a failure
        must wait for the next poll (infinite retries). Returns (records ended, shard blocked).

        The queue holds what is left of the batch in stream order, so the checkpoint only ever moves past
        the earliest unresolved records: nothing is processed before an earlier failing record is resolved.
        """
        mapping = self._mapping
        queue = deque([_Batch(records)])
        ended = 0
        while queue:
            batch = queue.popleft()
            expired = self._expired(batch.records)
            if expired:
                ended += self._discard(shard_id, batch.records[:expired], RECORD_AGE_EXCEEDED)
                batch.records = batch.records[expired:]
                if not batch.records:
                    continue
            succeeded, result = self._invoke(batch.records)
            if succeeded:
                ended += self._resolve(shard_id, batch.records[:succeeded])
            if result == "succeeded":
                continue
            remaining = batch.records[succeeded:]
            if result != "partially_failed" and mapping.bisect_batch_on_function_error and len(remaining) > 1:
                # A split is not a retry ("Splitting batches doesn't consume the retry quota",
                # services-dynamodb-errors.html): both halves keep the batch's retry count.
                half = len(remaining) // 2
                queue.extendleft([_Batch(remaining[half:], batch.retries), _Batch(remaining[:half], batch.retries)])
                continue
            # A partial failure is retried from the lowest failed record, later records included; with
            # bisection on it is "bisected at the returned sequence number", which is the same thing.
            if mapping.maximum_retry_attempts < 0:
                logger.warning(
                    "%s: batch from %s failed (%s); retries are infinite, the shard waits for the next poll",
                    self._function_name,
                    remaining[0]["dynamodb"]["SequenceNumber"],
                    result,
                )
                return ended, True
            retry = _Batch(remaining, batch.retries + 1)
            if retry.retries > mapping.maximum_retry_attempts:
                ended += self._discard(shard_id, retry.records, RETRY_ATTEMPTS_EXHAUSTED)
                continue
            queue.appendleft(retry)
        return ended, False

    def _expired(self, records: list[dict[str, Any]]) -> int:
        """How many records at the head of the batch are older than MaximumRecordAgeInSeconds."""
        maximum = self._mapping.maximum_record_age_seconds
        if maximum < 0:
            return 0
        now = self._clock()
        for position, record in enumerate(records):
            if now - record["dynamodb"]["ApproximateCreationDateTime"] <= maximum:
                return position
        return len(records)

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[int, InvocationResult]:
        """Call the handler; returns how many leading records succeeded and what the invocation came to."""
        sequence_numbers = tuple(record["dynamodb"]["SequenceNumber"] for record in records)
        context = LambdaContext(function_name=self._function_name)
        result: InvocationResult
        function_error: str | None = None
        try:
            # A copy, as each Lambda invocation gets its own deserialised event.
            response = self._handler({"Records": copy.deepcopy(records)}, context)
        except Exception as error:
            succeeded, result, function_error = 0, "raised", "Unhandled"  # Lambda's functionError for an exception
            logger.warning("%s raised %s on %d records", self._function_name, type(error).__name__, len(records))
        else:
            succeeded, result = self._judge(response, sequence_numbers)
        for sequence_number in sequence_numbers:
            previous = self._deliveries.get(sequence_number)
            count = 1 if previous is None else previous.count + 1
            self._deliveries[sequence_number] = _Delivery(count, context.aws_request_id, function_error)
        self.invocations.append(Invocation(sequence_numbers, context.aws_request_id, result))
        logger.info(
            "%s invoked with %d records from %s: %s", self._function_name, len(records), sequence_numbers[0], result
        )
        return succeeded, result

    def _judge(self, response: Any, sequence_numbers: tuple[str, ...]) -> tuple[int, InvocationResult]:
        """Read a returned response as Lambda does (services-ddb-batchfailurereporting.html)."""
        if not self._mapping.report_batch_item_failures or response is None:
            return len(sequence_numbers), "succeeded"
        identifiers = _reported_failures(response)
        if identifiers == []:  # a null or empty list, or an empty response: success
            return len(sequence_numbers), "succeeded"
        if identifiers is None or not all(
            isinstance(identifier, str) and identifier in sequence_numbers for identifier in identifiers
        ):
            # An empty, null, misspelt or unknown itemIdentifier, or a response of another shape, fails the batch.
            logger.warning("%s returned an invalid batchItemFailures response", self._function_name)
            return 0, "invalid_response"
        return min(sequence_numbers.index(identifier) for identifier in identifiers), "partially_failed"

    # Ending records' processing

    def _resolve(self, shard_id: str, records: list[dict[str, Any]]) -> int:
        self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        for record in records:
            self._deliveries.pop(record["dynamodb"]["SequenceNumber"], None)
        return len(records)

    def _discard(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> int:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        destination = self._mapping.on_failure_destination_arn
        if destination is None:
            logger.warning(
                "%s: discarding %d records %s..%s (%s); no on-failure destination",
                self._function_name,
                len(records),
                first["SequenceNumber"],
                last["SequenceNumber"],
                condition,
            )
        else:
            # Sent before the checkpoint moves: if the destination refuses it, the records stay pending.
            message = self._invocation_record(shard_id, records, condition)
            self._sqs.send_message(QueueUrl=self._destination_url(destination), MessageBody=json.dumps(message))
            logger.warning(
                "%s: sent %d records %s..%s to the on-failure destination (%s)",
                self._function_name,
                len(records),
                first["SequenceNumber"],
                last["SequenceNumber"],
                condition,
            )
        return self._resolve(shard_id, records)

    def _invocation_record(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> dict[str, Any]:
        """The metadata Lambda sends to an SQS on-failure destination for a DynamoDB stream
        (services-dynamodb-errors.html, "Example invocation record"); never the records themselves."""
        deliveries = [
            delivery
            for record in records
            if (delivery := self._deliveries.get(record["dynamodb"]["SequenceNumber"])) is not None
        ]
        latest = max(deliveries, key=lambda delivery: delivery.count, default=None)
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message: dict[str, Any] = {
            "requestContext": {
                "requestId": latest.request_id if latest else str(uuid.uuid4()),
                "functionArn": LambdaContext(function_name=self._function_name).invoked_function_arn,
                "condition": condition,
                # How many times these records were delivered to the function (0 if they aged out unread).
                "approximateInvokeCount": latest.count if latest else 0,
            },
        }
        if latest is not None:  # records that were never delivered have no response to report
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if latest.function_error:
                response["functionError"] = latest.function_error
            message["responseContext"] = response
        return message | {
            "version": "1.0",
            "timestamp": _iso(self._clock(), milliseconds=True),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self._mapping.stream_arn,
            },
        }

    def _destination_url(self, queue_arn: str) -> str:
        if self._queue_url is None:
            *_, account, name = queue_arn.split(":")
            self._queue_url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._queue_url


def _reported_failures(response: Any) -> list[Any] | None:
    """The itemIdentifiers of a partial batch response, or None if it is not shaped as one."""
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list) or not all(isinstance(item, dict) for item in failures):
        return None
    return [item.get("itemIdentifier") for item in failures]


def _json_ready(value: Any) -> Any:
    """Attribute values as in Lambda's JSON event: boto3 decodes binary (B, BS) to bytes, Lambda sends base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {name: _json_ready(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


def _iso(epoch: float, *, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace("+00:00", "Z")
