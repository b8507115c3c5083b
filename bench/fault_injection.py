"""Faults injected where the functions meet their dependencies, seeded so a run is reproducible.

- AWS: botocore event hooks on the clients the adapters share (`shared.adapters.aws.client`). A `before-call`
  hook that answers an error short-circuits the call after the SDK's own retries, as a dependency that stays
  throttled would look to the adapter; a `before-send` hook answers one HTTP attempt with an error, which the
  SDK's standard retry mode absorbs. The Powertools clients (secrets, idempotency) and the stream poller's
  own clients are left alone.
- Stripe webhooks: an HTTP proxy between the Stripe stand-in and the API that duplicates, holds back
  (reorders) and refuses (delays: the stand-in retries with backoff) deliveries.
- Stripe's API: the stand-in's own `fail_next` / `delay_next` switches (see bench/fault_run.py).

Every decision comes from one `random.Random(seed)` per fault kind, drawn in call order; the run is
sequential apart from the races it starts on purpose (during which injection pauses), so one seed gives the
same faults every time. No target (one call's operation and key, one email) fails more than twice in a row, so
the retries the system has (SDK, stream mapping, Stripe's redelivery) are always enough: a fault that outlasts
every retry is a different claim (the DLQ, proved with poison records).
"""

from __future__ import annotations

import base64
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from types import SimpleNamespace
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from werkzeug.wrappers import Request, Response

from infra.apigw import HttpResponse, LocalHttpApi
from shared.adapters import aws

# Names used in reports; each is counted when injected.
SES_THROTTLED = "ses_throttled"  # TooManyRequestsException after the SDK's retries: the record is retried
SES_REJECTED = "ses_rejected"  # MessageRejected: permanent, the outbox entry ends `failed`
DYNAMODB_THROTTLED = "dynamodb_throttled"  # ProvisionedThroughputExceeded / Throttling after the SDK's retries
DYNAMODB_THROTTLED_ONCE = "dynamodb_throttled_once"  # one attempt throttled; the SDK's retry absorbs it
WEBHOOK_DUPLICATED = "webhook_duplicated"
WEBHOOK_REORDERED = "webhook_reordered"  # held back and delivered after later deliveries
WEBHOOK_DELAYED = "webhook_delayed"  # refused with 503 once: Stripe delivers it again later

MAX_IN_A_ROW = 2


@dataclass
class Rates:
    ses_throttled: float = 0.08
    ses_rejected: float = 0.03
    dynamodb_throttled: float = 0.01
    dynamodb_throttled_once: float = 0.002
    webhook_duplicated: float = 0.2
    webhook_reordered: float = 0.15
    webhook_delayed: float = 0.15


@dataclass
class Rejection:
    recipient: str
    subject: str


@dataclass
class FaultLog:
    counts: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)


class Dice:
    """Seeded decisions per kind, never more than MAX_IN_A_ROW failures in a row for one target."""

    def __init__(self, seed: int, rates: Rates, log: FaultLog) -> None:
        self._rates = rates
        self._random = {kind: random.Random(f"{seed}:{kind}") for kind in vars(rates)}  # noqa: S311 - not crypto
        # Every kind strikes at least once, at its first few opportunities (seeded), then by its rate.
        self._due = {kind: self._random[kind].randint(1, 4) for kind in vars(rates)}
        self._chances: Counter[str] = Counter()
        self._streak: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._paused = 0
        self.log = log

    def roll(self, kind: str, target: str) -> bool:
        with self._lock:
            if self._paused:
                return False
            self._chances[kind] += 1
            hit = self._random[kind].random() < float(getattr(self._rates, kind))
            hit |= not self.log.counts[kind] and self._chances[kind] >= self._due[kind]
            if hit and self._streak[(kind, target)] >= MAX_IN_A_ROW:
                hit = False
            if hit:
                self._streak[(kind, target)] += 1
                self.log.counts[kind] += 1
            else:
                self._streak.pop((kind, target), None)
            return hit

    def choice(self, kind: str, options: list[str]) -> str:
        with self._lock:
            return self._random[kind].choice(options)

    @contextmanager
    def raised(self, kind: str, rate: float) -> Iterator[None]:
        """`kind` strikes at `rate` meanwhile (a phase that must meet it often, such as the reminders' sends)."""
        with self._lock:
            before = float(getattr(self._rates, kind))
            setattr(self._rates, kind, rate)
        try:
            yield
        finally:
            with self._lock:
                setattr(self._rates, kind, before)

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            self._paused += 1
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1


