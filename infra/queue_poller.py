"""Lambda's SQS event source mapping, played in-process for the local stack and the tests (as infra/stream_poller.py
plays the stream's): moto keeps the queue, this poller receives from it and calls the handler itself.

What it follows, from AWS's documentation ("Using Lambda with Amazon SQS", .../with-sqs.html, and "Handling errors
for an SQS event source", .../services-sqs-errorhandling.html): batches of up to BatchSize messages in Lambda's
record shape; a handler that raises fails the whole batch; with ReportBatchItemFailures the messages it names
fail (an invalid answer fails the batch) and the rest are deleted; a failed message becomes visible again and,
past the queue's maxReceiveCount, moto moves it to the dead-letter queue as SQS does. A failed message is made
visible again at once here (Lambda waits out the visibility timeout), as the stream poller retries at once.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from infra.apigw import LambdaContext

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
_PENDING = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class QueueMapping:
    function_logical_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


def queue_mappings(
    template: dict[str, Any], resources: dict[str, str], session: boto3.session.Session
) -> list[QueueMapping]:
    """Every SQS EventSourceMapping of a translated template, resolved against the deployed queues."""
    mappings = []
    sqs = session.client("sqs")
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        source = properties["EventSourceArn"]
        target = source.get("Fn::GetAtt", (None, None))[0] if isinstance(source, dict) else None
        if target is None or template["Resources"][target]["Type"] != "AWS::SQS::Queue":
            continue
        function = properties["FunctionName"]
        if not (isinstance(function, dict) and isinstance(function.get("Ref"), str)):
            raise ValueError(f"{logical_id}: FunctionName must be a Ref to a function in the template")
        url = resources[target]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        mappings.append(
            QueueMapping(
                function_logical_id=function["Ref"],
                queue_url=url,
                queue_arn=str(arn),
                batch_size=int(properties.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
            )
        )
    return mappings


class QueuePoller:
    """One SQS mapping: poll_once invokes the handler until the queue has no visible message."""

    def __init__(
        self,
        session: boto3.session.Session,
        mapping: QueueMapping,
        handler: Handler,
        *,
        function_name: str = "local",
        timeout_seconds: float = 15.0,
    ) -> None:
        self._mapping = mapping
        self._timeout_seconds = timeout_seconds
        self.handler = handler
        self._function_name = function_name
        self._sqs: Any = session.client("sqs")  # untyped: the records are plain dicts here, as Lambda hands them
        self._region = mapping.queue_arn.split(":")[3]
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.invocations = 0

    def poll_once(self) -> int:
        """Deliver every visible message; returns how many were deleted (processed)."""
        with self._lock:
            done = 0
            while not self._stopping.is_set():
                answer = self._sqs.receive_message(
                    QueueUrl=self._mapping.queue_url,
                    MaxNumberOfMessages=min(self._mapping.batch_size, 10),
                    AttributeNames=["All"],
                    WaitTimeSeconds=0,
                )
                messages = answer.get("Messages", [])
                if not messages:
                    return done
                done += self._deliver(messages)
            return done

    def has_pending(self) -> bool:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._mapping.queue_url, AttributeNames=list(_PENDING))
        return any(int(attributes["Attributes"].get(name, "0")) for name in _PENDING)

    def _deliver(self, messages: list[dict[str, Any]]) -> int:
        records = [self._record(message) for message in messages]
        self.invocations += 1
        try:
            context = LambdaContext(self._function_name, timeout_seconds=self._timeout_seconds)
            response = self.handler({"Records": copy.deepcopy(records)}, context)
        except Exception as error:
            logger.warning("%s raised %s on %d messages", self._function_name, type(error).__name__, len(records))
            failed = {message["MessageId"] for message in messages}
        else:
            failed = self._failed(response, messages)
        handles = {message["MessageId"]: message["ReceiptHandle"] for message in messages}
        succeeded = [message_id for message_id in handles if message_id not in failed]
        if succeeded:
            entries = [{"Id": str(n), "ReceiptHandle": handles[m]} for n, m in enumerate(succeeded)]
            self._sqs.delete_message_batch(QueueUrl=self._mapping.queue_url, Entries=entries)
        for message_id in failed:
            self._sqs.change_message_visibility(
                QueueUrl=self._mapping.queue_url, ReceiptHandle=handles[message_id], VisibilityTimeout=0
            )
        return len(succeeded)

    def _failed(self, response: Any, messages: list[dict[str, Any]]) -> set[str]:
        everything = {message["MessageId"] for message in messages}
        if not self._mapping.report_batch_item_failures:
            return set()
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if failures is None:
            return set()  # no report: every message succeeded
        named = [failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures]
        if not all(isinstance(name, str) and name in everything for name in named):
            return everything  # an invalid report fails the whole batch
        return set(named)  # type: ignore[arg-type]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._mapping.queue_arn,
            "awsRegion": self._region,
        }

    def start(self, interval: float = 0.1) -> None:
        if self._thread is not None:
            raise RuntimeError("the poller is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name=f"queue-poller-{self._function_name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.warning("queue poll for %s failed", self._function_name, exc_info=True)
            self._stopping.wait(interval)
