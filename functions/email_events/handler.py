"""EmailEvents: SES's bounce, complaint and delivery events of the configuration set (through EventBridge), each
recorded on the attendee or purchaser the mail was to, and counted."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_email_status import DynamoEmailStatuses
from shared.observability import logger, metrics, tracer
from shared.reactions.email_events import EmailEventService, parse_ses_event
from shared.settings import TableSettings


@cache
def email_events() -> EmailEventService:
    return EmailEventService(DynamoEmailStatuses(TableSettings.from_environment().table_name))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_ses_event(event.get("detail") or {})
    if parsed is None:
        logger.info("not an SES event of ours", extra={"detail_type": event.get("detail-type")})
        return {"recorded": None}
    recorded = email_events().record(parsed)  # raises when it raced: EventBridge's retry records it
    # Ids only: the recipients' addresses are personal data.
    ids = {"registration_id": parsed.registration_id, "attendee_id": parsed.attendee_id}
    logger.info("mail event", extra={"event": parsed.kind, "recorded": recorded, **ids})
    if parsed.kind == "bounce":
        metrics.add_metric(name="EmailBounced", unit=MetricUnit.Count, value=1)
    elif parsed.kind == "complaint":
        metrics.add_metric(name="EmailComplained", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="EmailDelivered", unit=MetricUnit.Count, value=1)
    return {"recorded": recorded.value if recorded else None}
