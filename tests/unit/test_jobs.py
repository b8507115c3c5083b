"""Bulk sends as queued jobs, with the in-memory fakes: pages and batches that never grow with the event, each
attendee claimed and mailed exactly once however often a task is delivered or SES throttles, progress counted
once per page and batch, and the pacing of one worker's sends."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from shared.certificates.ids import CertificateKeys
from shared.certificates.service import CANDIDATE_STATUSES, CertificateService
from shared.clock import FixedClock
from shared.email import Email
from shared.errors import NotFound
from shared.events.schedules import reminder_time
from shared.jobs.models import Claimed, Job, JobKind, Outcome, SendTask
from shared.jobs.pacing import SLOWEST_INTERVAL, PacedMailer, Pacer, worker_rate
from shared.jobs.ports import Claimer
from shared.jobs.service import BATCH_SEATS, BatchThrottled, BulkWorker, JobService
from shared.reactions.models import EmailKind, OutboxEmail, OutboxStatus
from shared.reactions.ports import MailThrottled
from shared.reactions.reminders import HOLDS_SEAT, ReminderService
from shared.reactions.routing import Reaction, ReactionKind, route
from shared.reactions.service import ReactionService
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus
from tests.support.fakes_events import catalog_of
from tests.support.fakes_jobs import InMemoryJobs, InMemoryQueue, InMemoryRegistrationPages
from tests.support.fakes_reactions import (
    CONFERENCE,
    InMemoryAttendance,
    InMemoryCertificateFiles,
    InMemoryCertificates,
    InMemoryTable,
    RecordingMailer,
    group,
    individual,
)

WALL = datetime(2020, 7, 29, 14, tzinfo=UTC)
CONFERENCE_END = datetime(2020, 8, 8, 3, 30, tzinfo=UTC)
KEYS = CertificateKeys(current="1", keys={"1": b"\x11" * 32})


class Stack:
    """The domain of one stack with fakes: the trigger's service, one worker, and the queue between them."""

    def __init__(self, *, reminder_time_now: datetime) -> None:
        self.table = InMemoryTable(FixedClock(WALL))
        self.mailer = RecordingMailer()
        self.attendance = InMemoryAttendance()
        certificates = InMemoryCertificates(self.table)
        self.reactions = ReactionService(
            events=catalog_of(CONFERENCE),
            repository=self.table,
            mailer=self.mailer,
            wall_clock=FixedClock(WALL),
            site_url="https://conference.example.org/",
            certificates=InMemoryCertificateFiles(certificates),
            pause=lambda _: None,
        )
        self.reminders = ReminderService(
            events=catalog_of(CONFERENCE), repository=self.table, conference_clock=FixedClock(reminder_time_now)
        )
        self.certificates = CertificateService(
            events=catalog_of(CONFERENCE),
            repository=certificates,
            attendance=self.attendance,
            keys=KEYS,
            conference_clock=FixedClock(CONFERENCE_END),
            wall_clock=FixedClock(WALL),
        )
        self.jobs = InMemoryJobs()
        self.queue = InMemoryQueue()
        self.pages = InMemoryRegistrationPages(self.table)
        self.service = JobService(jobs=self.jobs, queue=self.queue, wall_clock=FixedClock(WALL))
        self.worker = BulkWorker(
            jobs=self.jobs,
            queue=self.queue,
            registrations=self.pages,
            claimers={
                JobKind.CERTIFICATES: self._counted(lambda job, _r, a, s: self.certificates.claim(job.job_id, a, s)),
                JobKind.REMINDER: self._counted(
                    lambda job, r, a, _s: self.reminders.claim(job.job_id, r, a, job.reminder or "")
                ),
            },
            send=self.reactions.deliver,
        )
        self.batch_sizes: list[int] = []
        self.claims: Counter[str] = Counter()  # attendee id -> claims

    def _counted(self, claim: Claimer) -> Claimer:
        def counted(job: Job, registration_id: str, attendee_id: str, status: RegistrationStatus) -> Claimed | None:
            self.claims[attendee_id] += 1
            return claim(job, registration_id, attendee_id, status)

        return counted

    def paid(self, registration: Registration) -> Registration:
        self.table.save(registration)
        self.reactions.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
        return registration

    def run(self, *, twice: bool = False, throttled_kept: bool = False) -> Counter[Outcome]:
        """Every task to the end, as the worker's handler plays them: a throttled batch's rest goes back on the
        queue. `throttled_kept`: the throttled message comes back too (the worker stopped before deleting it)."""
        outcomes: Counter[Outcome] = Counter()
        while (task := self.queue.take()) is not None:
            if isinstance(task, SendTask):
                self.batch_sizes.append(len(task.seats))
            for _ in range(2 if twice else 1):  # a message delivered again (SQS delivers at least once)
                try:
                    outcomes += self.worker.handle(task)
                except BatchThrottled as throttled:
                    self.queue.put([throttled.rest, *([task] if throttled_kept else [])], delay_seconds=30)
                    break
        return outcomes

    def reminders_to(self) -> Counter[str]:
        return Counter(m.to.address for m in self.mailer.sent if m.kind == "reminder")


