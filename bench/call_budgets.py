"""Exact external calls per operation, and their budgets: shared by `make bench` (bench/call_counts.py) and the
test that keeps them in CI (tests/integration/test_call_budgets.py).

AWS calls are counted where every botocore client's call passes (`BaseClient._make_api_call`), Stripe API
requests where the Stripe stand-in logs them. Counts, unlike times, are exact and repeatable: a change that
adds a call fails the budget. The stream's own work (reactions) is counted apart from the request that caused
it and has no budget here.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from botocore.client import BaseClient

from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from infra.stripe_standin import StripeStandIn
from shared.clock import conference_clock

KEYNOTE = "d1-implicit-bias"  # 11:30-12:45 CDT on 5 August 2020
AT_KEYNOTE = datetime.fromisoformat("2020-08-05T11:40:00-05:00")
BEFORE_THE_CONFERENCE = datetime.fromisoformat("2020-07-22T09:00:00-05:00")  # registration is open
# The pollers' own reads are not a function's calls.
_NOT_COUNTED = frozenset({"dynamodbstreams", "sqs"})


@dataclass(frozen=True)
class Budget:
    """The most calls an operation may make. `other_aws` is every AWS call outside DynamoDB (a cold
    container's secret read is the one expected)."""

    dynamodb: int
    stripe_reads: int = 0
    stripe_writes: int = 0
    other_aws: int = 0
    status: int = 0  # the HTTP status the operation must answer (0: not checked)


BUDGETS: dict[str, Budget] = {
    "invalid registration (422)": Budget(dynamodb=0, status=422),
    # One of them is the per-client counter (shared/limits.py): one conditional update per request.
    "registration": Budget(dynamodb=5, stripe_writes=1, other_aws=1, status=201),
    "registration with Idempotency-Key": Budget(dynamodb=5, stripe_writes=1, other_aws=1, status=201),
    "webhook checkout.session.completed": Budget(dynamodb=4, stripe_reads=1, other_aws=1, status=200),
    "heartbeat": Budget(dynamodb=1, status=204),
    "heartbeat, malformed token (401)": Budget(dynamodb=0, status=401),
    # The same two writes whoever the email belongs to (the address's counter, the request): the stream looks the
    # seat up and sends the code.
    "access code request, a paid seat's email (202)": Budget(dynamodb=2, status=202),
    "access code request, an unknown email (202)": Budget(dynamodb=2, status=202),
}


@dataclass
class Calls:
    status: int = 0
    aws: dict[str, int] = field(default_factory=dict)
    stripe: list[str] = field(default_factory=list)  # "METHOD /v1/path"

    @property
    def dynamodb(self) -> int:
        return sum(n for name, n in self.aws.items() if name.startswith("dynamodb."))

    @property
    def other_aws(self) -> int:
        return sum(n for name, n in self.aws.items() if not name.startswith("dynamodb."))

    @property
    def stripe_reads(self) -> int:
        return sum(1 for call in self.stripe if call.startswith("GET "))

    @property
    def stripe_writes(self) -> int:
        return sum(1 for call in self.stripe if not call.startswith("GET "))

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "aws": self.aws, "dynamodb": self.dynamodb, "stripe": self.stripe}


def over_budget(name: str, calls: Calls) -> list[str]:
    """What exceeds the operation's budget (nothing for an operation without one)."""
    budget = BUDGETS.get(name)
    if budget is None:
        return []
    found = [
        f"{name}: {what} {getattr(calls, what)} > {getattr(budget, what)}"
        for what in ("dynamodb", "stripe_reads", "stripe_writes", "other_aws")
        if getattr(calls, what) > getattr(budget, what)
    ]
    if budget.status and calls.status != budget.status:
        found.append(f"{name}: answered {calls.status}, expected {budget.status}")
    return found


class _Counting:
    """Counts every botocore call in this process while installed (one at a time)."""

    calls: Counter[str] = Counter()
    _original: Callable[..., Any] | None = None

    @classmethod
    def install(cls) -> None:
        if cls._original is None:
            original = BaseClient._make_api_call  # type: ignore[attr-defined]
            cls._original = original

            def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
                service = client.meta.service_model.service_name
                if service not in _NOT_COUNTED:
                    cls.calls[f"{service}.{operation}"] += 1
                return original(client, operation, params)

            BaseClient._make_api_call = counting  # type: ignore[attr-defined]

    @classmethod
    def uninstall(cls) -> None:
        if cls._original is not None:
            BaseClient._make_api_call = cls._original  # type: ignore[attr-defined]
            cls._original = None


