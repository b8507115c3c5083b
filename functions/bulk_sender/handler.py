"""BulkSender (the jobs queue's worker): a page of a bulk job's registrations put on the queue in batches, or a
batch of attendees claimed and mailed at this worker's share of SES's rate (shared/jobs).

SES's throttling puts the batch back on the queue as a new message, later (its backoff doubling with each
throttling), from the seat that was throttled on (with the counts of those before it), together with every task of
the invocation not yet done: what was sent stays sent and is not claimed again, and nothing counts against the
message's receives, which only real failures use up before the
dead-letter queue. Any other failure is reported (ReportBatchItemFailures) and the message comes back."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.sqs_jobs import SqsWorkQueue, task_of
from shared.composition.bulk import bulk_worker, worker_pacer
from shared.jobs.models import Outcome, SendTask
from shared.jobs.pacing import Pacer
from shared.jobs.ports import Task
from shared.jobs.service import BatchThrottled, BulkWorker
from shared.observability import logger, metrics, tracer
from shared.settings import BulkSenderSettings

# A task is begun only with this much of the invocation left (a batch at the slowest pace takes less).
TASK_MILLIS = 60_000
_METRICS = {
    Outcome.SENT: "BulkEmailSent",
    Outcome.ALREADY: "BulkAlreadySent",
    Outcome.NOT_OWED: "BulkNotOwed",
    Outcome.FAILED: "BulkEmailFailed",
}


@cache
def settings() -> BulkSenderSettings:
    return BulkSenderSettings.from_environment()


@cache
def pacer() -> Pacer:
    return worker_pacer(settings())


@cache
def worker() -> BulkWorker:
    return bulk_worker(settings(), pacer())


@cache
def queue() -> SqsWorkQueue:
    return SqsWorkQueue(settings().jobs_queue_url)


def backoff_seconds(task: Task) -> int:
    base = settings().throttle_backoff_seconds
    attempt = task.attempt if isinstance(task, SendTask) else 0
    return int(min(900, base * 2**attempt + random.randint(0, base)))  # noqa: S311 (jitter, not a secret)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures: list[str] = []
    later: dict[str, Task] = {}  # message id -> task, back on the queue after a backoff
    again: dict[str, Task] = {}  # back on the queue at once (the invocation is running out of time)
    for record in event.get("Records", []):
        message_id, task = record["messageId"], task_of(record["body"])
        if later:
            later[message_id] = task
            continue
        if context.get_remaining_time_in_millis() < TASK_MILLIS:
            again[message_id] = task
            continue
        try:
            outcomes = worker().handle(task)
        except BatchThrottled as throttled:
            metrics.add_metric(name="SesThrottled", unit=MetricUnit.Count, value=1)
            later[message_id] = throttled.rest
            continue
        except Exception:
            logger.exception("task failed", extra={"job_id": task.job.job_id, "step": task.step})
            failures.append(message_id)
            continue
        for outcome, count in outcomes.items():
            metrics.add_metric(name=_METRICS[outcome], unit=MetricUnit.Count, value=count)
        logger.info(
            "task done",
            extra={"job_id": task.job.job_id, "step": task.step, **{o.value: n for o, n in outcomes.items()}},
        )
    for tasks, delay in ((later, max((backoff_seconds(t) for t in later.values()), default=0)), (again, 0)):
        if not tasks:
            continue
        try:
            queue().put(list(tasks.values()), delay_seconds=delay)
        except Exception:
            # Not queued again: their messages come back after the visibility timeout instead.
            logger.exception("tasks not put back", extra={"count": len(tasks)})
            failures += list(tasks)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}
