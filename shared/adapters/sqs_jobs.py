"""The bulk jobs' work queue (SQS): tasks as JSON, ten to a SendMessageBatch call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.errors import TemporarilyUnavailable
from shared.jobs.models import PageTask, SendTask
from shared.jobs.ports import Task

SEND_BATCH = 10  # SQS's maximum per SendMessageBatch
MAX_DELAY_SECONDS = 900  # SQS's maximum DelaySeconds


def task_of(body: str) -> Task:
    """A task from a message body (a page or a send, by its `step`)."""
    if json.loads(body).get("step") == "page":
        return PageTask.model_validate_json(body)
    return SendTask.model_validate_json(body)


class SqsWorkQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self._url = queue_url
        self._client = client or aws.client("sqs")

    def put(self, tasks: Sequence[Task], *, delay_seconds: int = 0) -> None:
        delay = max(0, min(delay_seconds, MAX_DELAY_SECONDS))
        if not tasks:
            return
        for start in range(0, len(tasks), SEND_BATCH):
            entries = [
                {"Id": str(n), "MessageBody": task.model_dump_json(), "DelaySeconds": delay}
                for n, task in enumerate(tasks[start : start + SEND_BATCH])
            ]
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise TemporarilyUnavailable("The work queue could not be reached; try again.") from exc
            if answer.get("Failed"):
                # Some were not queued: the caller fails, and its own retry queues them all again (once-only work).
                raise TemporarilyUnavailable(f"{len(answer['Failed'])} task(s) were not queued; try again.")
