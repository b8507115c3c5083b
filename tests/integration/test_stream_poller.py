"""The local stand-in for Lambda's DynamoDB Streams event source mapping, against MainTable's stream in moto.

The template has no stream consumer yet, so each test builds the mapping itself, points it at the deployed
MainTable's stream and at a queue of its own, and gives it a small handler. The stream keeps the records of
earlier tests, so every poller starts at LATEST unless the test is about TRIM_HORIZON.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local_aws import DeployedStack
from infra.stream_poller import StreamMapping, StreamPoller, stream_mappings
from infra.template import translated_template

FUNCTION = "stream-test"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


@dataclass
class Recorder:
    """A handler that records what it was given; `behaviour` decides its answer from the batch's labels."""

    behaviour: Callable[[list[str]], Any] = lambda labels: None
    events: list[dict[str, Any]] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.request_ids.append(context.aws_request_id)
        return self.behaviour(labels_of(event))

    @property
    def batches(self) -> list[list[str]]:
        return [labels_of(event) for event in self.events]

    def sequence_number(self, label: str) -> str:
        for event in self.events:
            for record in event["Records"]:
                if record["dynamodb"]["Keys"]["sk"]["S"] == label:
                    return str(record["dynamodb"]["SequenceNumber"])
        raise KeyError(label)


def labels_of(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["sk"]["S"] for record in event["Records"]]


def raise_if(poison: str) -> Callable[[list[str]], None]:
    def behaviour(labels: list[str]) -> None:
        if poison in labels:
            raise RuntimeError("poison record")

    return behaviour


@pytest.fixture
def table(clean_tables: DeployedStack) -> str:
    return clean_tables.resources["MainTable"]


