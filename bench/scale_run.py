"""The scale run's measurement (bench/scale.py is `make scale`; tests/integration/test_scale.py its short
version): seeds N attendees straight into a local stack's table, runs the day's reminder job and the certificate
job to their end with SES throttling injected, and counts what it cost and what reached SES."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from infra.apigw import LambdaContext, load_handler
from infra.local_stack import LocalStack
from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository, to_item
from shared.adapters.dynamodb_attendance import MINUTES_PREFIX
from shared.clock import conference_clock
from shared.conference import load_conference
from shared.events.schedules import reminder_time
from shared.registration.models import Registration, Seat
from shared.registration.status import RegistrationStatus

RESULTS = Path(__file__).parent / "results" / "scale.json"
SERVICES = ("dynamodb", "sesv2", "s3", "sqs", "secretsmanager")
LINEARITY = 0.15  # the cost per attendee may grow this much from the smallest N to the largest
# Compared from N to N: the process's CPU time and the counts. The wall time is reported beside them, not compared:
# on a shared machine it measures the neighbours too (N=1,000: 89 ms per reminder alone, 152 beside another run).
UNCOMPARED = frozenset({"ms"})
TRACE_EVERY = 10  # invocations: one in ten is traced (tracemalloc slows what it traces)
TRACE_FRAMES = 4  # an allocation made in moto, or a few calls down from it, shows a moto frame


@dataclass
class Phase:
    """One job's run: its figures, per attendee where it says so."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the process's, every thread's: the functions', the pollers' and moto's (AWS here)
    invocations: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # service -> calls
    throttled: int = 0

    def per_attendee(self, n: int) -> dict[str, float]:
        return {
            "ms": round(1000 * self.seconds / n, 2),
            "cpu_ms": round(1000 * self.cpu_seconds / n, 2),
            "invocations": round(self.invocations / n, 4),
            **{service: round(count / n, 3) for service, count in sorted(self.calls.items())},
        }


@dataclass
class Run:
    n: int
    throttle_rate: float
    reminder: Phase = field(default_factory=Phase)
    certificates: Phase = field(default_factory=Phase)
    peak_invocation_kib: float = 0.0
    peak_with_moto_kib: float = 0.0  # the same peak with what moto holds from the invocation
    mails: Counter[str] = field(default_factory=Counter)  # (kind:recipient) -> sends that reached SES
    pacer_waited_seconds: float = 0.0

    def lost_and_doubled(self) -> tuple[int, int]:
        expected = {f"{kind}:{n}" for kind in ("reminder", "certificate") for n in range(self.n)}
        got = dict(self.mails)
        lost = sum(1 for key in expected if key not in got)
        doubled = sum(count - 1 for count in got.values() if count > 1)
        return lost, doubled

    def summary(self) -> dict[str, Any]:
        lost, doubled = self.lost_and_doubled()
        return {
            "n": self.n,
            "throttle_rate": self.throttle_rate,
            "reminder_per_attendee": self.reminder.per_attendee(self.n),
            "certificates_per_attendee": self.certificates.per_attendee(self.n),
            "reminder_seconds": round(self.reminder.seconds, 1),
            "certificates_seconds": round(self.certificates.seconds, 1),
            "ses_throttled": self.reminder.throttled + self.certificates.throttled,
            "peak_invocation_kib": round(self.peak_invocation_kib),
            "peak_with_moto_kib": round(self.peak_with_moto_kib),
            "pacer_waited_seconds": round(self.pacer_waited_seconds, 2),
            "mails": sum(self.mails.values()),
            "lost": lost,
            "doubled": doubled,
        }


def address(n: int) -> str:
    return f"scale{n}@example.org"


