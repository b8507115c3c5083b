"""Reminders (each event's schedules, a week, a day and an hour before its first session): starts the job that
mails the reminder the schedule names (`event_id`, `reminder`) to every attendee who holds a seat, unless it is
too late for it. It returns at once: the jobs queue's workers queue and send each one (shared/jobs)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.composition.jobs import job_service
from shared.composition.reminders import reminder_service
from shared.jobs.models import JobKind
from shared.jobs.service import JobService
from shared.observability import logger, metrics, tracer
from shared.reactions.reminders import HOLDS_SEAT, ReminderService
from shared.settings import JobSettings


@cache
def settings() -> JobSettings:
    return JobSettings.from_environment()


@cache
def reminders() -> ReminderService:
    return reminder_service(settings())


@cache
def jobs() -> JobService:
    return job_service(settings())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id, which = str(event.get("event_id", "")), str(event.get("reminder", ""))
    skipped = reminders().start(event_id, which)
    if skipped is not None:
        logger.info("reminders skipped", extra=skipped.model_dump())
        return skipped.model_dump()
    job = jobs().start(JobKind.REMINDER, event_id, HOLDS_SEAT, reminder=which)
    logger.info("reminders job started", extra={"event_id": event_id, "reminder": which, "job_id": job.job_id})
    return {"event_id": event_id, "reminder": which, "job_id": job.job_id}
