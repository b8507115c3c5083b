"""Handler latency in-process against moto: p50 and p99 per operation, next to the bare handler doing one
PutItem (bench/baseline_handler.py) measured in the same run, as ratios.

The functions run in this process (bench/harness.py) against the moto server the tests use, Stripe's part
played by the stand-in over loopback HTTP. Each round invokes every operation once, in a rotating order, so a
noisy neighbour hits all of them alike; each invocation is timed on its own. moto's cost per call dominates
(a DynamoDB call here costs about what the whole bare handler does), so the ratios say how many calls' worth
of time an operation takes: each is marked against a limit of twice its external calls (our own code should
cost less than the calls it makes). Never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench.harness  # noqa: F401 - first: the functions' environment, before any of their modules loads
from bench.call_budgets import AT_KEYNOTE, BEFORE_THE_CONFERENCE, KEYNOTE
from bench.harness import private_stack, quiet
from bench.traffic import documentation_address
from infra.apigw import LambdaContext, build_event, to_http_response
from infra.local_mailbox import LocalMailbox
from infra.local_stack import LocalStack
from infra.samples import JSON, encoded, individual
from infra.stripe_standin import objects
from infra.stripe_standin.webhooks import signature_header
from infra.template import Route
from shared.adapters.dynamodb import to_item
from shared.clock import conference_clock
from shared.conference import load_conference

RESULTS = Path(__file__).parent / "results" / "latency.json"
BASELINE = "bare handler, one PutItem"
# External calls per operation (DynamoDB, Stripe; bench/call_budgets.py): the limit on its ratio is twice that.
CALLS = {"registration": 3, "webhook checkout.session.completed": 5, "heartbeat": 1, "certificate verify": 2}


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Scenario:
    """What the operations need, made before anything is timed: a logged-in attendee inside the keynote, a
    valid certificate, and the Checkout Sessions the webhooks complete."""

    def __init__(self, harness: LocalStack) -> None:
        self.harness = harness
        self.api = harness.api
        import bench.baseline_handler as baseline  # after the harness: its client must point at moto

        self.baseline = baseline
        self.table = harness.stack.resources["MainTable"]
        self.token, self.certificate_id = self._attendee_with_a_certificate()
        self.pending_sessions: list[str] = []
        self.registrations = 0

    def _attendee_with_a_certificate(self) -> tuple[str, str]:
        api, person = self.api, f"latency.{uuid.uuid4().hex[:10]}@example.org"
        conference_clock.travel_to(BEFORE_THE_CONFERENCE)
        created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=person))).json()
        self.harness.standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
        self.harness.settle()
        mails = [m for m in LocalMailbox().emails() if person in m.to]
        # The confirmation's code: a receipt follows it, and carries none.
        code = [found for mail in mails for found in re.findall(rb"Access code: (\S+)\r\n", mail.raw)][-1]
        conference_clock.travel_to(AT_KEYNOTE)
        login = api.request(
            "POST", "/logins", headers=JSON, body=encoded({"email": person, "access_code": code.decode()})
        )
        attendee_id, token = login.json()["attendee_id"], login.json()["session_token"]
        # Every scheduled minute attended (as heartbeats would have credited them), then certificates issued.
        dynamodb = self.baseline.dynamodb
        for session in load_conference().sessions:
            dynamodb.update_item(
                TableName=self.table,
                Key=to_item({"pk": f"ATTENDEE#{attendee_id}", "sk": "META"}),
                UpdateExpression="ADD #minutes :m",
                ExpressionAttributeNames={"#minutes": f"minutes#{session.id}"},
                ExpressionAttributeValues=to_item({":m": set(range(session.scheduled_minutes))}),
            )
        admin = {"authorization": f"Bearer {self.harness.organiser_token('admin')}"}
        issued = api.request("POST", "/admin/certificates/issue", headers=admin)
        assert issued.status == 202, issued.json()
        self.harness.settle()
        body = next(m for m in LocalMailbox().emails() if person in m.to and "Certificate" in m.subject).raw
        (certificate_id,) = re.findall(rb"Certificate ID: (\S+)\r\n", body)
        return token, certificate_id.decode()

    # The operations, each one invocation; the answer's status is checked, so a failing path is never timed.

    def registration(self) -> int:
        body = encoded(individual(email=f"latency.{uuid.uuid4().hex[:12]}@example.org"))
        # Each from its own documentation address (RFC 5737): one address would meet RegistrationsPerAddress's 429.
        self.registrations += 1
        source_ip = documentation_address(self.registrations)
        answer = self.api.request("POST", "/registrations", headers=JSON, body=body, source_ip=source_ip)
        self.pending_sessions.append(answer.json()["checkout_url"].rsplit("/", 1)[-1])
        return int(answer.status)

    def webhook(self, payload: bytes) -> int:
        secret = self.harness.standin.webhook_secret
        headers = JSON | {"stripe-signature": signature_header(payload, secret, int(time.time()))}
        return int(self.api.request("POST", "/webhooks/stripe", headers=headers, body=payload).status)

    def heartbeat(self) -> int:
        headers = JSON | {"authorization": f"Bearer {self.token}"}
        body = encoded({"session_id": KEYNOTE})
        return int(self.api.request("POST", "/attendance/heartbeats", headers=headers, body=body).status)

    def verify(self) -> int:
        return int(self.api.request("GET", f"/certificates/{self.certificate_id}").status)

    def bare(self) -> int:
        route = Route("POST", "/ping", "Baseline")
        event = build_event(route, {}, method="POST", path="/ping", headers=JSON, body=encoded({"table": self.table}))
        return to_http_response(self.baseline.lambda_handler(event, LambdaContext(function_name="baseline"))).status

    def completed_event(self) -> bytes:
        """A signed-ready `checkout.session.completed` for a registration made earlier (not delivered by the
        stand-in: the benchmark delivers it, timed)."""
        session = self.pending_sessions.pop(0)
        standin = self.harness.standin
        url, standin.webhook_url = standin.webhook_url, None
        try:
            (delivery,) = standin.pay(session)
        finally:
            standin.webhook_url = url
        return objects.to_json(delivery.event)


def run(harness: LocalStack, invocations: int, warmup: int) -> dict[str, Any]:
    scenario = Scenario(harness)
    scenario.registration()  # one Checkout Session ahead, so every round has a webhook to deliver
    operations: dict[str, tuple[Callable[[], int], int]] = {
        BASELINE: (scenario.bare, 201),
        "registration": (scenario.registration, 201),
        "webhook checkout.session.completed": (lambda: 0, 200),  # replaced below: needs a fresh event
        "heartbeat": (scenario.heartbeat, 204),
        "certificate verify": (scenario.verify, 200),
    }
    samples: dict[str, list[float]] = {name: [] for name in operations}
    names = list(operations)
    for index in range(warmup + invocations):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            call, expected = operations[name]
            if name == "webhook checkout.session.completed":
                payload = scenario.completed_event()
                started = time.perf_counter_ns()
                status = scenario.webhook(payload)
            else:
                started = time.perf_counter_ns()
                status = call()
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if status != expected:
                raise RuntimeError(f"{name} answered {status}, expected {expected}")
            if index >= warmup:
                samples[name].append(elapsed)
    base50, base99 = _percentile(samples[BASELINE], 0.5), _percentile(samples[BASELINE], 0.99)
    rows = {}
    for name, values in samples.items():
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        limit = 2 * CALLS[name] if name in CALLS else None
        rows[name] = {
            "invocations": len(values),
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
            "mean_ms": round(statistics.fmean(values), 3),
            "ratio_p50": round(p50 / base50, 2),
            "ratio_p99": round(p99 / base99, 2),
            "limit_ratio_p50": limit,
            "pass": None if limit is None else p50 / base50 <= limit,
        }
    return {"benchmark": "handler latency in-process against moto", "rounds": invocations, "operations": rows}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Handler latency in-process against moto, {result['rounds']} interleaved invocations each:",
        f"  {'operation':<36} {'p50 ms':>8} {'p99 ms':>8} {'x bare p50':>10} {'x bare p99':>10}  limit",
    ]
    for name, row in result["operations"].items():
        mark = "-" if row["pass"] is None else f"<= {row['limit_ratio_p50']}x {'pass' if row['pass'] else 'FAIL'}"
        lines.append(
            f"  {name:<36} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['ratio_p50']:>9.2f}x "
            f"{row['ratio_p99']:>9.2f}x  {mark}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.latency", description=__doc__)
    parser.add_argument("--invocations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with private_stack() as harness, quiet():
        result = run(harness, args.invocations, args.warmup)
    print(table(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