def seed(stack: LocalStack, n: int) -> None:
    """N paid individuals, their attendees with every session's minutes and a login, written in batches of 25."""
    conference = load_conference()
    table = stack.stack.resources["MainTable"]
    client = aws.dynamodb()
    day = conference.starts_on.isoformat()
    created = datetime.combine(conference.starts_on - timedelta(days=30), datetime.min.time(), UTC)
    items: list[dict[str, Any]] = []
    for i in range(n):
        registration_id, attendee_id = f"reg_scale{i:019d}", f"att_scale{i:019d}"
        registration = Registration(
            event_id=conference.id,
            registration_id=registration_id,
            kind="individual",
            status=RegistrationStatus.PAID,
            seats=[
                Seat(
                    attendee_id=attendee_id,
                    first_name="Ana",
                    last_name=f"Scale{i}",
                    email=address(i),
                    organization="Springfield PD",
                )
            ],
            amount=conference.fee,
            created_at=created,
            checkout_attempt=1,
            checkout_expires_at=created + timedelta(days=1),
        )
        items.append(DynamoRegistrationRepository._registration_item(registration))  # its item shape
        minutes = {
            f"{MINUTES_PREFIX}{s.id}": set(range(s.scheduled_minutes))
            for s in conference.sessions
            if s.scheduled_minutes
        }
        items.append(
            to_item(
                {
                    "pk": f"ATTENDEE#{attendee_id}", "sk": "META", "entity": "attendee",
                    "attendee_id": attendee_id, "registration_id": registration_id, "event_id": conference.id,
                    "kind": "individual", "first_name": "Ana", "last_name": f"Scale{i}", "email": address(i),
                    "organization": "Springfield PD", "status": "active", "email_status": "ok",
                    "logins": 1, "login_days": {day}, **minutes,
                }
            )
        )  # fmt: skip
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})  # type: ignore[dict-item]


