"""The fault run: registration -> payment -> confirmation -> login -> attendance -> certificate for a few dozen
attendees while dependencies fail (bench/fault_injection.py), then the proof that nothing was lost or done twice.

Used by `make faults` (bench/faults.py, a private local stack) and by the reduced run in the tests (the session's
stack). Everything is driven in this process and in order, apart from three races started on purpose.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time as timer
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import boto3
import stripe

from bench.fault_injection import (
    DYNAMODB_THROTTLED,
    DYNAMODB_THROTTLED_ONCE,
    SES_REJECTED,
    SES_THROTTLED,
    WEBHOOK_DELAYED,
    WEBHOOK_DUPLICATED,
    WEBHOOK_REORDERED,
    Answer,
    AwsFaults,
    Dice,
    FaultLog,
    Rates,
    WebhookChaos,
)
from bench.traffic import documentation_address
from infra.apigw import HttpResponse, LambdaContext, LocalHttpApi, load_handler
from infra.local_aws import DeployedStack
from infra.local_mailbox import LocalMailbox, SentEmail
from infra.queue_poller import QueuePoller
from infra.serving import BackgroundServer
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import from_item
from shared.adapters.stripe_gateway import STRIPE_TIMEOUT_SECONDS
from shared.clock import conference_clock
from shared.composition.reactions import reaction_service
from shared.conference import load_conference
from shared.events.schedules import REMINDERS, reminder_time
from shared.payments.models import HistoryEntry, describe
from shared.registration.status import ALLOWED_TRANSITIONS, RegistrationStatus
from shared.settings import ReactionSettings

STRIPE_500_RETRIED = "stripe_500_retried_by_sdk"  # one 500: the SDK's retry absorbs it
STRIPE_500 = "stripe_500"  # three 500s in a row: past the SDK's retries
STRIPE_TIMEOUT = "stripe_timeout"  # answered after the client's timeout: the SDK retries under the same key
WEBHOOK_STRIPE_UNREADABLE = "stripe_500_on_webhook_reread"  # the webhook answers 503, Stripe redelivers
CONDITIONAL_RACE = "conditional_check_race"  # concurrent duplicates settled by conditional writes
POISON_RECORD = "stream_poison_record"
# During the reminders SES throttles this share of the sends (their records are retried by the stream).
REMINDER_SES_THROTTLED = 0.35
# EventBridge Scheduler's retries of a run that failed (a throttled table past the SDK's retries), here in a row.
SCHEDULED_RUN_ATTEMPTS = 10
KINDS = (
    SES_THROTTLED,
    SES_REJECTED,
    DYNAMODB_THROTTLED,
    DYNAMODB_THROTTLED_ONCE,
    CONDITIONAL_RACE,
    STRIPE_500_RETRIED,
    STRIPE_500,
    STRIPE_TIMEOUT,
    WEBHOOK_STRIPE_UNREADABLE,
    WEBHOOK_DUPLICATED,
    WEBHOOK_REORDERED,
    WEBHOOK_DELAYED,
    POISON_RECORD,
)
FIRST_NAMES = ["Ana", "Łukasz", "Nguyễn", "Zoë", "Björn", "Amara", "José", "Søren", "Chloé", "Dmitri", "Aoife", "Kwame"]
LAST_NAMES = ["Lopez", "Kowalski", "Văn An", "O'Neil", "Ångström", "Okafor", "García", "Møller", "Dubois", "Ivanov"]
# Watching these makes 510 of the 930 scheduled minutes: over the 50% the policy asks.
ELIGIBLE_SESSIONS = (
    "d1-welcome",
    "d1-town-hall-diverse-students",
    "d1-implicit-bias",
    "d1-defending-sro-programs",
    "d1-trauma-informed",
    "d2-town-hall-covid",
    "d2-violence-after-closures",
)
PARTIAL_SESSIONS = ("d1-welcome",)  # logs in, watches 30 minutes: not eligible
# The attackers (issue 17): one address squatting real registrants' emails before they register, and wrong codes for
# real emails from many addresses before they sign in. Neither may block, reach or lock out anyone.
SQUATTER_IP = "192.0.2.250"
SQUATTER = "Mallory Squatter"
SQUATTED_PEOPLE = 6
WRONG_GUESSES_PER_EMAIL = 45  # more than twice an address's failure limit (20)
RETRIED_CODES = frozenset({"temporarily_unavailable", "payment_provider_unavailable", "registration_in_progress"})
_ID = re.compile(r"/(reg|crt|att)_[^/]+")
SERVER_ERROR_CODES = frozenset({"temporarily_unavailable", "payment_provider_unavailable"})


@dataclass
class Seat:
    first_name: str
    last_name: str
    email: str
    plan: str = "absent"  # eligible | partial | absent (assigned once the seat is paid)
    attendee_id: str = ""
    token: str = ""


@dataclass
class Registration:
    label: str
    kind: str
    seats: list[Seat]
    fate: str  # card | async | refund_after | refund_before | expire | async_failure
    purchaser: str | None = None
    stripe_fault: str | None = None
    webhook_fault: bool = False
    registration_id: str = ""
    session_id: str = ""

    @property
    def expected_status(self) -> str:
        return {
            "card": "paid",
            "async": "paid",
            "refund_after": "refunded",
            "refund_before": "refunded",
            "expire": "expired",
            "async_failure": "cancelled",
        }[self.fate]

    @property
    def was_paid(self) -> bool:
        return self.fate in {"card", "async", "refund_after", "refund_before"}

    def body(self) -> dict[str, Any]:
        people = [
            {
                "first_name": s.first_name,
                "last_name": s.last_name,
                "email": s.email,
                "organization": "Springfield PD",
                "job_title": "School Resource Officer",
            }
            for s in self.seats
        ]
        if self.kind == "group":
            purchaser = {"name": "Chief Ray Park", "email": self.purchaser, "organization": "Springfield PD"}
            return {"kind": "group", "purchaser": purchaser, "attendees": people}
        address = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"}
        return {"kind": "individual", "attendee": people[0] | {"phone": "+1 555 0100"}, "shipping_address": address}


@dataclass
class Report:
    seed: int
    attendees: int
    injected: dict[str, int] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    emails: Counter[str] = field(default_factory=Counter)
    figures: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def violations(self) -> list[str]:
        return [f"{name}: {problem}" for name, problems in self.checks.items() for problem in problems]

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "attendees": self.attendees,
            "seconds": round(self.seconds, 1),
            "injected": self.injected,
            "answers_by_status": dict(sorted(self.answers.items())),
            "emails": dict(sorted(self.emails.items())),
            "figures": self.figures,
            "checks": {name: (problems or "ok") for name, problems in self.checks.items()},
            "violations": len(self.violations),
        }


@dataclass
class Environment:
    """What the run drives: the deployed stack, its HTTP API in-process, the stand-in, the stream mapping and the
    bulk jobs' queue mapping (reminders and certificates are sent by its worker)."""

    stack: DeployedStack
    api: LocalHttpApi
    standin: StripeStandIn
    poller: StreamPoller
    session: boto3.session.Session
    admin_token: str
    queues: Sequence[QueuePoller] = ()


