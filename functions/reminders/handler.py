"""Reminders (each event's schedules, a week, a day and an hour before its first session): queue the reminder the
schedule names (`event_id`, `reminder`) for every attendee who holds a seat; the stream sends them."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.composition.reminders import reminder_service
from shared.observability import logger, metrics, tracer
from shared.reactions.reminders import ReminderService
from shared.settings import TableSettings


@cache
def reminders() -> ReminderService:
    return reminder_service(TableSettings.from_environment())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = reminders().queue(str(event.get("event_id", "")), str(event.get("reminder", "")))
    logger.info("reminders queued", extra=result.model_dump())
    metrics.add_metric(name="RemindersQueued", unit=MetricUnit.Count, value=result.queued)
    return result.model_dump()