@pytest.fixture
def stream_arn(aws, table) -> str:
    return str(aws.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"])


@pytest.fixture
def dlq(aws) -> Iterator[Queue]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"stream-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield Queue(url, arn)
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def partition() -> str:
    """One item collection per test, so a test's records are told apart by their sort keys alone."""
    return f"STREAMTEST#{uuid.uuid4().hex[:8]}"


def mapping(stream_arn: str, **overrides: Any) -> StreamMapping:
    settings: dict[str, Any] = {
        "function_logical_id": "StreamTestFunction",
        "stream_arn": stream_arn,
        "batch_size": 100,
        "maximum_retry_attempts": 2,
        "maximum_record_age_seconds": -1,
        "bisect_batch_on_function_error": False,
        "report_batch_item_failures": False,
        "on_failure_destination_arn": None,
        "starting_position": "LATEST",
    }
    return StreamMapping(**(settings | overrides))


def poller_for(aws, stream_mapping: StreamMapping, handler: Recorder, **options: Any) -> StreamPoller:
    return StreamPoller(aws, stream_mapping, handler, function_name=FUNCTION, **options)


def put(aws, table: str, partition: str, *labels: str, **attributes: dict[str, Any]) -> None:
    for label in labels:
        item = {"pk": {"S": partition}, "sk": {"S": label}} | attributes
        aws.client("dynamodb").put_item(TableName=table, Item=item)


def numbered(count: int) -> list[str]:
    return [f"{number:02d}" for number in range(1, count + 1)]


def dlq_messages(aws, queue: Queue) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def shard_id(aws, stream_arn: str) -> str:
    shards = aws.client("dynamodbstreams").describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    return str(shards[0]["ShardId"])


def arrival(recorder: Recorder, label: str) -> str:
    for event in recorder.events:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["sk"]["S"] == label:
                created = record["dynamodb"]["ApproximateCreationDateTime"]
                return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise KeyError(label)


def test_records_reach_the_handler_as_lambda_delivers_them(aws, table, stream_arn, partition):
    # Given a poller on MainTable's stream (NEW_AND_OLD_IMAGES)
    recorder = Recorder()
    poller = poller_for(aws, mapping(stream_arn), recorder)
    dynamodb = aws.client("dynamodb")
    before = time.time()

    # When an item is written with a binary attribute, changed and deleted
    put(aws, table, partition, "01", data={"B": b"\x00\x01"})
    key = {"pk": {"S": partition}, "sk": {"S": "01"}}
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "PAID"}},
    )
    dynamodb.delete_item(TableName=table, Key=key)
    assert poller.poll_once() == 3

    # Then one event of three records arrives, each shaped as Lambda's, and as JSON as Lambda's would be
    [event] = recorder.events
    assert list(event) == ["Records"]
    insert, modify, remove = event["Records"]
    assert [record["eventName"] for record in event["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    for record in event["Records"]:
        assert list(record) == [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        ]
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSourceARN"] == stream_arn
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        assert isinstance(created, int | float)
        assert before - 1 <= created <= time.time()
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert record["dynamodb"]["Keys"] == key
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
    assert insert["dynamodb"]["NewImage"] == key | {"data": {"B": "AAE="}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"] == key | {"data": {"B": "AAE="}}
    assert modify["dynamodb"]["NewImage"] == key | {"data": {"B": "AAE="}, "status": {"S": "PAID"}}
    assert "NewImage" not in remove["dynamodb"]
    assert remove["dynamodb"]["OldImage"]["status"] == {"S": "PAID"}
    sequence_numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in event["Records"]]
    assert sequence_numbers == sorted(sequence_numbers)
    assert json.loads(json.dumps(event)) == event


def test_batches_hold_at_most_batch_size_records_in_stream_order(aws, table, stream_arn, partition):
    # Given a mapping with a batch size of 3
    recorder = Recorder()
    poller = poller_for(aws, mapping(stream_arn, batch_size=3), recorder)

    # When 7 records are written and polled
    put(aws, table, partition, *numbered(7))
    ended = poller.poll_once()

    # Then they arrive once each, in three batches of at most three, in the order written
    assert ended == 7
    assert recorder.batches == [["01", "02", "03"], ["04", "05", "06"], ["07"]]
    assert [len(invocation.sequence_numbers) for invocation in poller.invocations] == [3, 3, 1]


def test_t30_a_reported_failure_retries_the_batch_from_that_record_only(aws, table, stream_arn, partition, dlq):
    # Given a mapping with ReportBatchItemFailures, and a handler that reports record #3 once
    def report_three_once(labels: list[str]) -> dict[str, Any]:
        if len(recorder.events) == 1:
            return {"batchItemFailures": [{"itemIdentifier": recorder.sequence_number("03")}]}
        return {"batchItemFailures": []}

    recorder = Recorder(report_three_once)
    stream_mapping = mapping(stream_arn, report_batch_item_failures=True, on_failure_destination_arn=dlq.arn)
    poller = poller_for(aws, stream_mapping, recorder)

    # When 5 records are written and polled
    put(aws, table, partition, *numbered(5))
    ended = poller.poll_once()

    # Then #1 and #2 were delivered once, #3-#5 twice, and nothing was discarded
    assert ended == 5
    assert recorder.batches == [["01", "02", "03", "04", "05"], ["03", "04", "05"]]
    assert [invocation.result for invocation in poller.invocations] == ["partially_failed", "succeeded"]
    assert dlq_messages(aws, dlq) == []
    assert not poller.has_pending()


def test_raising_fails_the_whole_batch_which_goes_to_the_dlq_with_lambdas_metadata(
    aws, table, stream_arn, partition, dlq
):
    # Given two retries, batches of 3, and a handler that raises on any batch holding record #2
    recorder = Recorder(raise_if("02"))
    stream_mapping = mapping(stream_arn, batch_size=3, on_failure_destination_arn=dlq.arn)
    poller = poller_for(aws, stream_mapping, recorder)

    # When 5 records are written and polled
    put(aws, table, partition, *numbered(5))
    ended = poller.poll_once()

    # Then the first batch was tried three times (one try and two retries) and sent to the DLQ; the next went on
    assert ended == 5
    assert recorder.batches == [["01", "02", "03"]] * 3 + [["04", "05"]]
    [message] = dlq_messages(aws, dlq)
    timestamp = message.pop("timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp)
    assert message == {
        "requestContext": {
            "requestId": recorder.request_ids[2],
            "functionArn": FUNCTION_ARN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard_id(aws, stream_arn),
            "startSequenceNumber": recorder.sequence_number("01"),
            "endSequenceNumber": recorder.sequence_number("03"),
            "approximateArrivalOfFirstRecord": arrival(recorder, "01"),
            "approximateArrivalOfLastRecord": arrival(recorder, "03"),
            "batchSize": 3,
            "streamArn": stream_arn,
        },
    }


def test_bisection_isolates_a_poison_record_and_processes_the_rest(aws, table, stream_arn, partition, dlq):
    # Given one retry with bisection, and a handler that raises on any batch holding record #3
    recorder = Recorder(raise_if("03"))
    stream_mapping = mapping(
        stream_arn, maximum_retry_attempts=1, bisect_batch_on_function_error=True, on_failure_destination_arn=dlq.arn
    )
    poller = poller_for(aws, stream_mapping, recorder)

    # When 5 records are written and polled
    put(aws, table, partition, *numbered(5))
    ended = poller.poll_once()

    # Then halves are tried without using the retry quota, #3 alone is retried once and sent to the DLQ,
    # and every other record succeeded, in stream order
    assert ended == 5
    assert recorder.batches == [
        ["01", "02", "03", "04", "05"],
        ["01", "02"],
        ["03", "04", "05"],
        ["03"],
        ["03"],
        ["04", "05"],
    ]
    [message] = dlq_messages(aws, dlq)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 4  # #3 was in four invocations
    batch = message["DDBStreamBatchInfo"]
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"] == recorder.sequence_number("03")
    assert batch["batchSize"] == 1


def test_t32_a_record_reported_on_every_attempt_sends_the_rest_of_its_batch_to_the_dlq(
    aws, table, stream_arn, partition, dlq
):
    # Given ReportBatchItemFailures, two retries, and a handler that reports record #3 every time
    def report_three(labels: list[str]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": recorder.sequence_number("03")}]}

    recorder = Recorder(report_three)
    stream_mapping = mapping(stream_arn, report_batch_item_failures=True, on_failure_destination_arn=dlq.arn)
    poller = poller_for(aws, stream_mapping, recorder)

    # When 5 records are written and polled
    put(aws, table, partition, *numbered(5))
    ended = poller.poll_once()

    # Then #1 and #2 succeeded once; #3 onwards was retried twice, then discarded as a batch (as Lambda does)
    assert ended == 5
    assert recorder.batches == [["01", "02", "03", "04", "05"]] + [["03", "04", "05"]] * 2
    [message] = dlq_messages(aws, dlq)
    assert "functionError" not in message["responseContext"]  # the function answered; it did not raise
    assert message["requestContext"]["approximateInvokeCount"] == 3
    batch = message["DDBStreamBatchInfo"]
    assert (batch["startSequenceNumber"], batch["endSequenceNumber"], batch["batchSize"]) == (
        recorder.sequence_number("03"),
        recorder.sequence_number("05"),
        3,
    )


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "any"}]},
        {"batchItemFailures": "01"},
        "not a response",
    ],
    ids=["unknown", "empty", "null", "misspelt-key", "not-a-list", "not-an-object"],
)
def test_an_invalid_batch_item_failures_response_fails_the_whole_batch(aws, table, stream_arn, partition, response):
    # Given ReportBatchItemFailures and a handler that answers badly once, then succeeds
    recorder = Recorder(lambda labels: response if len(recorder.events) == 1 else None)
    poller = poller_for(aws, mapping(stream_arn, report_batch_item_failures=True), recorder)

    # When 3 records are written and polled
    put(aws, table, partition, *numbered(3))
    poller.poll_once()

    # Then the whole batch was retried
    assert recorder.batches == [["01", "02", "03"]] * 2
    assert [invocation.result for invocation in poller.invocations] == ["invalid_response", "succeeded"]


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_an_empty_or_null_response_is_success(aws, table, stream_arn, partition, response):
    # Given ReportBatchItemFailures and a handler that answers with no failures
    recorder = Recorder(lambda labels: response)
    poller = poller_for(aws, mapping(stream_arn, report_batch_item_failures=True), recorder)

    # When 2 records are written and polled
    put(aws, table, partition, *numbered(2))

    # Then they are delivered once
    assert poller.poll_once() == 2
    assert recorder.batches == [["01", "02"]]


