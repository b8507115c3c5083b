"""HTTP traffic for the runs: a requests.Session per thread, and every request's route, status and latency.

Routes are named by their template (`GET /registrations/{id}`), so latencies group per route as API Gateway's
metrics would. A connection error or timeout is recorded with status 0 and raised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests

T = TypeVar("T")
R = TypeVar("R")


DOCUMENTATION_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737: never routed


def documentation_address(n: int) -> str:
    """The n-th client address (from 0) across the three documentation ranges: 762 before one comes again."""
    network, host = divmod(n, 254)
    return f"{DOCUMENTATION_NETWORKS[network % 3]}.{host + 1}"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of unsorted values (share 0.5 = median)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Traffic:
    """Thread-safe: what every request of a run answered and how long it took."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latencies: dict[str, list[float]] = defaultdict(list)
        self._statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def record(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._latencies[route].append(seconds)
            self._statuses[route][status] += 1

    def requests(self) -> int:
        with self._lock:
            return sum(len(values) for values in self._latencies.values())

    def server_errors(self) -> dict[str, int]:
        """5xx answers (and status 0: no answer at all) per route."""
        with self._lock:
            found = {
                route: sum(n for status, n in statuses.items() if status >= 500 or status == 0)
                for route, statuses in self._statuses.items()
            }
        return {route: n for route, n in found.items() if n}

    def statuses(self, route: str) -> Counter[int]:
        with self._lock:
            return Counter(self._statuses.get(route, Counter()))

    def routes(self) -> dict[str, dict[str, Any]]:
        """Per route: count, statuses, mean, p50/p90/p99 and max latency in milliseconds, total seconds."""
        with self._lock:
            snapshot = {
                route: (list(values), Counter(self._statuses[route])) for route, values in self._latencies.items()
            }
        summary = {}
        for route, (values, statuses) in sorted(snapshot.items()):
            summary[route] = {
                "count": len(values),
                "statuses": {str(status): n for status, n in sorted(statuses.items())},
                "mean_ms": round(1000 * sum(values) / len(values), 1),
                "p50_ms": round(1000 * percentile(values, 0.50), 1),
                "p90_ms": round(1000 * percentile(values, 0.90), 1),
                "p99_ms": round(1000 * percentile(values, 0.99), 1),
                "max_ms": round(1000 * max(values), 1),
                "total_s": round(sum(values), 2),
            }
        return summary


class Http:
    """requests with one Session (keep-alive connection pool) per thread, every call recorded in `traffic`."""

    def __init__(self, traffic: Traffic, timeout: float = 120) -> None:
        self.traffic = traffic
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def call(self, route: str, url: str, **options: Any) -> requests.Response:
        """`route` is "METHOD /template"; the method is taken from it."""
        method = route.split(" ", 1)[0]
        started = time.perf_counter()
        try:
            answer = self._session().request(method, url, timeout=options.pop("timeout", self.timeout), **options)
        except requests.RequestException:
            self.traffic.record(route, 0, time.perf_counter() - started)
            raise
        self.traffic.record(route, answer.status_code, time.perf_counter() - started)
        return answer


def fan_out(items: Iterable[T], work: Callable[[T], R], threads: int) -> list[R]:
    """`work` over every item on `threads` threads; results in the items' order; the first error is raised."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="client") as pool:
        return list(pool.map(work, items))