@contextmanager
def counting_calls() -> Iterator[None]:
    _Counting.install()
    try:
        yield
    finally:
        _Counting.uninstall()


class HttpAnswer(Protocol):
    status: int

    def json(self) -> Any: ...


class Api(Protocol):
    """The in-process HTTP API (infra.apigw.LocalHttpApi)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        source_ip: str = "127.0.0.1",
    ) -> Any: ...


class Recorder:
    def __init__(self, standin: StripeStandIn) -> None:
        self.standin = standin
        self.results: dict[str, Calls] = {}

    @contextmanager
    def operation(self, name: str) -> Iterator[Calls]:
        """Counts what happens inside; set `status` on the yielded Calls to the answer's status."""
        _Counting.calls.clear()
        stripe_before = len(self.standin.requests_log)
        calls = Calls()
        yield calls
        self.standin.wait_idle()
        calls.aws = dict(sorted(_Counting.calls.items()))
        logged = self.standin.requests_log[stripe_before:]
        calls.stripe = [f"{method} {path}" for method, path, _ in logged if path.startswith("/v1/")]
        self.results[name] = calls


def run_operations(api: Api, standin: StripeStandIn, drain: Callable[[], None]) -> dict[str, Calls]:
    """Each budgeted operation once (and, for the record, the stream's reactions, a login and a heartbeat's
    refusals), on a fresh person so the run can repeat. `standin` must deliver its webhooks to `api`'s
    functions; `drain` runs the stream until nothing is pending. Call inside `counting_calls()`."""
    recorder = Recorder(standin)
    conference_clock.travel_to(BEFORE_THE_CONFERENCE)
    person = f"budget.{uuid.uuid4().hex[:12]}@example.org"
    with recorder.operation("invalid registration (422)") as calls:
        calls.status = api.request("POST", "/registrations", headers=JSON, body=encoded({"kind": "vip"})).status
    with recorder.operation("registration") as calls:
        answer = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=person)))
        calls.status = answer.status
    keyed = JSON | {"Idempotency-Key": str(uuid.uuid4())}
    with recorder.operation("registration with Idempotency-Key") as calls:
        other = f"keyed.{person}"
        calls.status = api.request(
            "POST", "/registrations", headers=keyed, body=encoded(individual(email=other))
        ).status
    checkout_session = answer.json()["checkout_url"].rsplit("/", 1)[-1]
    with recorder.operation("webhook checkout.session.completed") as calls:
        (delivery,) = standin.pay(checkout_session)  # one event, delivered before pay() returns
        calls.status = delivery.status_code or 0
    before = len(LocalMailbox().emails())
    with recorder.operation("stream: paid -> attendee, outbox, coin, confirmation sent"):
        drain()
    raw = next(m.raw for m in LocalMailbox().emails()[before:] if person in m.to)
    (code,) = re.findall(rb"Access code: (\S+)\r\n", raw)
    conference_clock.travel_to(AT_KEYNOTE)
    login = {"email": person, "access_code": code.decode()}
    with recorder.operation("login") as calls:
        logged_in = api.request("POST", "/logins", headers=JSON, body=encoded(login))
        calls.status = logged_in.status
    token = logged_in.json()["session_token"]

    def beat(token: str) -> int:
        headers = JSON | {"Authorization": f"Bearer {token}"}
        status: int = api.request(
            "POST", "/attendance/heartbeats", headers=headers, body=encoded({"session_id": KEYNOTE})
        ).status
        return status

    with recorder.operation("heartbeat") as calls:
        calls.status = beat(token)
    with recorder.operation("heartbeat, malformed token (401)") as calls:
        calls.status = beat("x")
    newer = api.request("POST", "/logins", headers=JSON, body=encoded(login), source_ip="198.51.100.9")
    with recorder.operation("heartbeat, superseded token (401)") as calls:
        calls.status = beat(token)
    assert newer.status == 200
    for name, email in [
        ("access code request, a paid seat's email (202)", person),
        ("access code request, an unknown email (202)", f"nobody.{person}"),
    ]:
        with recorder.operation(name) as calls:
            calls.status = api.request("POST", "/access-codes", headers=JSON, body=encoded({"email": email})).status
    return recorder.results