def test_records_older_than_the_maximum_age_are_discarded(aws, table, stream_arn, partition, dlq):
    # Given a maximum record age of 60 s, many retries, and a clock the test moves
    now = [time.time()]

    def fail_and_let_a_minute_pass(labels: list[str]) -> None:
        now[0] += 61
        raise RuntimeError("down")

    recorder = Recorder(fail_and_let_a_minute_pass)
    stream_mapping = mapping(
        stream_arn, maximum_retry_attempts=5, maximum_record_age_seconds=60, on_failure_destination_arn=dlq.arn
    )
    poller = poller_for(aws, stream_mapping, recorder, clock=lambda: now[0])

    # When two records wait two minutes before the poll, and a third fails once and then is a minute old
    put(aws, table, partition, "01", "02")
    now[0] += 120
    assert poller.poll_once() == 2
    now[0] = time.time()
    put(aws, table, partition, "03")
    assert poller.poll_once() == 1

    # Then the first two were never delivered and the third once; each went to the DLQ for its age
    assert recorder.batches == [["03"]]
    unread, failed = dlq_messages(aws, dlq)
    assert unread["requestContext"]["condition"] == failed["requestContext"]["condition"] == "RecordAgeExceeded"
    assert unread["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in unread
    assert unread["DDBStreamBatchInfo"]["batchSize"] == 2
    assert failed["requestContext"]["approximateInvokeCount"] == 1
    assert failed["requestContext"]["requestId"] == recorder.request_ids[0]
    assert failed["responseContext"]["functionError"] == "Unhandled"
    assert failed["DDBStreamBatchInfo"]["startSequenceNumber"] == recorder.sequence_number("03")


def test_without_a_destination_exhausted_records_are_dropped_and_logged_without_their_contents(
    aws, table, stream_arn, partition, caplog
):
    # Given no on-failure destination, no retries, and a handler that always raises
    caplog.set_level(logging.INFO, logger="infra.stream_poller")
    recorder = Recorder(raise_if("01"))
    poller = poller_for(aws, mapping(stream_arn, maximum_retry_attempts=0), recorder)

    # When a record with personal data is written and polled
    put(aws, table, partition, "01", email={"S": "ada@example.org"})
    ended = poller.poll_once()

    # Then it was tried once, dropped with a warning, and its contents were not logged
    assert ended == 1
    assert recorder.batches == [["01"]]
    assert not poller.has_pending()
    assert any("discarding 1 records" in message for message in caplog.messages)
    assert "ada@example.org" not in caplog.text
    assert partition not in caplog.text


def test_infinite_retries_block_the_shard_until_the_handler_recovers(aws, table, stream_arn, partition):
    # Given infinite retries (Lambda's default) and a handler that is down
    down = [True]

    def fail_while_down(labels: list[str]) -> None:
        if down[0]:
            raise RuntimeError("down")

    recorder = Recorder(fail_while_down)
    poller = poller_for(aws, mapping(stream_arn, maximum_retry_attempts=-1), recorder)
    put(aws, table, partition, "01", "02")

    # When it is polled twice while down, then once after it recovers
    assert poller.poll_once() == 0
    assert poller.poll_once() == 0
    assert poller.has_pending()
    down[0] = False
    ended = poller.poll_once()

    # Then each poll tried the batch once, and nothing was lost or reordered
    assert ended == 2
    assert recorder.batches == [["01", "02"]] * 3
    assert not poller.has_pending()


def test_a_record_written_after_a_cancelled_transaction_is_delivered(aws, table, stream_arn, partition):
    # Given a poller that has already checkpointed a record
    recorder = Recorder()
    poller = poller_for(aws, mapping(stream_arn), recorder)
    put(aws, table, partition, "01")
    assert poller.poll_once() == 1

    # When a transaction is cancelled (its condition fails), which makes moto restore a copy of the table,
    # and a record is written afterwards
    with pytest.raises(ClientError) as cancelled:
        aws.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": partition}, "sk": {"S": "rolled-back"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": partition}, "sk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    put(aws, table, partition, "02")

    # Then the new record is delivered, and the rolled-back write is not
    assert poller.poll_once() == 1
    assert recorder.batches == [["01"], ["02"]]


