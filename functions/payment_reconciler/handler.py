"""PaymentReconciler (scheduled): settles registrations whose Stripe webhook never arrived."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.composition.common import event_catalog
from shared.composition.payments import payment_service
from shared.observability import logger, metrics, tracer
from shared.payments.models import describe
from shared.payments.service import PaymentService
from shared.settings import PaymentSettings

# Webhooks arrive within seconds; a registration pending this long is worth asking Stripe about.
PENDING_FOR = timedelta(minutes=10)


@cache
def settings() -> PaymentSettings:
    return PaymentSettings.from_environment()


@cache
def payments() -> PaymentService:
    return payment_service(settings())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = payments().reconcile(pending_for=PENDING_FOR, event_ids=event_catalog(settings()).event_ids())
    for outcome in report.settled:
        for entry in outcome.changes:
            logger.warning(
                "settled without a webhook",
                extra={"registration_id": outcome.registration_id, "action": entry.action, "change": describe(entry)},
            )
        for finding in outcome.findings:
            logger.error("payment needs review", extra={"registration_id": outcome.registration_id, "finding": finding})
    metrics.add_metric(name="ReconcilerExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(name="ReconcilerFindings", unit=MetricUnit.Count, value=len(report.settled))
    return {"examined": report.examined, "settled": len(report.settled), "discarded": report.discarded}
