"""Webhook signing and delivery, as Stripe does them.

The body is the event's JSON, and exactly those bytes are signed: `Stripe-Signature: t=<unix>,v1=<hex>` with
HMAC-SHA256(secret, "<t>.<body>"). Each attempt is signed afresh. A failed background delivery is retried with
backoff on one worker thread, which exits when nothing is left to deliver."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import HTTPRedirectHandler, OpenerDirector, Request, build_opener

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
# Stripe retries for days; a stand-in serving tests and a dev stack keeps the same shape but in seconds.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@dataclass(frozen=True)
class Attempt:
    url: str
    timestamp: int
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Delivery:
    """An event and what the webhook endpoint answered (None when no endpoint is configured)."""

    event: dict[str, Any]
    status_code: int | None

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "status_code": self.status_code}


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    event_id: str = field(compare=False)
    url: str = field(compare=False)
    retry: int = field(compare=False)


class _NoRedirects(HTTPRedirectHandler):
    # Stripe counts a redirect as a failed delivery instead of following it.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Deliverer:
    def __init__(self, secret: str, *, retry_delays: Sequence[float], timeout: float) -> None:
        self.secret = secret
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._opener: OpenerDirector = build_opener(_NoRedirects)
        self._cond = threading.Condition()
        self._payloads: dict[str, bytes] = {}
        self._attempts: dict[str, list[Attempt]] = {}
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._busy = 0
        self._worker: threading.Thread | None = None
        self._closed = False

    def register(self, event_id: str, payload: bytes) -> None:
        with self._cond:
            self._payloads[event_id] = payload
            self._attempts[event_id] = []

    def payload(self, event_id: str) -> bytes:
        with self._cond:
            return self._payloads[event_id]

    def attempts(self, event_id: str) -> list[Attempt]:
        with self._cond:
            return list(self._attempts.get(event_id, []))

    def post(self, event_id: str, url: str, *, timestamp_offset: int = 0) -> Attempt:
        """One signed POST of the event, recorded whatever the outcome."""
        payload = self.payload(event_id)
        timestamp = int(time.time()) + timestamp_offset
        attempt = self._send(url, payload, timestamp)
        with self._cond:
            self._attempts[event_id].append(attempt)
        return attempt

    def deliver(self, event_id: str, url: str) -> Attempt:
        """Deliver now; on failure keep retrying in the background."""
        attempt = self.post(event_id, url)
        if not attempt.ok and self._retry_delays:
            with self._cond:
                self._push(event_id, url, retry=1, delay=self._retry_delays[0])
        return attempt

    def schedule(self, event_id: str, url: str) -> None:
        with self._cond:
            self._push(event_id, url, retry=0, delay=0.0)

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._busy == 0, timeout)

    def forget(self) -> None:
        """Drop pending retries and every event's payload and attempts (between tests)."""
        with self._cond:
            self._queue.clear()
            self._payloads.clear()
            self._attempts.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()

    def _send(self, url: str, payload: bytes, timestamp: int) -> Attempt:
        if not url.startswith(("http://", "https://")):
            return Attempt(url, timestamp, None, "webhook URL must be http or https")
        request = Request(  # noqa: S310 - the scheme is checked above
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Accept": "*/*; q=0.5, application/xml",
                "Cache-Control": "no-cache",
                "Stripe-Signature": signature_header(payload, self.secret, timestamp),
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return Attempt(url, timestamp, int(response.status))
        except HTTPError as error:
            error.close()
            return Attempt(url, timestamp, error.code)
        except URLError as error:
            return Attempt(url, timestamp, None, str(error.reason))
        except OSError as error:
            return Attempt(url, timestamp, None, str(error) or type(error).__name__)

    def _push(self, event_id: str, url: str, *, retry: int, delay: float) -> None:
        """Caller holds the condition."""
        if self._closed:
            return
        heapq.heappush(self._queue, _Job(time.monotonic() + delay, next(self._seq), event_id, url, retry))
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="stripe-standin-webhooks", daemon=True)
            self._worker.start()
        self._cond.notify_all()

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            attempt = self.post(job.event_id, job.url)
            with self._cond:
                self._busy -= 1
                if not attempt.ok and job.retry < len(self._retry_delays):
                    self._push(job.event_id, job.url, retry=job.retry + 1, delay=self._retry_delays[job.retry])
                self._cond.notify_all()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while True:
                if not self._queue:
                    self._worker = None
                    self._cond.notify_all()
                    return None
                wait = self._queue[0].due - time.monotonic()
                if wait <= 0:
                    self._busy += 1
                    return heapq.heappop(self._queue)
                self._cond.wait(wait)