def test_has_pending_is_true_before_and_false_after_poll_once(aws, table, stream_arn, partition):
    # Given a poller at the end of the stream
    poller = poller_for(aws, mapping(stream_arn), Recorder())
    assert not poller.has_pending()

    # When a record is written
    put(aws, table, partition, "01")

    # Then it is pending until polled
    assert poller.has_pending()
    poller.poll_once()
    assert not poller.has_pending()


def test_trim_horizon_starts_from_the_oldest_record_in_the_stream(aws, table, stream_arn, partition):
    # Given a record already in the stream before the poller exists
    put(aws, table, partition, "01")

    # When a TRIM_HORIZON poller and a LATEST poller drain the stream
    from_start, from_end = Recorder(), Recorder()
    poller_for(aws, mapping(stream_arn, batch_size=1000, starting_position="TRIM_HORIZON"), from_start).poll_once()
    poller_for(aws, mapping(stream_arn), from_end).poll_once()

    # Then only the TRIM_HORIZON one delivers it, as the newest of everything the stream holds
    assert from_start.events[-1]["Records"][-1]["dynamodb"]["Keys"]["pk"] == {"S": partition}
    assert from_end.events == []


def test_a_disabled_mapping_delivers_nothing(aws, table, stream_arn, partition):
    # Given a disabled mapping
    recorder = Recorder()
    poller = poller_for(aws, mapping(stream_arn, enabled=False), recorder)

    # When a record is written and polled
    put(aws, table, partition, "01")

    # Then nothing is delivered or pending
    assert poller.poll_once() == 0
    assert not poller.has_pending()
    assert recorder.events == []


