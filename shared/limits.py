"""Per-client limits for the unauthenticated writes: how many registrations, access-code requests and failed
sign-ins one source address may make in a window, so that one client cannot use a route's whole budget (and every
registration's Stripe Checkout Session) for everyone.

Fixed windows counted in the table (one conditional update per request, the counter expiring with the table's
TTL): a burst cannot overshoot, since each request's increment is itself the check. Addresses are kept only as
digests. The limits are generous on purpose: an agency behind one address registers its 50 officers one by one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.clock import Clock
from shared.errors import TooManyRequests


@dataclass(frozen=True)
class Limit:
    name: str  # part of the counter's key: "registrations", "access_codes", "sign_in_failures"
    count: int  # requests allowed per window and address
    window: timedelta
    refusal: str  # the problem's detail

    def window_of(self, now: datetime) -> tuple[datetime, datetime]:
        seconds = self.window.total_seconds()
        start = datetime.fromtimestamp(now.timestamp() // seconds * seconds, now.tzinfo)
        return start, start + self.window


def registrations_per_hour(count: int) -> Limit:
    return Limit("registrations", count, timedelta(hours=1), "Too many registrations from this address this hour.")


def access_codes_per_hour(count: int) -> Limit:
    return Limit("access_codes", count, timedelta(hours=1), "Too many access-code requests from this address.")


def sign_in_failures_per_quarter_hour(count: int) -> Limit:
    return Limit(
        "sign_in_failures",
        count,
        timedelta(minutes=15),
        "Too many failed sign-ins from this address; wait 15 minutes and try again.",
    )


class Counters(Protocol):
    def take(self, key: str, window_start: datetime, limit: int, expires: datetime) -> bool:
        """Add one to the window's counter unless it has reached `limit` (one conditional write); False if full."""

    def give_back(self, key: str, window_start: datetime) -> None:
        """Take one off the window's counter (a sign-in that succeeded after all)."""


class ClientLimits:
    def __init__(self, *, counters: Counters, wall_clock: Clock) -> None:
        self._counters = counters
        self._wall_clock = wall_clock

    def take(self, limit: Limit, client: str) -> None:
        """Count one request of `client` (its source address); 429 with the seconds until the window ends."""
        now = self._wall_clock.now()
        start, end = limit.window_of(now)
        # The counter outlives its window a little: a clock skew between containers never reopens a full one.
        if not self._counters.take(_key(limit, client), start, limit.count, end + limit.window):
            raise TooManyRequests(limit.refusal, retry_after=max(1, math.ceil((end - now).total_seconds())))

    def give_back(self, limit: Limit, client: str) -> None:
        start, _ = limit.window_of(self._wall_clock.now())
        self._counters.give_back(_key(limit, client), start)


def _key(limit: Limit, client: str) -> str:
    return f"{limit.name}#{hashlib.sha256(client.encode()).hexdigest()}"
