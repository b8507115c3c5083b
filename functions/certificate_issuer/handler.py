"""CertificateIssuer (scheduled at the conference's end): a certificate for every eligible attendee."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.certificates.service import CertificateService
from shared.composition.certificates import certificate_service
from shared.observability import logger, metrics, tracer
from shared.settings import CertificateSettings


@cache
def certificates() -> CertificateService:
    return certificate_service(CertificateSettings.from_environment())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = certificates().issue_all()
    logger.info("certificates issued", extra=result.model_dump())
    metrics.add_metric(name="CertificatesQueued", unit=MetricUnit.Count, value=result.queued)
    return result.model_dump()
