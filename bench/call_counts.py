"""Exact external calls per operation: AWS API calls (counted where botocore makes them) and Stripe API
requests (counted at the Stripe stand-in), for each operation through the local stack over HTTP.

Counts are exact and repeatable (unlike times): a change that adds a call shows up here. The stream's own
work (reactions) is counted separately from the request that caused it, with the stream pollers paused.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from botocore.client import BaseClient

from infra.local_stack import LocalSettings, LocalStack
from infra.samples import individual
from shared.observability import logger

RESULTS = Path(__file__).parent / "results" / "call_counts.json"
_calls: Counter[str] = Counter()
_original = BaseClient._make_api_call  # type: ignore[attr-defined]


def _counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
    service = self.meta.service_model.service_name
    if service not in {"dynamodbstreams", "sqs"}:  # the pollers' own reads are not the function's calls
        _calls[f"{service}.{operation}"] += 1
    return _original(self, operation, params)


@contextmanager
def counted(stack: LocalStack) -> Iterator[dict[str, Any]]:
    _calls.clear()
    stripe_before = len(stack.standin.requests_log)
    result: dict[str, Any] = {}
    yield result
    result["aws"] = dict(sorted(_calls.items()))
    result["aws_total"] = sum(_calls.values())
    stripe = stack.standin.requests_log[stripe_before:]
    result["stripe"] = [f"{method} {path}" for method, path, _ in stripe if path.startswith("/v1/")]


def main() -> int:
    BaseClient._make_api_call = _counting  # type: ignore[attr-defined]  # where every client's call passes
    settings = LocalSettings.from_environment()
    stack = LocalStack(settings.__class__(**{**settings.__dict__, "port": 0, "stripe_port": 0, "aws_port": 0}))
    stack.start().serve_in_background()
    logger.setLevel("WARNING")
    for poller in stack._pollers:
        poller.stop()
    api, http = stack.api_url, requests.Session()
    results: dict[str, dict[str, Any]] = {}

    def operation(name: str, action: Callable[[], Any]) -> Any:
        with counted(stack) as result:
            answer = action()
        results[name] = result
        return answer

    def stream() -> None:
        for poller in stack._pollers:
            while poller.has_pending():
                poller.poll_once()
        stack.standin.wait_idle()

    operation("invalid registration (422)", lambda: http.post(f"{api}/registrations", json={"kind": "vip"}))
    created = operation("registration", lambda: http.post(f"{api}/registrations", json=individual()).json())
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    pay = f"{stack.standin.public_url}/_test/checkout_sessions/{session_id}/pay"
    operation("webhook: checkout.session.completed", lambda: http.post(pay, json={}))
    operation("stream: paid -> attendee, outbox, coin; confirmation sent", stream)
    raw = http.get(f"{api}/_local/emails/{http.get(f'{api}/_local/emails').json()[0]['id']}.eml").text
    code = re.findall(r"^Access code: (\S+)\r?$", raw, flags=re.MULTILINE)[0]
    http.post(f"{api}/_local/clock", json={"now": "2020-08-05T11:40:00-05:00"})
    token = operation(
        "login", lambda: http.post(f"{api}/logins", json={"email": "ana.lopez@example.org", "access_code": code}).json()
    )["session_token"]
    beat = f"{api}/attendance/heartbeats"
    headers = {"Authorization": f"Bearer {token}"}
    operation("heartbeat", lambda: http.post(beat, json={"session_id": "d1-implicit-bias"}, headers=headers))
    operation(
        "heartbeat with an invalid token (401)",
        lambda: http.post(beat, json={"session_id": "x"}, headers={"Authorization": "Bearer x"}),
    )

    print("Exact external calls per operation (local stack, over HTTP)")
    for name, result in results.items():
        calls = ", ".join(f"{op} x{n}" for op, n in result["aws"].items()) or "none"
        print(f"  {name:<58} AWS {result['aws_total']:>2}  Stripe {len(result['stripe'])}")
        print(f"      {calls}")
        if result["stripe"]:
            print(f"      Stripe: {', '.join(result['stripe'])}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
