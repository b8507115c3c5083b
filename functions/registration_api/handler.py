"""RegistrationApi: GET /conference, GET /events, GET /events/{id}, POST /registrations, GET /registrations/{id},
GET /openapi.json."""

from __future__ import annotations

import os
from functools import cache, partial
from http import HTTPStatus
from importlib import import_module
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.stripe_gateway import load_sdk
from shared.api.problems import install_problem_responses
from shared.api.requests import header, json_body
from shared.api.responses import json_response
from shared.composition.common import event_catalog
from shared.composition.registration import registration_service
from shared.conference.models import ConferenceView
from shared.errors import FieldError, InvalidRequest
from shared.events.catalog import EventCatalog
from shared.events.models import PublicEvent
from shared.observability import logger, metrics, tracer
from shared.registration.models import (
    RegistrationCreated,
    RegistrationSummary,
    registration_request_adapter,
    request_fingerprint,
)
from shared.registration.service import RegistrationService
from shared.settings import RegistrationApiSettings
from shared.snapstart import use_snapstart

if TYPE_CHECKING:
    from shared.adapters.idempotency import IdempotentRequests

app = APIGatewayHttpResolver()
install_problem_responses(app)
# SnapStart (template.yaml): what a registration loads on first use is loaded before the snapshot instead: Stripe's
# SDK, the request's validator, the address validator (email-validator) and Powertools Idempotency.
use_snapstart(
    load_sdk,
    registration_request_adapter.rebuild,
    partial(import_module, "email_validator"),
    partial(import_module, "shared.adapters.idempotency"),
)
REGISTRATION_KINDS = frozenset({"individual", "group"})


# Built on first use and kept for the container's life: settings, the events' cache, clients, secrets cache.
@cache
def settings() -> RegistrationApiSettings:
    return RegistrationApiSettings.from_environment()


def events() -> EventCatalog:
    return event_catalog(settings())


@cache
def registrations() -> RegistrationService:
    return registration_service(settings())


@cache
def idempotent_requests() -> IdempotentRequests:
    # Powertools Idempotency loads with the first request that has an Idempotency-Key, not at every cold start.
    from shared.adapters.idempotency import IdempotentRequests

    return IdempotentRequests(settings().idempotency_table_name)


# Public and cacheable for a short time: the same answer for everyone, and an edit shows within a minute.
PUBLIC_CACHE = {"Cache-Control": "public, max-age=60"}


@app.get("/conference")
def get_conference() -> Response[str]:
    return json_response(HTTPStatus.OK, ConferenceView.of(events().featured()), **PUBLIC_CACHE)


@app.get("/events")
def list_events() -> Response[str]:
    published = [PublicEvent.of(record) for record in events().all() if record.published]
    return json_response(HTTPStatus.OK, published, **PUBLIC_CACHE)


@app.get("/events/<event_id>")
def get_event(event_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, ConferenceView.of(events().published(event_id)), **PUBLIC_CACHE)


@app.post("/registrations")
def create_registration() -> Response[str]:
    request = json_body(app.current_event, registration_request_adapter, tags=REGISTRATION_KINDS)

    def register() -> dict[str, Any]:
        outcome = registrations().register(request, client=app.current_event.request_context.http.source_ip)
        registration = outcome.registration
        logger.info(
            "registration answered",
            extra={
                "registration_id": registration.registration_id,
                "seats": len(registration.seats),
                "new_registration": outcome.created,
            },
        )
        if outcome.created:
            metrics.add_metric(name="RegistrationCreated", unit=MetricUnit.Count, value=1)
        status = HTTPStatus.CREATED if outcome.created else HTTPStatus.OK
        return {"status": int(status), "body": RegistrationCreated.of(outcome.registration).as_answer()}

    key = header(app.current_event, "Idempotency-Key")
    if key is None:
        answer = register()
    elif not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
        raise InvalidRequest([FieldError("Idempotency-Key", "Use 1 to 255 printable ASCII characters.")])
    else:
        answer = idempotent_requests().run(
            scope="POST /registrations",
            key=key,
            fingerprint=request_fingerprint(request),
            work=register,
            context=app.lambda_context,
        )
    location = f"/registrations/{answer['body']['registration_id']}"
    return json_response(answer["status"], answer["body"], Location=location)


@app.get("/registrations/<registration_id>")
def get_registration(registration_id: str) -> Response[str]:
    registration = registrations().get(registration_id)
    return json_response(HTTPStatus.OK, RegistrationSummary.of(registration))


@app.get("/openapi.json")
def get_openapi() -> Response[str]:
    # Imported when asked for: the document describes every function's models (admin, attendance,
    # certificates), which the registration path never needs at a cold start.
    from shared.api.openapi import openapi_document

    return json_response(HTTPStatus.OK, openapi_document("Conference backend"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not os.environ.get("SITE_URL") and (domain := event.get("requestContext", {}).get("domainName")):
        # Neither SiteUrl nor DomainName given: the stack serves the site itself at the address it was called at
        # (the template cannot name the API's address to a function on it: that would be a circular dependency).
        os.environ["SITE_URL"] = f"https://{domain}"
    return app.resolve(event, context)
