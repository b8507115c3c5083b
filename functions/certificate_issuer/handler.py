"""CertificateIssuer (each event's schedule, after its last session): a certificate for every eligible attendee
of the event the schedule names (its payload's `event_id`; without one, the featured event)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.certificates.service import CertificateService
from shared.composition.certificates import certificate_service
from shared.composition.common import event_catalog
from shared.observability import logger, metrics, tracer
from shared.settings import CertificateSettings


@cache
def settings() -> CertificateSettings:
    return CertificateSettings.from_environment()


@cache
def certificates() -> CertificateService:
    return certificate_service(settings())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = str(event.get("event_id") or event_catalog(settings()).featured_id())
    result = certificates().issue_all(event_id)
    logger.info("certificates issued", extra={"event_id": event_id, **result.model_dump()})
    metrics.add_metric(name="CertificatesQueued", unit=MetricUnit.Count, value=result.queued)
    return result.model_dump()
