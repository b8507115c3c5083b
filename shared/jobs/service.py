"""Bulk sends as queued fan-outs: starting a job, its pages, its batches of attendees, and its progress.

No step grows with the number of attendees: the trigger writes the job and puts its first page on the queue; a
page task reads one page of registrations, puts their seats on the queue in batches and then the next page; a
send task claims and mails at most BATCH_SEATS attendees. Each attendee is claimed exactly once however often a
task is delivered (the claim and the outbox are the existing conditional writes); each page's and batch's counts
are added once (keyed by page or batch), on one of several counter items, so no item takes every write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from shared.clock import Clock
from shared.errors import NotFound
from shared.ids import new_id
from shared.jobs.models import Claimed, Job, JobCounts, JobKind, JobView, Outcome, PageTask, SeatRef, SendTask
from shared.jobs.ports import Claimer, JobRepository, RegistrationPages, Sender, Task, WorkQueue
from shared.reactions.models import OutboxStatus
from shared.reactions.ports import MailThrottled
from shared.registration.status import RegistrationStatus

PAGE_REGISTRATIONS = 25  # a page task reads this many registrations (a group has up to 50 seats)
BATCH_SEATS = 25  # a send task's attendees: at a worker's share of a 14/s quota, well inside its timeout

_FINAL = {OutboxStatus.FAILED: Outcome.FAILED, OutboxStatus.SKIPPED: Outcome.NOT_OWED}


class BatchThrottled(MailThrottled):
    """SES throttled a send: `rest` is the batch from that seat on, with what the seats before it came to (it goes
    back on the queue, so that a retry does not claim again what is done)."""

    def __init__(self, rest: SendTask) -> None:
        super().__init__(f"batch {rest.batch} throttled with {len(rest.seats)} seats left")
        self.rest = rest


class JobService:
    def __init__(
        self, *, jobs: JobRepository, queue: WorkQueue, wall_clock: Clock, ids: Callable[[], str] | None = None
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._clock = wall_clock
        self._ids = ids or (lambda: new_id("job"))

    def start(
        self, kind: JobKind, event_id: str, statuses: tuple[RegistrationStatus, ...], *, reminder: str | None = None
    ) -> Job:
        job = Job(
            job_id=self._ids(),
            kind=kind,
            event_id=event_id,
            reminder=reminder,
            statuses=statuses,
            created_at=self._clock.now(),
        )
        self._jobs.create(job)  # before its first task, so that its counts always have a job to add to
        self._queue.put([PageTask(job=job)])
        return job

    def view(self, job_id: str) -> JobView:
        found = self._jobs.job(job_id)
        if found is None:
            raise NotFound("No job has this id.")
        job, counts, enumerated = found
        return JobView.of(job, counts, enumerated=enumerated)


class BulkWorker:
    """One queue task at a time: a page of registrations, or a batch of attendees to claim and mail."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        queue: WorkQueue,
        registrations: RegistrationPages,
        claimers: Mapping[JobKind, Claimer],
        send: Sender,
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._registrations = registrations
        self._claimers = claimers
        self._send = send

    def handle(self, task: Task) -> Counter[Outcome]:
        if isinstance(task, PageTask):
            self._page(task)
            return Counter()
        return self._batch(task)

    def _page(self, task: PageTask) -> None:
        job = task.job
        status = job.statuses[task.status_index]
        registrations, cursor = self._registrations.page(job.event_id, status, task.cursor, PAGE_REGISTRATIONS)
        seats = [
            SeatRef(registration_id=r.registration_id, attendee_id=seat.attendee_id, status=r.status)
            for r in registrations
            for seat in r.seats
        ]
        batches = [
            SendTask(job=job, batch=f"{task.page}-{n}", seats=tuple(seats[start : start + BATCH_SEATS]))
            for n, start in enumerate(range(0, len(seats), BATCH_SEATS))
        ]
        following: list[Task] = []
        if cursor is not None:
            following.append(task.model_copy(update={"page": task.page + 1, "cursor": cursor}))
        elif task.status_index + 1 < len(job.statuses):
            following.append(
                task.model_copy(update={"page": task.page + 1, "status_index": task.status_index + 1, "cursor": None})
            )
        key = f"page-{task.page}"
        if not self._jobs.recorded(job, key):
            # The batches, the next page, then the count: a delivery again after a crash puts the same batches
            # again (their claims and counts are once-only); once counted, a copy of the task stops here, so a
            # duplicate never duplicates the pages after it.
            self._queue.put(batches)
            self._queue.put(following)
            self._jobs.record(job, key, JobCounts(queued=len(seats)))
        if not following:
            self._jobs.mark_enumerated(job)  # after the last page's count: the job is done only once all are counted

    def _batch(self, task: SendTask) -> Counter[Outcome]:
        job = task.job
        claim = self._claimers[job.kind]
        outcomes: Counter[Outcome] = Counter()
        for n, seat in enumerate(task.seats):
            try:
                claimed = claim(job, seat.registration_id, seat.attendee_id, seat.status)
                outcome = Outcome.NOT_OWED if claimed is None else self._sent(job, claimed)
            except MailThrottled as throttled:
                rest = {"seats": task.seats[n:], "carried": task.carried + JobCounts.of(outcomes)}
                raise BatchThrottled(task.model_copy(update=rest | {"attempt": task.attempt + 1})) from throttled
            outcomes[outcome] += 1
        # Only a batch that ended is counted, with what it carried from its throttled deliveries. A delivery again of
        # a batch that was throttled (its message not deleted) counts the same seats the same way: one of the two
        # records holds.
        self._jobs.record(job, f"batch-{task.batch}", task.carried + JobCounts.of(outcomes))
        return outcomes

    def _sent(self, job: Job, claimed: Claimed) -> Outcome:
        final = self._send(claimed.email, new=claimed.new)
        if final.status is OutboxStatus.SENT:
            return Outcome.SENT if final.job_id == job.job_id else Outcome.ALREADY
        if final.status in _FINAL:
            return _FINAL[final.status]
        raise RuntimeError(f"the email {final.key} is still {final.status}")  # the task is retried
