"""Sends paced to SES's quota: each worker spaces its sends at its share of the rate.

The queue's workers run at most `concurrency` at once (the worker's reserved concurrency), so a worker that sends
at rate / concurrency keeps them all within the rate without a shared counter (no item every send writes): see
the decision log. A throttled send halves the worker's pace; each send that goes through wins a tenth of it back."""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.email import Email
from shared.reactions.ports import Mailer, MailThrottled

SLOWEST_INTERVAL = 10.0  # seconds between two sends of one worker, however often SES has throttled it


def worker_rate(*, account_rate: float | None, cap: float, concurrency: int) -> float:
    """Sends a second for one worker: the account's quota (GetAccount's MaxSendRate), capped by the stack's own
    cap (the template's MaxSendRate, which leaves room for the stream's mail), shared by the workers."""
    rate = cap if account_rate is None else min(account_rate, cap)
    return max(rate, 0.01) / max(concurrency, 1)


class Pacer:
    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self.waited = 0.0  # seconds slept, for the scale run's figures

    @property
    def interval(self) -> float:
        return self._interval

    def take(self) -> None:
        """Wait for this worker's next send slot."""
        now = self._clock()
        if self._next > now:
            self._sleep(self._next - now)
            self.waited += self._next - now
            now = self._next
        self._next = now + self._interval

    def slow_down(self) -> None:
        self._interval = min(self._interval * 2, SLOWEST_INTERVAL)

    def recover(self) -> None:
        """A send went through: back towards the worker's share, a tenth at a time (the pacer outlives invocations)."""
        self._interval = max(self._base, self._interval * 0.9)


class PacedMailer:
    """The mailer behind the pacer: every send waits for its slot; SES's throttling slows the pacer down."""

    def __init__(self, mailer: Mailer, pacer: Pacer) -> None:
        self._mailer = mailer
        self._pacer = pacer

    def send(self, email: Email) -> str:
        self._pacer.take()
        try:
            message_id = self._mailer.send(email)
        except MailThrottled:
            self._pacer.slow_down()
            raise
        self._pacer.recover()
        return message_id
