"""What a bulk send needs from outside: the jobs' counts, the work queue, pages of registrations, and per kind
of job the claim (the existing conditional write that makes an attendee's mail owed once) and the send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared.jobs.models import Claimed, Job, JobCounts, PageTask, SendTask
from shared.reactions.models import OutboxEmail
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus

Task = PageTask | SendTask


class JobRepository(Protocol):
    def create(self, job: Job) -> None: ...

    def job(self, job_id: str) -> tuple[Job, JobCounts, bool] | None:
        """The job, its counts summed over their shards, and whether every page has been put on the queue."""

    def record(self, job: Job, key: str, counts: JobCounts) -> bool:
        """Add a page's or a batch's counts once: False (nothing added) if `key` was recorded before."""

    def recorded(self, job: Job, key: str) -> bool:
        """Whether a page's or a batch's counts were added."""

    def mark_enumerated(self, job: Job) -> None: ...


class WorkQueue(Protocol):
    def put(self, tasks: Sequence[Task], *, delay_seconds: int = 0) -> None: ...


class RegistrationPages(Protocol):
    def page(
        self, event_id: str, status: RegistrationStatus, cursor: str | None, limit: int
    ) -> tuple[list[Registration], str | None]:
        """Up to `limit` registrations with the status, oldest first, and the cursor of the next page (None: last)."""


class Claimer(Protocol):
    def __call__(self, job: Job, registration_id: str, attendee_id: str, status: RegistrationStatus) -> Claimed | None:
        """The attendee's outbox entry for this job, created if it is owed and new (the existing claim: one per
        attendee however often it runs); None if the attendee is owed nothing."""


class Sender(Protocol):
    def __call__(self, email: OutboxEmail, *, new: bool = False) -> OutboxEmail:
        """Send the entry if it is still owed (leased and recorded as every email is); the entry as it ends. `new`:
        the entry is as the claim just created it (not read again). Raises MailThrottled when SES asks to slow down
        (nothing went out, the entry is pending again)."""