class Hooks:
    """Counts every AWS call per service where botocore makes it; throttles `rate` of SES's sends (before they are
    made: nothing goes out); records each send that went out by its kind and recipient's number."""

    def __init__(self, rate: float, run: Run) -> None:
        self._rate = rate
        self._random = random.Random(22)  # noqa: S311 - which sends are throttled, not a secret
        self._run = run
        self.phase = Phase()
        self._clients = {service: aws.client(service) for service in SERVICES}

    def _count(self, model: Any, **_: Any) -> None:
        self.phase.calls[model.service_model.service_name] += 1

    def _send(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        if self._random.random() < self._rate:
            self.phase.throttled += 1
            error = {"Error": {"Code": "TooManyRequestsException", "Message": "injected"}}
            return SimpleNamespace(status_code=429, headers={}), error | {"ResponseMetadata": {"HTTPStatusCode": 429}}
        request = json.loads(params.get("body") or b"{}")
        raw = base64.b64decode(request["Content"]["Raw"]["Data"])
        subject = str(message_from_bytes(raw, policy=policy.default)["Subject"])
        recipient = str(request["Destination"]["ToAddresses"][0])
        kind = "certificate" if "ertificate" in subject else "reminder" if "Reminder" in subject else "other"
        context["scale_mail"] = f"{kind}:{recipient.removeprefix('scale').split('@')[0]}"
        return None

    def _sent(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if "scale_mail" in context and getattr(http_response, "status_code", 500) == 200:
            self._run.mails[context["scale_mail"]] += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        hooks: list[tuple[Any, str, Callable[..., Any]]] = [
            *((client, f"before-call.{service}", self._count) for service, client in self._clients.items()),
            (self._clients["sesv2"], "before-call.sesv2.SendEmail", self._send),
            (self._clients["sesv2"], "after-call.sesv2.SendEmail", self._sent),
        ]
        for client, event, handler in hooks:
            client.meta.events.register(event, handler, unique_id=f"scale-{event}")
        try:
            yield
        finally:
            for client, event, _ in hooks:
                client.meta.events.unregister(event, unique_id=f"scale-{event}")


def traced(handler: Callable[..., Any], run: Run) -> Callable[..., Any]:
    """The worker's handler, every TRACE_EVERY-th invocation traced alone: its peak allocation, in KiB, less what
    moto (AWS, in this process) still holds from it when it ends: the items, stream records and mails the worker's
    calls stored, and moto's stores grown to hold them (a list or dict of N entries reallocated), which grow with
    the table and are not the worker's memory. On Lambda the worker's process holds none of it."""
    calls = Counter[str]()

    def invoke(event: dict[str, Any], context: Any) -> Any:
        calls["n"] += 1
        if calls["n"] % TRACE_EVERY:
            return handler(event, context)
        tracemalloc.start(TRACE_FRAMES)
        try:
            return handler(event, context)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            held = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/moto/*", all_frames=True)])
            tracemalloc.stop()
            aws_side = sum(trace.size for trace in held.traces)
            run.peak_invocation_kib = max(run.peak_invocation_kib, (peak - aws_side) / 1024)
            run.peak_with_moto_kib = max(run.peak_with_moto_kib, peak / 1024)

    return invoke


# A throttled task comes back at once here: the backoff (30 s and doubling on AWS) is idle time, with one worker
# only the run's wait; what throttling costs in calls is counted all the same.
os.environ["THROTTLE_BACKOFF_SECONDS"] = "0"


def measure(n: int, throttle_rate: float, running: LocalStack | None = None) -> Run:
    """One run on a private stack, or on `running` (an empty one, which is left as the run leaves it)."""
    run = Run(n=n, throttle_rate=throttle_rate)
    conference = load_conference()
    quiet = redirect_stdout(io.StringIO())  # the functions' EMF lines
    with nullcontext(running) if running is not None else LocalStack().start(background=False) as stack, quiet:
        seed(stack, n)
        stack.pollers = [stack.poller("LATEST")]  # the seed's own stream records are not the sends' work
        (queue,) = stack.queue_pollers
        queue.handler = traced(queue.handler, run)
        hooks = Hooks(throttle_rate, run)
        phases: tuple[tuple[str, str, datetime, dict[str, str]], ...] = (
            ("reminder", "RemindersFunction", reminder_time(conference, "day") + timedelta(minutes=1),
             {"reminder": "day"}),
            ("certificates", "CertificateIssuerFunction", conference.ends_at + timedelta(hours=1), {}),
        )  # fmt: skip
        for name, function_id, moment, payload in phases:
            conference_clock.travel_to(moment)
            function = stack.stack.functions[function_id]
            invocations_before = queue.invocations
            hooks.phase = Phase()
            with hooks.installed():
                started, cpu_started = time.perf_counter(), time.process_time()
                load_handler(function)({"event_id": conference.id, **payload}, LambdaContext(function.name))
                stack.settle(timeout=max(120.0, n * 0.5))
                hooks.phase.seconds = time.perf_counter() - started
                hooks.phase.cpu_seconds = time.process_time() - cpu_started
            hooks.phase.invocations = queue.invocations - invocations_before
            setattr(run, name, hooks.phase)
        from functions.bulk_sender.handler import pacer

        run.pacer_waited_seconds = pacer().waited
    return run


def linear(runs: list[dict[str, Any]]) -> list[str]:
    """What grew by more than LINEARITY from the smallest N to the largest (runs' summaries): a cost per attendee
    (CPU time or a count; not the wall time), or the worker's peak memory in an invocation."""
    if len(runs) < 2:
        return []
    first, last = min(runs, key=lambda run: run["n"]), max(runs, key=lambda run: run["n"])
    problems = []
    for phase in ("reminder_per_attendee", "certificates_per_attendee"):
        for figure, small in first[phase].items():
            if figure in UNCOMPARED:
                continue
            large = last[phase].get(figure, 0)
            if small and large > small * (1 + LINEARITY):
                problems.append(f"{phase} {figure}: {small} at N={first['n']}, {large} at N={last['n']}")
    small, large = first["peak_invocation_kib"], last["peak_invocation_kib"]
    if large > small * (1 + LINEARITY):
        problems.append(f"the worker's peak: {small} KiB at N={first['n']}, {large} KiB at N={last['n']}")
    return problems