def _error(code: str, status: int = 400) -> tuple[SimpleNamespace, dict[str, Any]]:
    """What a `before-call` hook returns to answer a call with an error (botocore documents the tuple)."""
    return SimpleNamespace(status_code=status, headers={}), {
        "Error": {"Code": code, "Message": f"{code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        return [self._data]


def _request_body(params: dict[str, Any]) -> dict[str, Any]:
    """The API parameters of a serialised request (what `before-call` hooks see): both services speak JSON."""
    body = params.get("body") or b"{}"
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def _dynamodb_target(operation: str, params: dict[str, Any]) -> str:
    key = params.get("Key") or params.get("Item") or {}
    if params.get("TransactItems"):
        first = next(iter(params["TransactItems"][0].values()))
        key = first.get("Key") or first.get("Item") or {}
    return f"{operation}:{json.dumps({k: key[k] for k in ('pk', 'sk') if k in key}, sort_keys=True)}"


def _attaches_checkout(operation: str, params: dict[str, Any]) -> bool:
    # The write that links a new registration to its Checkout Session. If it fails for good the registration
    # waits out its 60-second creation lease before a resubmission finishes it (by design, tested elsewhere);
    # the run does not wait that long.
    return operation == "UpdateItem" and "checkout" in str(params.get("UpdateExpression", ""))


class AwsFaults:
    """Installs the hooks on the adapters' shared clients; `uninstall` removes them."""

    def __init__(self, dice: Dice) -> None:
        self._dice = dice
        self._ses = aws.client("sesv2")
        self._dynamodb = aws.dynamodb()
        self._hooks: list[tuple[Any, str, Callable[..., Any], str]] = [
            (self._ses, "before-call.sesv2.SendEmail", self._send_email, "faults-ses"),
            (self._dynamodb, "before-call.dynamodb", self._dynamodb_call, "faults-dynamodb-call"),
            (self._dynamodb, "before-send.dynamodb", self._dynamodb_send, "faults-dynamodb-send"),
        ]

    def install(self) -> AwsFaults:
        for client, event, handler, unique_id in self._hooks:
            client.meta.events.register(event, handler, unique_id=unique_id)
        return self

    def uninstall(self) -> None:
        for client, event, _, unique_id in self._hooks:
            client.meta.events.unregister(event, unique_id=unique_id)

    def _send_email(self, params: dict[str, Any], **_: Any) -> tuple[SimpleNamespace, dict[str, Any]] | None:
        request = _request_body(params)
        recipient = str(request["Destination"]["ToAddresses"][0])
        raw = base64.b64decode(request["Content"]["Raw"]["Data"])
        subject = str(message_from_bytes(raw, policy=policy.default)["Subject"])
        target = f"{recipient}:{subject}"
        if self._dice.roll(SES_REJECTED, target):
            self._dice.log.rejections.append(Rejection(recipient, subject))
            return _error("MessageRejected")
        if self._dice.roll(SES_THROTTLED, target):
            return _error("TooManyRequestsException", 429)
        return None

    def _dynamodb_call(
        self, params: dict[str, Any], model: Any, **_: Any
    ) -> tuple[SimpleNamespace, dict[str, Any]] | None:
        operation, request = str(model.name), _request_body(params)
        if _attaches_checkout(operation, request):
            return None
        if self._dice.roll(DYNAMODB_THROTTLED, _dynamodb_target(operation, request)):
            code = self._dice.choice(
                DYNAMODB_THROTTLED, ["ProvisionedThroughputExceededException", "ThrottlingException"]
            )
            return _error(code)
        return None

    def _dynamodb_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        if not self._dice.roll(DYNAMODB_THROTTLED_ONCE, operation):
            return None
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "Rate of requests exceeds the allowed throughput (injected).",
            }
        ).encode()
        headers = HTTPHeaders()
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 400, headers, _Body(body))


@dataclass
class _Held:
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """One answer the API gave, for the run's checks."""

    route: str
    status: int
    content_type: str
    code: str | None
    retry_after: str | None
    bad_input: bool = False

    @classmethod
    def of(cls, route: str, response: HttpResponse, *, bad_input: bool = False) -> Answer:
        code = None
        if response.status >= 400 and response.body:
            try:
                body = response.json()
                code = body.get("code") if isinstance(body, dict) else None
            except ValueError:
                code = None
        return cls(
            route,
            response.status,
            response.content_type,
            code,
            response.headers.get("retry-after"),
            bad_input,
        )


class WebhookChaos:
    """A WSGI app in front of POST /webhooks/stripe: the stand-in's deliveries arrive here.

    Per delivery (seeded): duplicated (delivered twice in a row), held back (answered 200 to Stripe and
    delivered after the next delivery, or at `flush`: what a slow invocation finishing last looks like),
    delayed (answered 503 without delivering: the stand-in delivers it again with backoff), or passed on.
    """

    def __init__(self, api: LocalHttpApi, dice: Dice, record: Callable[[Answer], None]) -> None:
        self._api = api
        self._dice = dice
        self._record = record
        self._held: list[_Held] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in {"stripe-signature", "content-type", "user-agent"}
        }
        body = request.get_data()
        event_id = str(json.loads(body).get("id", ""))
        if self._dice.roll(WEBHOOK_DELAYED, event_id):
            response = Response(b"", 503)
        elif self._dice.roll(WEBHOOK_REORDERED, event_id):
            with self._lock:
                self._held.append(_Held(headers, body))
            response = Response(b'{"received": true}', 200, content_type="application/json")
        else:
            answer = self._deliver(headers, body)
            if self._dice.roll(WEBHOOK_DUPLICATED, event_id):
                self._deliver(headers, body)
            self.flush()  # what was held back arrives after this one
            response = Response(answer.body, answer.status, headers=list(answer.headers.items()))
        return response(environ, start_response)

    def _deliver(self, headers: dict[str, str], body: bytes) -> HttpResponse:
        answer = self._api.request("POST", "/webhooks/stripe", headers=headers, body=body)
        self._record(Answer.of("POST /webhooks/stripe", answer))
        return answer

    def flush(self) -> int:
        with self._lock:
            held, self._held = self._held, []
        for delivery in held:
            answer = self._deliver(delivery.headers, delivery.body)
            if answer.status >= 500:  # as Stripe would, had this been its own slow attempt: deliver again
                with self._lock:
                    self._held.append(delivery)
        return len(held)

    @property
    def holding(self) -> int:
        with self._lock:
            return len(self._held)
