"""Bulk sends as jobs: a trigger (an organiser's route, an event's schedule) starts one and returns at once; the
queue carries its work in pages, and the organisers follow its counts (GET /admin/jobs/{job_id})."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict

from shared.models import Model
from shared.reactions.models import OutboxEmail
from shared.registration.status import RegistrationStatus


class JobKind(StrEnum):
    CERTIFICATES = "certificates"
    REMINDER = "reminder"


class Job(Model):
    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: JobKind
    event_id: str
    reminder: str | None = None  # which reminder (week, day, hour) a reminder job sends
    # The registration statuses whose seats the job visits, in order (paid; and disputed for reminders).
    statuses: tuple[RegistrationStatus, ...]
    created_at: datetime


class Outcome(StrEnum):
    """What became of one attendee of a job."""

    SENT = "sent"  # mailed by this job
    ALREADY = "already"  # mailed before (an earlier job, the stream, or this job's earlier delivery of the batch)
    NOT_OWED = "not_owed"  # not eligible, not an active seat any more, or the mail was no longer owed
    FAILED = "failed"  # SES refused the message for good (the organiser sees the address as undeliverable)


class JobCounts(Model):
    model_config = ConfigDict(frozen=True)

    queued: int = 0  # attendees put on the queue
    sent: int = 0
    already: int = 0
    not_owed: int = 0
    failed: int = 0

    @classmethod
    def of(cls, outcomes: Mapping[Outcome, int]) -> JobCounts:
        return cls(**{outcome.value: n for outcome, n in outcomes.items()})

    def __add__(self, other: JobCounts) -> JobCounts:
        mine, theirs = self.model_dump(), other.model_dump()
        return JobCounts(**{name: mine[name] + theirs[name] for name in mine})


class JobView(Model):
    """GET /admin/jobs/{job_id}: done counts every attendee finished (mailed now or before, or owed nothing)."""

    job_id: str
    kind: JobKind
    event_id: str
    queued: int
    done: int
    failed: int
    sent: int  # of done: mailed by this job
    state: Literal["queued", "running", "done"]

    @classmethod
    def of(cls, job: Job, counts: JobCounts, *, enumerated: bool) -> JobView:
        done = counts.sent + counts.already + counts.not_owed
        finished = done + counts.failed
        state: Literal["queued", "running", "done"] = (
            "done" if enumerated and finished >= counts.queued else "running" if counts.queued or finished else "queued"
        )
        return cls(
            job_id=job.job_id,
            kind=job.kind,
            event_id=job.event_id,
            queued=counts.queued,
            done=done,
            failed=counts.failed,
            sent=counts.sent,
            state=state,
        )


class PageTask(Model):
    """One page of the job's registrations (of statuses[status_index], from `cursor`) to put on the queue."""

    model_config = ConfigDict(frozen=True)

    step: Literal["page"] = "page"
    job: Job
    page: int = 0  # numbered from 0 across the statuses: the key of the page's count
    status_index: int = 0
    cursor: str | None = None


class SeatRef(Model):
    model_config = ConfigDict(frozen=True)

    registration_id: str
    attendee_id: str
    status: RegistrationStatus  # the registration's, when its page was read


class SendTask(Model):
    """Some attendees of one page to claim and mail, at most BATCH_SEATS."""

    model_config = ConfigDict(frozen=True)

    step: Literal["send"] = "send"
    job: Job
    batch: str  # <page>-<n>: the key of its counts, written once however often it is delivered
    seats: tuple[SeatRef, ...]
    attempt: int = 0  # how often SES's throttling sent it back (its backoff grows with it)
    # The outcomes of the batch's seats before these (a throttled batch comes back with the seats not yet done):
    # added to the batch's count with the rest, once.
    carried: JobCounts = JobCounts()


@dataclass(frozen=True)
class Claimed:
    """A claim's outbox entry; `new` when the claim created it, so that the send knows it as written."""

    email: OutboxEmail
    new: bool