class FaultRun:
    def __init__(
        self,
        env: Environment,
        *,
        attendees: int,
        seed: int,
        rates: Rates | None = None,
        attendance: tuple[str, ...] = ("eligible", "partial", "eligible", "absent"),
    ) -> None:
        self.env = env
        self.attendance_plans = attendance  # cycled over the paid seats: most of the run's time is heartbeats
        self.seed = seed
        self.plan = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
        self.log = FaultLog()
        self.dice = Dice(seed, rates or Rates(), self.log)
        self.answers: list[Answer] = []
        self.problems: list[str] = []
        self.registrations = self._plan(attendees)
        self.attendees = attendees
        self._mailbox = LocalMailbox()
        self._first_email = len(self._mailbox.emails())
        self._answers_lock = threading.Lock()
        self._ip = 0
        self.table = env.stack.resources["MainTable"]
        self.queue_url = env.stack.resources["StreamDeadLetterQueue"]
        self.poison_keys: list[str] = []
        self.certificates_issued: dict[str, Any] = {}
        self.attending: list[Seat] = []
        self.reminder_throttles = 0  # SES throttles injected while the reminders were sent
        self.chaos = WebhookChaos(env.api, self.dice, self.record)

    # The plan

    def _plan(self, attendees: int) -> list[Registration]:
        people = [
            Seat(
                self.plan.choice(FIRST_NAMES),
                self.plan.choice(LAST_NAMES),
                f"attendee{number:03d}.s{self.seed}@example.org",
            )
            for number in range(attendees)
        ]
        registrations: list[Registration] = []
        groups = max(1, attendees // 10)
        for number in range(groups):
            seats, people = people[:3], people[3:]
            purchaser = f"purchaser{number}.s{self.seed}@example.org"
            registrations.append(Registration(f"group {number + 1}", "group", seats, "card", purchaser=purchaser))
        fates = ["refund_before", "refund_after", "async", "expire", "async_failure"]
        for number, person in enumerate(people):
            fate = fates[number] if number < len(fates) else self.plan.choice(["card"] * 6 + ["async", "refund_after"])
            registrations.append(Registration(f"individual {number + 1}", "individual", [person], fate))
        self.plan.shuffle(registrations)
        # Stripe's API faults: every kind at least once, then by chance; one timeout only (it costs 8 s).
        kinds = [STRIPE_500_RETRIED, STRIPE_500, STRIPE_TIMEOUT]
        for position, registration in enumerate(registrations):
            if position < len(kinds):
                registration.stripe_fault = kinds[position]
            elif self.plan.random() < 0.25:
                registration.stripe_fault = self.plan.choice([STRIPE_500_RETRIED, STRIPE_500])
            registration.webhook_fault = position == len(kinds) or self.plan.random() < 0.2
        return registrations

    # Requests, each answer recorded

    def record(self, answer: Answer) -> None:
        with self._answers_lock:
            self.answers.append(answer)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        ip: str = "127.0.0.1",
        bad_input: bool = False,
        retry: bool = True,
    ) -> HttpResponse:
        sent = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        merged = {"content-type": "application/json"} | (headers or {})
        route = f"{method} {_ID.sub(lambda found: '/{' + found[1] + '_id}', path)}"
        for _ in range(30):
            try:
                response = self.env.api.request(method, path, query=query, headers=merged, body=sent, source_ip=ip)
            except Exception as error:  # the function raised past its error handler: a 500 at API Gateway
                self.problems.append(f"{route} raised {type(error).__name__}")
                response = HttpResponse(500, {"content-type": "text/plain"}, b"")
            answer = Answer.of(route, response, bad_input=bad_input)
            self.record(answer)
            if retry and answer.code in RETRIED_CODES:
                timer.sleep(0.05)
                continue
            return response
        self.problems.append(f"{route}: still {response.status} after 30 tries")
        return response

    def admin(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        return self.call(method, path, headers={"authorization": f"Bearer {self.env.admin_token}"}, **kwargs)

    def next_ip(self) -> str:
        """A new client address, from the three documentation ranges (RFC 5737)."""
        self._ip += 1
        return documentation_address(self._ip - 1)

    # Draining: webhooks (held ones included) and the stream, until nothing is pending

    def drain(self) -> None:
        for _ in range(500):
            if not self.env.standin.wait_idle(60):
                raise RuntimeError("the Stripe stand-in stayed busy for a minute")
            if self.chaos.flush() or self.chaos.holding:
                continue
            if self.env.poller.has_pending():
                self.env.poller.poll_once()
                continue
            if pending := [queue for queue in self.env.queues if queue.has_pending()]:
                if not sum(queue.poll_once() for queue in pending):
                    timer.sleep(0.05)  # only delayed tasks (a throttled batch's retry): wait without spinning
                continue
            if self.env.standin.wait_idle(0) and not self.chaos.holding:
                return
        raise RuntimeError("still busy after 500 rounds")

    # The run

    def run(self) -> Report:
        started = timer.monotonic()
        faults = AwsFaults(self.dice).install()
        previous_url = self.env.standin.webhook_url
        server = BackgroundServer(self.chaos, name="webhook-chaos").start()
        self.env.standin.webhook_url = f"{server.url}/webhooks/stripe"
        conference = load_conference()
        try:
            two_weeks_before = datetime.combine(conference.starts_on - timedelta(days=14), time(9), conference.zone)
            conference_clock.travel_to(two_weeks_before)
            self._squat()
            self._register_all()
            self._pay_all()
            self._lock_out()
            self._races()
            self._refund_after()
            self._bad_input()
            self._reminders(conference)
            self._attend(conference)
            self._issue_certificates(conference)
        finally:
            self.env.standin.webhook_url = previous_url
            faults.uninstall()
            server.stop()
        report = Report(self.seed, self.attendees)
        report.seconds = timer.monotonic() - started
        self._check(report)
        return report

    def _register_all(self) -> None:
        for registration in self.registrations:
            self._stripe_fault(registration.stripe_fault)
            answer = self.call("POST", "/registrations", body=registration.body(), ip=self.next_ip())
            if answer.status != 201:
                self.problems.append(f"{registration.label}: registration answered {answer.status}")
                continue
            created = answer.json()
            registration.registration_id = created["registration_id"]
            registration.session_id = created["checkout_url"].rsplit("/", 1)[-1]

    def _squat(self) -> None:
        """Before the real people register, one address names their emails: as individuals under the squatter's
        name, and all in one fake group. Seats are held by payment: it blocks nobody and is never paid."""
        people = [seat for registration in self.registrations for seat in registration.seats][:SQUATTED_PEOPLE]
        first, last = SQUATTER.split()
        for seat in people:
            body = Registration("squatter", "individual", [Seat(first, last, seat.email)], "expire").body()
            answer = self.call("POST", "/registrations", body=body, ip=SQUATTER_IP)
            if answer.status != 201:
                self.problems.append(f"a squatter's registration answered {answer.status}")
        fake_group = Registration("squatters' group", "group", [Seat(first, last, s.email) for s in people], "expire")
        fake_group.purchaser = "mallory@squat.example"
        if self.call("POST", "/registrations", body=fake_group.body(), ip=SQUATTER_IP).status != 201:
            self.problems.append("the squatters' group was refused")

    def _lock_out(self) -> None:
        """Wrong codes for real emails from many addresses, before anyone signs in: the right code must still work
        (checked by every sign-in of the attendance that follows, each from an address of its own)."""
        targets = [
            seat.email for registration in self.registrations if registration.was_paid for seat in registration.seats
        ]
        for email in targets[:3]:
            for _ in range(WRONG_GUESSES_PER_EMAIL):
                answer = self.call(
                    "POST",
                    "/logins",
                    body={"email": email, "access_code": "AAAA-BBBB-CCCC-DDDD-EEEE"},
                    ip=self.next_ip(),
                )
                if answer.status != 401:
                    self.problems.append(f"a wrong code answered {answer.status}")

    def _stripe_fault(self, kind: str | None) -> None:
        standin = self.env.standin
        if kind == STRIPE_500_RETRIED:
            standin.fail_next("POST", "/v1/checkout/sessions", status=500, times=1)
            self.log.counts[kind] += 1
        elif kind == STRIPE_500:
            standin.fail_next("POST", "/v1/checkout/sessions", status=500, times=3)
            self.log.counts[kind] += 3
        elif kind == STRIPE_TIMEOUT:
            standin.delay_next("POST", "/v1/checkout/sessions", seconds=STRIPE_TIMEOUT_SECONDS + 0.5)
            self.log.counts[kind] += 1

    def _pay_all(self) -> None:
        paid = [r for r in self.registrations if r.session_id]
        for position, registration in enumerate(paid):
            if registration.webhook_fault:
                # The webhook's re-read of the session fails past the SDK's retries: 503, Stripe redelivers.
                self.env.standin.fail_next("GET", "/v1/checkout/sessions", status=500, times=3)
                self.log.counts[WEBHOOK_STRIPE_UNREADABLE] += 1
            if registration.fate == "expire":
                self.env.standin.expire(registration.session_id)
            else:
                flow = {"async": "async_success", "async_failure": "async_failure"}.get(registration.fate, "card")
                self.env.standin.pay(registration.session_id, flow)
            if registration.fate == "refund_before":
                self._refund_at_stripe(registration)  # before the stream has seen the payment
            if position == len(paid) // 2:
                self._poison()  # mid-flow: the poison lands in a batch among real records
            assert self.env.standin.wait_idle(60)
        self._poison()
        self.drain()

    def _refund_at_stripe(self, registration: Registration) -> None:
        client = stripe.StripeClient(self.env.standin.api_key, base_addresses={"api": self.env.standin.public_url})
        intent = client.v1.checkout.sessions.retrieve(registration.session_id).payment_intent
        client.v1.refunds.create(params={"payment_intent": str(intent)})

    def _poison(self) -> None:
        """An outbox item without its email key (a hand edit, a writer of another version): routing it fails
        on every delivery, so its batch fails mid-way and, after the mapping's retries, goes to the DLQ."""
        key = f"REG#poison{len(self.poison_keys)}-s{self.seed}"
        item = {"pk": key, "sk": "EMAIL#confirmation#nobody", "entity": "outbox", "registration_id": "reg_poison"}
        self.env.session.client("dynamodb").put_item(
            TableName=self.table, Item={name: {"S": value} for name, value in item.items()}
        )
        self.poison_keys.append(key)
        self.log.counts[POISON_RECORD] += 1

    def _races(self) -> None:
        """Concurrent duplicates, settled only by conditional writes (injection paused: the race is the fault)."""
        with self.dice.paused():
            # One person submits three times at once: one registration, answered 201 / 200 / 409 in progress.
            person = Registration(
                "racer", "individual", [Seat("Rae", "Cerny", f"racer.s{self.seed}@example.org")], "card"
            )
            answers: list[HttpResponse] = []
            self._together(
                3, lambda: answers.append(self.call("POST", "/registrations", body=person.body(), retry=False))
            )
            ids = {a.json()["registration_id"] for a in answers if a.status in {200, 201}}
            codes = sorted(a.status for a in answers)
            if len(ids) != 1 or codes.count(201) != 1 or any(s not in {200, 201, 409} for s in codes):
                self.problems.append(f"racing registrations answered {codes} with {len(ids)} registration ids")
            else:
                created = next(a.json() for a in answers if a.status == 201)
                person.registration_id = created["registration_id"]
                person.session_id = created["checkout_url"].rsplit("/", 1)[-1]
                self.registrations.append(person)
                self.log.counts[CONDITIONAL_RACE] += 1
                # Stripe delivers its completion three times at once.
                (completed,) = [
                    d for d in self.env.standin.pay(person.session_id) if d.type == "checkout.session.completed"
                ]
                self._together(3, lambda: self.env.standin.resend(completed.id))
                self.log.counts[CONDITIONAL_RACE] += 1
            self.drain()

    @staticmethod
    def _together(count: int, action: Callable[[], Any]) -> None:
        barrier = threading.Barrier(count)

        def run() -> None:
            barrier.wait()
            action()

        threads = [threading.Thread(target=run) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _refund_after(self) -> None:
        for registration in self.registrations:
            if registration.fate != "refund_after" or not registration.registration_id:
                continue
            path = f"/admin/registrations/{registration.registration_id}/refund"
            answers: list[HttpResponse] = []

            def refund(path: str = path, answers: list[HttpResponse] = answers) -> None:
                answers.append(self.admin("POST", path))

            with self.dice.paused():  # an organiser's double click
                self._together(2, refund)
            self.log.counts[CONDITIONAL_RACE] += 1
            if sorted(a.status for a in answers) != [202, 202]:
                self.problems.append(f"double refund answered {[a.status for a in answers]}")
            assert self.env.standin.wait_idle(60)
        self.drain()

    def _bad_input(self) -> None:
        """Bad requests while the faults go on: each a 4xx problem (503 only if a dependency failed)."""
        person = {"first_name": "Ana", "last_name": "Lopez", "email": "bad.input@example.org", "organization": "PD"}
        address = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"}
        individual = {"kind": "individual", "attendee": person, "shipping_address": address}
        bodies: list[Any] = [
            individual | {"attendee": person | {"email": "not an email"}},
            individual | {"attendee": person | {"first_name": "Ana\r\nBcc: x@example.org"}},
            individual | {"status": "paid"},
            {"kind": "group", "purchaser": {"name": "X"}, "attendees": []},
            [],
        ]
        for body in bodies:
            self.call("POST", "/registrations", body=body, bad_input=True, retry=False)
        self.call("POST", "/registrations", raw=b"{not json", bad_input=True, retry=False)
        self.call("POST", "/registrations", raw=b'{"x": "' + b"a" * 70_000 + b'"}', bad_input=True, retry=False)
        self.call("GET", "/registrations/reg_nope", bad_input=True, retry=False)
        self.call("GET", "/certificates/crt_forged_000", bad_input=True, retry=False)
        login = {"email": self.registrations[0].seats[0].email, "access_code": "AAAA-AAAA-AAAA-AAAA-AAAA"}
        self.call("POST", "/logins", body=login, ip=self.next_ip(), bad_input=True, retry=False)
        self.call(
            "POST",
            "/attendance/heartbeats",
            body={"session_id": "d1-welcome"},
            headers={"authorization": "Bearer nope"},
            bad_input=True,
            retry=False,
        )
        self.call(
            "POST",
            "/webhooks/stripe",
            raw=b'{"id": "evt_1"}',
            headers={"stripe-signature": "t=1,v1=00"},
            bad_input=True,
            retry=False,
        )
        self.call("GET", "/admin/registrations", bad_input=True, retry=False)

    def _reminders(self, conference: Any) -> None:
        """Each reminder at its time, its schedule's run delivered twice (a retried or redriven run), while SES
        throttles a third of the sends: every paid seat still gets each reminder exactly once."""
        function = self.env.stack.functions["RemindersFunction"]
        handler = load_handler(function)
        before = self.log.counts[SES_THROTTLED]
        with self.dice.raised(SES_THROTTLED, REMINDER_SES_THROTTLED):
            for which in REMINDERS:
                conference_clock.travel_to(reminder_time(conference, which) + timedelta(minutes=1))
                event = {"source": "aws.scheduler", "event_id": conference.id, "reminder": which}
                for _ in range(2):
                    self._scheduled_run(handler, function.name, event)
                self.drain()
        self.reminder_throttles = self.log.counts[SES_THROTTLED] - before

    def _scheduled_run(self, handler: Callable[[dict[str, Any], Any], Any], name: str, event: dict[str, Any]) -> None:
        for _ in range(SCHEDULED_RUN_ATTEMPTS):
            try:
                handler(dict(event), LambdaContext(function_name=name, timeout_seconds=900))
                return
            except Exception:  # a failed run: EventBridge Scheduler runs it again
                timer.sleep(0.05)
        self.problems.append(f"the {event['reminder']} reminders' run failed {SCHEDULED_RUN_ATTEMPTS} times")

    def _access_code(self, address: str) -> str | None:
        codes = [
            match
            for email in self._emails()
            if address in email.to and "confirmed" in email.subject
            for match in re.findall(r"^Access code: (\S+)\r?$", email.raw.decode("utf-8", "replace"), re.MULTILINE)
        ]
        return codes[-1] if codes else None

    def _emails(self) -> list[SentEmail]:
        return self._mailbox.emails()[self._first_email :]

    def _attend(self, conference: Any) -> None:
        attending: list[Seat] = []
        plans = self.attendance_plans
        for registration in self.registrations:
            if registration.expected_status != "paid":
                continue
            for seat in registration.seats:
                if self._access_code(seat.email) is None:
                    continue  # its confirmation was rejected by SES: no code, no login
                seat.plan = plans[len(attending) % len(plans)]
                attending.append(seat)
        sessions = {session.id: session for session in conference.sessions}
        logged_in: set[str] = set()
        for session_id in ELIGIBLE_SESSIONS:
            session = sessions[session_id]
            audience = [s for s in attending if session_id in self._sessions_of(s)]
            for minute in range(int((session.ends_at - session.starts_at).total_seconds() // 60)):
                conference_clock.travel_to(session.starts_at + timedelta(minutes=minute, seconds=20))
                for seat in audience:
                    if seat.email not in logged_in:
                        self._log_in(seat)
                        logged_in.add(seat.email)
                    answer = self.call(
                        "POST",
                        "/attendance/heartbeats",
                        body={"session_id": session_id},
                        headers={"authorization": f"Bearer {seat.token}"},
                    )
                    if answer.status != 204:
                        self.problems.append(f"heartbeat answered {answer.status}")
        self.attending = attending

    @staticmethod
    def _sessions_of(seat: Seat) -> tuple[str, ...]:
        return {"eligible": ELIGIBLE_SESSIONS, "partial": PARTIAL_SESSIONS}.get(seat.plan, ())

    def _log_in(self, seat: Seat) -> None:
        code = self._access_code(seat.email)
        answer = self.call("POST", "/logins", body={"email": seat.email, "access_code": code}, ip=self.next_ip())
        if answer.status != 200:
            self.problems.append(f"login answered {answer.status}")
            return
        seat.token = answer.json()["session_token"]
        seat.attendee_id = answer.json()["attendee_id"]

    def _issue_certificates(self, conference: Any) -> None:
        conference_clock.travel_to(conference.ends_at + timedelta(hours=1))
        answer = self.admin("POST", "/admin/certificates/issue")
        self.certificates_issued = answer.json() if answer.status == 202 else {"status": answer.status}
        self.drain()

    # The proof

    def _check(self, report: Report) -> None:
        report.injected = {kind: self.log.counts.get(kind, 0) for kind in KINDS}
        report.answers = Counter(str(a.status) for a in self.answers)
        report.checks["run"] = list(self.problems)
        report.checks["answers"] = self._check_answers()
        emails = self._emails()
        report.emails = Counter(_kind_of(e.subject) for e in emails)
        items = self._scan()
        report.checks["emails"] = self._check_emails(emails, items)
        report.checks["attendance and certificates"] = self._check_attendance(emails)
        report.checks["table"] = self._check_table(items)
        report.checks["dead-letter queue"] = self._check_dlq()
        report.checks["runbook repair owes nothing"] = self._check_repair()
        report.figures = {
            "registrations": len(self.registrations),
            "paid_seats": sum(len(r.seats) for r in self.registrations if r.was_paid),
            "eligible": sum(s.plan == "eligible" for s in self.attending),
            "certificates_issue_answer": self.certificates_issued,
            "requests": len(self.answers),
            "server_errors_500": sum(a.status == 500 for a in self.answers),
            "answered_503": sum(a.status == 503 for a in self.answers),
            "stream_invocations": len(self.env.poller.invocations),
            "ses_rejections": [f"{r.subject[:40]}" for r in self.log.rejections],
            "ses_throttled_during_reminders": self.reminder_throttles,
        }

    def _check_answers(self) -> list[str]:
        problems = []
        for a in self.answers:
            if a.status >= 500 and not (a.status == 503 and a.code in SERVER_ERROR_CODES and a.retry_after):
                problems.append(f"{a.route} answered {a.status} ({a.code})")
            if a.status >= 400 and (a.content_type != "application/problem+json" or not a.code):
                problems.append(f"{a.route} answered {a.status} without a problem document")
            if a.bad_input and not (400 <= a.status < 500 or a.status == 503):
                problems.append(f"bad input to {a.route} answered {a.status}")
        return problems

    def _scan(self) -> list[dict[str, Any]]:
        client = self.env.session.client("dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = client.scan(**kwargs)
            items += [from_item(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _check_emails(self, emails: list[SentEmail], items: list[dict[str, Any]]) -> list[str]:
        problems = []
        delivered: Counter[tuple[str, str]] = Counter((e.to[0].lower(), _kind_of(e.subject)) for e in emails)
        rejected: Counter[tuple[str, str]] = Counter(
            (r.recipient.lower(), _kind_of(r.subject)) for r in self.log.rejections
        )
        owed: Counter[tuple[str, str]] = Counter()
        for registration in self.registrations:
            if registration.fate in {"card", "async", "refund_after"}:
                owed.update((s.email, "confirmation") for s in registration.seats)
                # The payer's receipt: a group's purchaser, an individual themself (sent when the payment is seen).
                owed[(registration.purchaser or registration.seats[0].email, "receipt")] += 1
            if registration.fate in {"card", "async"}:  # refunded ones were refunded before the reminders
                owed.update((s.email, f"reminder ({which})") for s in registration.seats for which in REMINDERS)
            if registration.fate in {"refund_after", "refund_before"}:
                owed.update((s.email, "refund notice") for s in registration.seats)
        for seat in self.attending:
            if seat.plan == "eligible":
                owed[(seat.email, "certificate")] += 1
        for target in sorted(set(owed) | set(delivered) | set(rejected)):
            if delivered[target] + rejected[target] != owed[target] or delivered[target] > 1:
                problems.append(
                    f"{target[1]} to {target[0]}: owed {owed[target]}, delivered {delivered[target]}, "
                    f"rejected by SES {rejected[target]}"
                )
        reached = [e.to[0] for e in emails if SQUATTER in e.raw.decode("utf-8", "replace")]
        if reached:
            problems.append(f"the squatter's name reached {len(reached)} email(s), to {reached[0]}")
        outbox = [i for i in items if i.get("entity") == "outbox" and not str(i["pk"]).startswith("REG#poison")]
        states = Counter(str(i["status"]) for i in outbox)
        if set(states) - {"sent", "failed", "skipped"}:
            problems.append(f"outbox entries not settled: {dict(states)}")
        if states["failed"] != len(self.log.rejections):
            problems.append(f"{states['failed']} failed outbox entries for {len(self.log.rejections)} SES rejections")
        return problems

    def _check_attendance(self, emails: list[SentEmail]) -> list[str]:
        problems = []
        planned_minutes = {
            s.id: int((s.ends_at - s.starts_at).total_seconds() // 60) for s in load_conference().sessions
        }
        eligible = 0
        for seat in self.attending:
            if not seat.token:
                continue
            mine = self.call("GET", "/me/attendance", headers={"authorization": f"Bearer {seat.token}"})
            if mine.status != 200:
                problems.append(f"/me/attendance answered {mine.status}")
                continue
            attendance = mine.json()
            minutes = {s["session_id"]: s["minutes_attended"] for s in attendance["sessions"]}
            for session_id, count in minutes.items():
                expected = planned_minutes[session_id] if session_id in self._sessions_of(seat) else 0
                if count != expected:
                    problems.append(f"{seat.email}: {count} minutes of {session_id} credited, {expected} sent")
            if attendance["eligible"] is not (seat.plan == "eligible"):
                problems.append(f"{seat.email}: eligible {attendance['eligible']}, planned {seat.plan}")
            eligible += seat.plan == "eligible"
        if self.certificates_issued.get("eligible") != eligible:
            problems.append(f"issue answered {self.certificates_issued}, {eligible} eligible attendees")
        for email in emails:
            if _kind_of(email.subject) != "certificate":
                continue
            message = email.parsed()
            pdfs = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
            (certificate_id,) = re.findall(r"^Certificate ID: (\S+)\r?$", email.raw.decode(), re.MULTILINE) or [""]
            verified = self.call("GET", f"/certificates/{certificate_id}")
            if len(pdfs) != 1 or verified.status != 200 or verified.json()["status"] != "valid":
                problems.append(f"certificate email to {email.to}: {len(pdfs)} PDFs, verification {verified.status}")
        return problems

    def _check_table(self, items: list[dict[str, Any]]) -> list[str]:
        problems = []
        registrations = {i["registration_id"]: i for i in items if i.get("entity") == "registration"}
        guards = {
            str(i["pk"]).removeprefix("EMAIL#"): i["registration_id"] for i in items if i.get("entity") == "email_guard"
        }
        attendees = {i["attendee_id"]: i for i in items if i.get("entity") == "attendee"}
        shipments = {i["registration_id"]: i for i in items if i.get("entity") == "shipment"}
        legal = {str(s) for s in RegistrationStatus}
        for registration in self.registrations:
            item = registrations.get(registration.registration_id)
            if item is None:
                problems.append(f"{registration.label}: no registration item")
                continue
            status = str(item["status"])
            if status != registration.expected_status:
                problems.append(f"{registration.label}: {status}, expected {registration.expected_status}")
            for entry in (HistoryEntry.model_validate(e) for e in item.get("history", [])):
                source, destination = entry.from_status, entry.to_status
                if source and destination and destination not in ALLOWED_TRANSITIONS[source]:
                    problems.append(f"{registration.label}: illegal transition {describe(entry)}")
            holds_emails = status not in {"expired", "cancelled"}
            for seat in item["seats"]:
                guard = guards.get(str(seat["email"]).casefold())
                if holds_emails and guard != registration.registration_id:
                    problems.append(f"{registration.label}: seat's email guard points to {guard}")
                if not holds_emails and guard == registration.registration_id:
                    problems.append(f"{registration.label}: {status} but still holds its seat's email")
                attendee = attendees.get(seat["attendee_id"])
                if registration.fate in {"card", "async", "refund_after"}:
                    wanted = "revoked" if status == "refunded" else "active"
                    if attendee is None or attendee["status"] != wanted:
                        problems.append(
                            f"{registration.label}: attendee {attendee and attendee['status']}, expected {wanted}"
                        )
                elif attendee is not None and attendee["status"] != "revoked":
                    problems.append(f"{registration.label}: an active attendee for a seat never confirmed")
            shipment = shipments.get(registration.registration_id)
            if registration.kind == "individual" and registration.fate in {"card", "async", "refund_after"}:
                wanted = "cancelled" if status == "refunded" else "pending"
                if shipment is None or shipment["shipment_state"] != wanted:
                    problems.append(
                        f"{registration.label}: coin {shipment and shipment['shipment_state']}, expected {wanted}"
                    )
            elif shipment is not None:
                problems.append(f"{registration.label}: a coin on the list for a {registration.fate} registration")
        for item in registrations.values():
            if str(item["status"]) not in legal:
                problems.append(f"registration with status {item['status']}")
        known = {r.registration_id for r in self.registrations}
        for holder in guards.values():
            if holder not in known:
                problems.append(f"an email guard for a registration the run never made ({holder})")
        return problems

    def _check_dlq(self) -> list[str]:
        sqs = self.env.session.client("sqs")
        streams = self.env.session.client("dynamodbstreams")
        problems, starts, held = [], [], set[str]()
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                info = json.loads(message["Body"])["DDBStreamBatchInfo"]
                iterator = streams.get_shard_iterator(
                    StreamArn=info["streamArn"],
                    ShardId=info["shardId"],
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=info["startSequenceNumber"],
                )["ShardIterator"]
                keys = _keys_through(streams, iterator, int(info["endSequenceNumber"]))
                starts.append(keys[0])
                held |= set(keys)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        # Each DLQ batch starts at a poison record (the first that failed), and every poison record is in one;
        # two poisons close together may share a batch.
        if not set(starts) <= set(self.poison_keys) or not set(self.poison_keys) <= held:
            problems.append(f"DLQ batches start at {sorted(starts)}; the poison records are {sorted(self.poison_keys)}")
        return problems

    def _check_repair(self) -> list[str]:
        counts = reaction_service(ReactionSettings.from_environment()).repair()
        return [] if counts["emails sent"] == 0 else [f"the repair still sent {counts['emails sent']} email(s)"]


def _keys_through(streams: Any, iterator: str, last_sequence: int) -> list[str]:
    """The partition keys of the stream's records from `iterator` through `last_sequence` (a DLQ batch's range,
    which also holds the records the mapping's filter left out)."""
    keys: list[str] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        for record in page["Records"]:
            if int(record["dynamodb"]["SequenceNumber"]) > last_sequence:
                return keys
            keys.append(str(record["dynamodb"]["Keys"]["pk"]["S"]))
        if not page["Records"]:
            return keys
        iterator = page.get("NextShardIterator", "")
    return keys


def _kind_of(subject: str) -> str:
    if subject.startswith("Reminder"):
        which = {"in a week": "week", "tomorrow": "day", "in an hour": "hour"}
        return next((f"reminder ({w})" for words, w in which.items() if subject.endswith(words)), f"other: {subject}")
    if "confirmed" in subject:
        return "confirmation"
    if "Certificate" in subject:
        return "certificate"
    if "refund" in subject.lower():
        return "refund notice"
    if subject.startswith("Receipt"):
        return "receipt"
    return f"other: {subject}"


def table(report: Report) -> str:
    lines = [f"Fault run: {report.attendees} attendees, seed {report.seed}, {report.seconds:.0f} s", ""]
    lines.append(f"{'fault injected':<34} {'count':>6}")
    lines += [f"{kind:<34} {count:>6}" for kind, count in report.injected.items()]
    lines += ["", f"{'check':<34} result"]
    lines += [
        f"{name:<34} {'ok' if not problems else f'{len(problems)} violation(s)'}"
        for name, problems in report.checks.items()
    ]
    lines += ["", "answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(report.answers.items()))]
    lines += ["emails delivered: " + ", ".join(f"{k}: {n}" for k, n in sorted(report.emails.items()))]
    for violation in report.violations[:50]:
        lines.append(f"VIOLATION {violation}")
    return "\n".join(lines)
