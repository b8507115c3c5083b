"""In-memory fakes of the bulk jobs' ports (shared/jobs/ports.py): the counts, the queue, pages of registrations."""

from __future__ import annotations

from collections.abc import Sequence

from shared.jobs.models import Job, JobCounts
from shared.jobs.ports import Task
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus
from tests.support.fakes_reactions import InMemoryTable


class InMemoryJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.counts: dict[str, dict[str, JobCounts]] = {}  # job id -> key -> counts added under it
        self.enumerated: set[str] = set()

    def create(self, job: Job) -> None:
        self.jobs[job.job_id] = job
        self.counts[job.job_id] = {}

    def job(self, job_id: str) -> tuple[Job, JobCounts, bool] | None:
        if job_id not in self.jobs:
            return None
        added = self.counts[job_id].values()
        totals = {name: sum(getattr(c, name) for c in added) for name in JobCounts.model_fields}
        return self.jobs[job_id], JobCounts(**totals), job_id in self.enumerated

    def record(self, job: Job, key: str, counts: JobCounts) -> bool:
        if key in self.counts[job.job_id]:
            return False
        self.counts[job.job_id][key] = counts
        return True

    def recorded(self, job: Job, key: str) -> bool:
        return key in self.counts[job.job_id]

    def mark_enumerated(self, job: Job) -> None:
        self.enumerated.add(job.job_id)


class InMemoryQueue:
    """The queue: tasks in order; `delays` records each put's delay."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.delays: list[int] = []
        self.puts = 0

    def put(self, tasks: Sequence[Task], *, delay_seconds: int = 0) -> None:
        self.puts += 1
        self.tasks += tasks
        self.delays += [delay_seconds] * len(tasks)

    def take(self) -> Task | None:
        if not self.tasks:
            return None
        self.delays.pop(0)
        return self.tasks.pop(0)


class InMemoryRegistrationPages:
    """Pages of the table's registrations with a status, oldest first; the cursor is the next offset."""

    def __init__(self, table: InMemoryTable) -> None:
        self._table = table
        self.pages_read = 0

    def page(
        self, event_id: str, status: RegistrationStatus, cursor: str | None, limit: int
    ) -> tuple[list[Registration], str | None]:
        self.pages_read += 1
        every = list(self._table.registrations_with_status(event_id, status))
        start = int(cursor or 0)
        end = start + limit
        return every[start:end], str(end) if end < len(every) else None
