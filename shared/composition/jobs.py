from __future__ import annotations

from shared.adapters.dynamodb_jobs import DynamoJobRepository
from shared.adapters.sqs_jobs import SqsWorkQueue
from shared.clock import wall_clock
from shared.jobs.service import JobService
from shared.settings import JobSettings


def job_service(settings: JobSettings) -> JobService:
    """Starting and reading jobs (the triggers and the admin routes): nothing of the workers' send is imported."""
    return JobService(
        jobs=DynamoJobRepository(settings.table_name),
        queue=SqsWorkQueue(settings.jobs_queue_url),
        wall_clock=wall_clock,
    )