@pytest.fixture
def stack() -> Stack:
    return Stack(reminder_time_now=reminder_time(CONFERENCE, "day"))


def seated(stack: Stack, individuals: int, groups: tuple[int, ...]) -> list[str]:
    registrations = [stack.paid(individual()) for _ in range(individuals)] + [stack.paid(group(n)) for n in groups]
    stack.mailer.sent.clear()  # the confirmations
    return [seat.email for registration in registrations for seat in registration.seats]


def test_a_reminder_job_mails_every_seat_holder_once_in_pages_and_batches_that_do_not_grow(stack) -> None:
    # Given 40 individuals and groups of 50 and 30 (more than a page of registrations, several batches)
    emails = seated(stack, 40, (50, 30))
    # When the day's reminder job runs to its end, every task delivered twice
    job = stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    assert stack.service.view(job.job_id).state == "queued"
    stack.run(twice=True)
    # Then each of the 120 got one reminder, and the job says so
    assert stack.reminders_to() == Counter(emails)
    view = stack.service.view(job.job_id)
    assert (view.queued, view.done, view.sent, view.failed, view.state) == (120, 120, 120, 0, "done")
    # And no task held more than a batch; each page was read once per delivery, and a page delivered twice put
    # the pages after it once (paid: 42 registrations in 2 pages; every other status holding a seat: 1 empty page)
    assert max(stack.batch_sizes) <= BATCH_SEATS
    assert stack.pages.pages_read == 2 * (2 + len(HOLDS_SEAT) - 1)


def test_a_send_reads_nothing_its_claim_and_check_have_just_read(stack) -> None:
    # Given 30 seat holders, every read of an attendee and of an outbox entry counted
    seated(stack, 10, (20,))
    reads: Counter[str] = Counter()
    for name in ("attendee", "email"):
        method = getattr(stack.table, name)

        def counted(*args, _method=method, _name=name):
            reads[_name] += 1
            return _method(*args)

        setattr(stack.table, name, counted)
    # When the day's reminder job runs to its end
    stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    stack.run()
    # Then each attendee was read twice (the claim; the send's check, whose read the reminder's code is added to)
    # and no outbox entry was read back: each was new, as its claim wrote it
    assert sum(stack.reminders_to().values()) == 30
    assert reads == {"attendee": 2 * 30}


def test_a_second_job_mails_nobody_again_and_counts_them_as_mailed_before(stack) -> None:
    seated(stack, 3, (2,))
    stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    stack.run()
    again = stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    stack.run()
    view = stack.service.view(again.job_id)
    assert (view.queued, view.done, view.sent, view.state) == (5, 5, 0, "done")
    assert sum(stack.reminders_to().values()) == 5


def throttling(stack: Stack, sends: set[int]) -> None:
    """SES throttles these sends (numbered from 1)."""
    answers = iter(range(1, 1000))
    send = stack.mailer.send

    def flaky(email: Email) -> str:
        if next(answers) in sends:
            raise MailThrottled("TooManyRequestsException")
        return send(email)

    stack.mailer.send = flaky  # type: ignore[method-assign]  # the fake's send, replaced for this test


def test_ses_throttling_puts_the_rest_of_the_batch_back_and_loses_or_doubles_no_mail(stack) -> None:
    # Given 60 seat holders, and SES throttling the 5th, 6th and 30th sends
    emails = seated(stack, 10, (50,))
    job = stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    throttling(stack, {5, 6, 30})
    stack.run()
    # Then the throttled batches came back (later), and everyone has exactly one reminder
    assert stack.reminders_to() == Counter(emails)
    view = stack.service.view(job.job_id)
    assert (view.queued, view.sent, view.state) == (60, 60, "done")
    # And only the seats throttled were claimed again: what was sent before them was not visited twice
    assert sum(stack.claims.values()) == 60 + 3
    # And nothing was left pending or leased in the outbox
    assert {e.status for e in stack.table.outbox.values() if e.kind is EmailKind.REMINDER} == {OutboxStatus.SENT}