def test_records_the_filter_criteria_leave_out_are_never_delivered_and_never_pending(aws, table, stream_arn, partition):
    # Given a mapping that delivers only records whose new image is an outbox entry, as the template's does
    recorder = Recorder()
    outbox_only = ({"dynamodb": {"NewImage": {"entity": {"S": ["outbox"]}}}},)
    poller = poller_for(aws, mapping(stream_arn, batch_size=2, filters=outbox_only), recorder)

    # When outbox entries and other items are written, the last one filtered out
    put(aws, table, partition, "01", "02", entity={"S": "attendee"})
    put(aws, table, partition, "03", entity={"S": "outbox"})
    put(aws, table, partition, "04", entity={"S": "attendee"})
    put(aws, table, partition, "05", entity={"S": "outbox"})
    put(aws, table, partition, "06")
    poller.poll_once()

    # Then only the outbox entries reach the function, and nothing is left pending
    assert [label for batch in recorder.batches for label in batch] == ["03", "05"]
    assert not poller.has_pending()
    assert poller.poll_once() == 0


def test_filter_patterns_beyond_exact_values_are_refused_rather_than_played_wrong() -> None:
    from infra.stream_poller import _filter_patterns

    exact = {"FilterCriteria": {"Filters": [{"Pattern": '{"dynamodb": {"NewImage": {"entity": {"S": ["a"]}}}}'}]}}
    assert _filter_patterns("M", exact) == ({"dynamodb": {"NewImage": {"entity": {"S": ["a"]}}}},)
    prefix = {"FilterCriteria": {"Filters": [{"Pattern": '{"eventName": [{"prefix": "IN"}]}'}]}}
    with pytest.raises(ValueError, match="exact-value"):
        _filter_patterns("M", prefix)


def test_start_polls_in_the_background_until_stop(aws, table, stream_arn, partition):
    # Given a poller running in its own thread
    recorder = Recorder()
    poller = poller_for(aws, mapping(stream_arn), recorder)
    poller.start(interval=0.01)
    try:
        # When records are written
        put(aws, table, partition, "01", "02")

        # Then the thread delivers them without being asked
        deadline = time.monotonic() + 5
        while sum(len(batch) for batch in recorder.batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        poller.stop()
    assert [label for batch in recorder.batches for label in batch] == ["01", "02"]
    assert f"stream-poller-{FUNCTION}" not in [thread.name for thread in threading.enumerate()]


SAM_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  Dlq:
    Type: AWS::SQS::Queue
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 5
            MaximumRetryAttempts: 2
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Dlq.Arn
        Redrive:
          Type: SQS
          Properties:
            Queue: !GetAtt Dlq.Arn
"""


def test_stream_mappings_resolve_a_sam_dynamodb_event_against_the_deployed_resources(
    aws, stack, stream_arn, dlq, tmp_path: Path
):
    # Given a SAM function with a DynamoDB event (and an SQS one), translated by SAM's own translator
    path = tmp_path / "template.yaml"
    path.write_text(SAM_TEMPLATE)
    template = translated_template(path)
    resources = {"Table": stack.resources["MainTable"], "Dlq": dlq.url, "Consumer": "consumer"}

    # When its mappings are read
    mappings = stream_mappings(template, resources, aws)

    # Then the stream one is resolved, with the queue's ARN as on-failure destination; the SQS one is not a stream's
    assert mappings == [
        StreamMapping(
            function_logical_id="Consumer",
            stream_arn=stream_arn,
            batch_size=5,
            maximum_retry_attempts=2,
            maximum_record_age_seconds=-1,
            bisect_batch_on_function_error=True,
            report_batch_item_failures=True,
            on_failure_destination_arn=dlq.arn,
            starting_position="TRIM_HORIZON",
        )
    ]
    # And whatever stream mappings template.yaml has resolve against the deployed stack
    for stream_mapping in stream_mappings(translated_template(), stack.resources, aws):
        assert stream_mapping.function_logical_id in stack.functions
