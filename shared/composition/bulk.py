from __future__ import annotations

from shared.adapters.dynamodb_jobs import DynamoJobRepository, DynamoRegistrationPages
from shared.adapters.ses_mailer import account_send_rate
from shared.adapters.sqs_jobs import SqsWorkQueue
from shared.composition.certificates import certificate_service
from shared.composition.reactions import reaction_service
from shared.composition.reminders import reminder_service
from shared.jobs.models import Claimed, Job, JobKind
from shared.jobs.pacing import Pacer, worker_rate
from shared.jobs.service import BulkWorker
from shared.registration.status import RegistrationStatus
from shared.settings import BulkSenderSettings


def worker_pacer(settings: BulkSenderSettings) -> Pacer:
    """This worker's share of the sending rate: the account's quota (read once per process), capped by the stack's."""
    rate = worker_rate(
        account_rate=account_send_rate(), cap=settings.max_send_rate, concurrency=settings.sender_concurrency
    )
    return Pacer(rate)


def bulk_worker(settings: BulkSenderSettings, pacer: Pacer) -> BulkWorker:
    certificates = certificate_service(settings)
    reminders = reminder_service(settings)
    reactions = reaction_service(settings, pacer)

    def claim_certificate(
        job: Job, registration_id: str, attendee_id: str, status: RegistrationStatus
    ) -> Claimed | None:
        return certificates.claim(job.job_id, attendee_id, status)

    def claim_reminder(job: Job, registration_id: str, attendee_id: str, status: RegistrationStatus) -> Claimed | None:
        return reminders.claim(job.job_id, registration_id, attendee_id, job.reminder or "")

    return BulkWorker(
        jobs=DynamoJobRepository(settings.table_name),
        queue=SqsWorkQueue(settings.jobs_queue_url),
        registrations=DynamoRegistrationPages(settings.table_name),
        claimers={JobKind.CERTIFICATES: claim_certificate, JobKind.REMINDER: claim_reminder},
        send=reactions.deliver,
    )
