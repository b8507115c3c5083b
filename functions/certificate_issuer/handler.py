"""CertificateIssuer (each event's schedule, after its last session): starts the job that makes and mails a
certificate for every eligible attendee of the event the schedule names (its payload's `event_id`; without one,
the featured event). It returns at once: the jobs queue's workers do the work (shared/jobs)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.certificates.service import CANDIDATE_STATUSES
from shared.composition.common import event_catalog
from shared.composition.jobs import job_service
from shared.jobs.models import JobKind
from shared.jobs.service import JobService
from shared.observability import logger, metrics, tracer
from shared.settings import JobSettings


@cache
def settings() -> JobSettings:
    return JobSettings.from_environment()


@cache
def jobs() -> JobService:
    return job_service(settings())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    catalog = event_catalog(settings())
    event_id = str(event.get("event_id") or catalog.featured_id())
    catalog.conference(event_id)  # NotFound for an unknown event, before a job is made
    job = jobs().start(JobKind.CERTIFICATES, event_id, CANDIDATE_STATUSES)
    logger.info("certificates job started", extra={"event_id": event_id, "job_id": job.job_id})
    return {"event_id": event_id, "job_id": job.job_id}
