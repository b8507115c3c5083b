"""StreamDispatcher: the one consumer of the main table's stream; routes real transitions to reactions."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.composition.reactions import reaction_service
from shared.observability import logger, metrics, tracer
from shared.reactions.routing import route
from shared.reactions.service import ReactionService
from shared.settings import ReactionSettings

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def reactions() -> ReactionService:
    return reaction_service(ReactionSettings.from_environment())


@tracer.capture_method(capture_response=False)
def handle_record(record: DynamoDBRecord) -> None:
    """Raise to report this record failed: the mapping retries from it, then bisects, then the DLQ."""
    event_name = record.event_name.name if record.event_name else ""
    reaction = route(event_name, record.dynamodb.old_image, record.dynamodb.new_image) if record.dynamodb else None
    if reaction is None:
        return
    result = reactions().react(reaction)
    # Ids and what was done only: the images hold names, emails and addresses (an access-code request's email too).
    ids = {"registration_id": reaction.registration_id} if reaction.registration_id else {}
    ids |= {"request_id": reaction.request_id} if reaction.request_id else {}
    logger.info("reacted", extra={"reaction": result.reaction.value, **ids, "done": result.done})
    if "sent" in result.done:
        metrics.add_metric(name="EmailSent", unit=MetricUnit.Count, value=1)
    if "rejected for good" in result.done:
        metrics.add_metric(name="EmailRejected", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