def test_a_throttled_batch_delivered_again_beside_its_rest_counts_each_seat_once(stack) -> None:
    # Given a batch throttled at its 5th send whose message comes back as well as its rest
    emails = seated(stack, 10, (50,))
    job = stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="day")
    throttling(stack, {5})
    stack.run(throttled_kept=True)
    # Then everyone has one reminder, and the job counts 60 sent: one of the batch's two counts held
    assert stack.reminders_to() == Counter(emails)
    view = stack.service.view(job.job_id)
    assert (view.queued, view.done, view.sent, view.state) == (60, 60, 60, "done")


def test_a_certificate_job_mails_the_eligible_and_counts_the_others_as_owed_nothing() -> None:
    stack = Stack(reminder_time_now=WALL)
    registrations = [stack.paid(individual()) for _ in range(4)]
    for n, registration in enumerate(registrations):
        stack.attendance.attend(registration.seats[0].attendee_id, 1.0 if n < 3 else 0.2, CONFERENCE)
    stack.mailer.sent.clear()
    job = stack.service.start(JobKind.CERTIFICATES, "nasro-2020", CANDIDATE_STATUSES)
    stack.run(twice=True)
    certificates = [m for m in stack.mailer.sent if m.kind == "certificate"]
    assert len(certificates) == 3 == len({m.to.address for m in certificates})
    view = stack.service.view(job.job_id)
    assert (view.queued, view.done, view.sent, view.state) == (4, 4, 3, "done")


def test_an_unknown_job_is_not_found(stack) -> None:
    with pytest.raises(NotFound):
        stack.service.view("job_unknown")


def test_the_stream_leaves_a_job_s_outbox_entries_to_its_worker() -> None:
    entry = OutboxEmail(registration_id="reg_1", kind=EmailKind.REMINDER, attendee_id="att_1", reminder="day")
    image = {"entity": "outbox", "email_key": entry.key, **entry.model_dump(mode="json")}
    assert route("INSERT", None, image) is not None
    assert route("INSERT", None, image | {"job_id": "job_1"}) is None


class TestPacing:
    def test_the_rate_is_the_lower_of_the_account_s_and_the_cap_shared_by_the_workers(self) -> None:
        assert worker_rate(account_rate=14, cap=100, concurrency=7) == 2
        assert worker_rate(account_rate=500, cap=100, concurrency=5) == 20
        assert worker_rate(account_rate=None, cap=10, concurrency=5) == 2

    def test_sends_are_spaced_at_the_rate_and_a_throttle_halves_it(self) -> None:
        now = [0.0]
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(round(seconds, 6))
            now[0] += seconds

        pacer = Pacer(4, clock=lambda: now[0], sleep=sleep)
        mailer = RecordingMailer()
        paced = PacedMailer(mailer, pacer)
        stack = Stack(reminder_time_now=WALL)
        email = stack.reactions._compose(  # any real message will do
            stack.paid(individual()), stack.table.emails(next(iter(stack.table.registrations)))[0]
        )
        for _ in range(3):
            paced.send(email)
        assert slept == [0.25, 0.25]
        mailer.throttle()
        with pytest.raises(MailThrottled):
            paced.send(email)
        assert pacer.interval == 0.5
        for _ in range(10):
            paced.send(email)
        assert pacer.interval == 0.25  # recovered, never faster than its share
        for _ in range(10):
            pacer.slow_down()
        assert pacer.interval == SLOWEST_INTERVAL


def test_a_job_records_what_it_was_started_for(stack) -> None:
    job = stack.service.start(JobKind.REMINDER, "nasro-2020", HOLDS_SEAT, reminder="week")
    assert stack.jobs.jobs[job.job_id] == Job(
        job_id=job.job_id,
        kind=JobKind.REMINDER,
        event_id="nasro-2020",
        reminder="week",
        statuses=HOLDS_SEAT,
        created_at=WALL,
    )


def test_a_csv_in_pieces_is_the_same_document() -> None:
    from shared.exports.csv_document import csv_chunks, csv_document

    rows = [(n, "=SUM(A1)", "Łukasz") for n in range(500)]
    pieces = list(csv_chunks(("n", "formula", "name"), rows, size=1000))
    assert len(pieces) > 5 and all(len(p) < 1100 for p in pieces[:-1])
    assert b"".join(pieces) == csv_document(("n", "formula", "name"), rows)
