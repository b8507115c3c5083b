"""StripeWebhook: POST /webhooks/stripe. Verify first, then let the payment state machine act once."""

from __future__ import annotations

import time
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.stripe_gateway import load_sdk, verify_webhook
from shared.api.problems import install_problem_responses
from shared.api.requests import header, raw_body
from shared.api.responses import json_response
from shared.composition.payments import payment_service, webhook_secrets
from shared.errors import InvalidRequest, InvalidSignature
from shared.observability import logger, metrics, tracer
from shared.payments.models import SettlementOutcome, describe
from shared.payments.service import PaymentService
from shared.settings import PaymentSettings
from shared.snapstart import use_snapstart

app = APIGatewayHttpResolver()
install_problem_responses(app)
# SnapStart (template.yaml): the Stripe SDK, which every event's check and re-read use, loads before the snapshot.
use_snapstart(load_sdk)


@cache
def settings() -> PaymentSettings:
    return PaymentSettings.from_environment()


@cache
def payments() -> PaymentService:
    return payment_service(settings())


@app.post("/webhooks/stripe")
def receive_stripe_event() -> Response[str]:
    try:
        # The raw bytes as Stripe sent them: the signature covers them exactly, never a re-serialisation.
        body = raw_body(app.current_event)
        event = verify_webhook(
            body, header(app.current_event, "Stripe-Signature"), webhook_secrets(settings()), now=time.time()
        )
    except (InvalidSignature, InvalidRequest) as exc:
        metrics.add_metric(name="WebhookSignatureInvalid", unit=MetricUnit.Count, value=1)
        raise InvalidSignature(getattr(exc, "detail", "The signature does not verify.")) from None
    outcome = payments().handle(event)
    record(outcome, event.type)
    return json_response(HTTPStatus.OK, {"received": True})


def record(outcome: SettlementOutcome, event_type: str) -> None:
    context = {"event_type": event_type, "registration_id": outcome.registration_id}
    if outcome.duplicate:
        metrics.add_metric(name="WebhookDuplicate", unit=MetricUnit.Count, value=1)
    for entry in outcome.changes:
        logger.info("registration changed", extra=context | {"action": entry.action, "change": describe(entry)})
    for finding in outcome.findings:
        # Not fulfilled, answered 200 so Stripe stops retrying, and alarmed for a person to look at.
        logger.error("payment needs review", extra=context | {"finding": finding.value})
        metrics.add_metric(name="PaymentNeedsReview", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
