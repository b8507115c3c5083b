"""Load run: many concurrent registrants and payments against a fresh local stack, over HTTP only.

Registrations (mostly individuals, some agency groups) are submitted at once from many threads, with the
duplicates real browsers and clients make: the same person submitting two or three times at the same
moment (no key), and a client retrying the same request concurrently with the same Idempotency-Key. Every
registration is then paid through the Stripe stand-in (its signed webhooks), some webhooks are delivered a
second time, and the stack is drained.

Musts (exit 1 if one fails): no 5xx answer; every submission of one registration answers that registration
(200/201) or a documented 409 (`registration_in_progress`, `request_in_progress`); one registration per
registrant; every seat paid; exactly one confirmation email per paid seat and one receipt per group.
Reports latency percentiles per route. Writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.conference_run import Registration, registrations_for
from bench.stack_process import StackProcess
from bench.traffic import Http, Traffic, fan_out

RESULTS = Path(__file__).parent / "results" / "load.json"
ALLOWED_CONFLICTS = {"registration_in_progress", "request_in_progress"}


@dataclass
class Submission:
    registrant: int  # index of the registration it submits
    idempotency_key: str | None = None


@dataclass
class Outcome:
    registration_ids: set[str] = field(default_factory=set)
    checkout_sessions: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)


def submissions_for(registrations: list[Registration], seed: int) -> list[Submission]:
    """One submission each; every fifth registrant submits two or three times at once (a double click, no
    key); every fifth other one is a client retrying the same request with one Idempotency-Key, three times."""
    rng = random.Random(seed)  # noqa: S311  (a repeatable load, not a secret)
    submissions: list[Submission] = []
    for index in range(len(registrations)):
        if index % 5 == 1:
            submissions += [Submission(index) for _ in range(rng.choice((2, 3)))]
        elif index % 5 == 3:
            key = str(uuid.UUID(int=rng.getrandbits(128)))
            submissions += [Submission(index, key) for _ in range(3)]
        else:
            submissions.append(Submission(index))
    rng.shuffle(submissions)  # duplicates land on different threads, near each other in time
    return submissions


class LoadRun:
    def __init__(self, api: str, stripe: str, registrants: int, threads: int, say: Any = print) -> None:
        self.api, self.stripe, self.threads, self.say = api, stripe, threads, say
        self.traffic = Traffic()
        self.http = Http(self.traffic)
        self.registrations = registrations_for(registrants, seed=7)
        self.submissions = submissions_for(self.registrations, seed=7)
        self.outcomes: defaultdict[int, Outcome] = defaultdict(Outcome)
        self.failures: list[str] = []
        self.phases: dict[str, float] = {}

    def fail(self, failure: str) -> None:
        self.failures.append(failure)

    def timed(self, name: str, work: Any) -> None:
        started = time.perf_counter()
        work()
        self.phases[name] = round(time.perf_counter() - started, 2)
        self.say(f"  {name:<10} {self.phases[name]:7.1f} s")

    def submit(self, submission: Submission) -> None:
        registration = self.registrations[submission.registrant]
        headers = {"Idempotency-Key": submission.idempotency_key} if submission.idempotency_key else {}
        answer = self.http.call(
            "POST /registrations", f"{self.api}/registrations", json=registration.body(), headers=headers
        )
        outcome = self.outcomes[submission.registrant]
        if answer.status_code in (200, 201):
            created = answer.json()
            outcome.registration_ids.add(created["registration_id"])
            outcome.checkout_sessions.add(created["checkout_url"].rsplit("/", 1)[-1])
            outcome.answers[str(answer.status_code)] += 1
        elif answer.status_code == 409 and answer.json().get("code") in ALLOWED_CONFLICTS:
            outcome.answers[answer.json()["code"]] += 1
        else:
            outcome.answers[str(answer.status_code)] += 1
            self.fail(f"registrant {submission.registrant}: {answer.status_code} {answer.text[:200]}")

    def pay(self, registrant: int) -> None:
        outcome = self.outcomes[registrant]
        for session in sorted(outcome.checkout_sessions):  # a later submission may have made a new session
            url = f"{self.stripe}/_test/checkout_sessions/{session}/pay"
            answer = self.http.call("POST /_test/checkout_sessions/{id}/pay", url, json={})
            events = answer.json().get("events", []) if answer.status_code == 200 else []
            if not events or any(e["status_code"] != 200 for e in events):
                self.fail(f"paying registrant {registrant}: {answer.status_code} {answer.text[:200]}")
            elif registrant % 10 == 0:  # Stripe delivers some events twice
                for event in events:
                    resend = f"{self.stripe}/_test/events/{event['id']}/resend"
                    again = self.http.call("POST /_test/events/{id}/resend", resend, json={})
                    if again.status_code != 200:
                        self.fail(f"resending {event['id']}: {again.status_code}")
            break  # one payment per registration

    def drain(self) -> None:
        for _ in range(20):
            answer = self.http.call("POST /_local/drain", f"{self.api}/_local/drain", timeout=90)
            if answer.status_code == 200:
                return
        self.fail("the stack did not drain")

    def run(self) -> dict[str, Any]:
        seats = sum(len(r.attendees) for r in self.registrations)
        self.say(
            f"{len(self.registrations)} registrants ({seats} seats), {len(self.submissions)} submissions "
            f"on {self.threads} threads"
        )
        wall = time.perf_counter()
        self.timed("register", lambda: fan_out(self.submissions, self.submit, self.threads))
        for index, outcome in sorted(self.outcomes.items()):
            if len(outcome.registration_ids) != 1:
                self.fail(f"registrant {index} ended with registrations {sorted(outcome.registration_ids)}")
        self.timed("pay", lambda: fan_out(range(len(self.registrations)), self.pay, self.threads))
        self.timed("drain", self.drain)
        statuses = self.check_registrations()
        emails = self.check_emails()
        wall_seconds = time.perf_counter() - wall
        # The local drain's 503 means "still working after 60 s, ask again" (the run does); it is no product answer.
        errors = {route: n for route, n in self.traffic.server_errors().items() if route != "POST /_local/drain"}
        if errors:
            self.fail(f"5xx answers: {errors}")
        answers: Counter[str] = Counter()
        for outcome in self.outcomes.values():
            answers.update(outcome.answers)
        paid_seats = sum(len(self.registrations[i].attendees) for i, s in statuses.items() if s == "paid")
        return {
            "registrants": len(self.registrations),
            "seats": seats,
            "submissions": len(self.submissions),
            "client_threads": self.threads,
            "registration_answers": dict(sorted(answers.items())),
            "registrations_created": sum(len(o.registration_ids) for o in self.outcomes.values()),
            "paid_seats": paid_seats,
            "confirmations": emails["confirmations"],
            "confirmations_per_paid_seat": round(emails["confirmations"] / paid_seats, 3) if paid_seats else 0,
            "receipts": emails["receipts"],
            "server_errors": sum(errors.values()),
            "wall_seconds": round(wall_seconds, 1),
            "phases": self.phases,
            "requests": self.traffic.requests(),
            "requests_per_second": round(self.traffic.requests() / wall_seconds, 1),
            "routes": self.traffic.routes(),
            "failures": self.failures[:50],
            "failure_count": len(self.failures),
        }

    def check_registrations(self) -> dict[int, str]:
        def status(index: int) -> tuple[int, str]:
            ids = self.outcomes[index].registration_ids
            if len(ids) != 1:
                return index, "unknown"
            answer = self.http.call("GET /registrations/{id}", f"{self.api}/registrations/{next(iter(ids))}")
            return index, answer.json().get("status", "unknown") if answer.status_code == 200 else "unknown"

        found = dict(fan_out(range(len(self.registrations)), status, self.threads))
        for index, value in found.items():
            if value != "paid":
                self.fail(f"registrant {index} ended {value}, not paid")
        return found

    def check_emails(self) -> dict[str, int]:
        answer = self.http.call("GET /_local/emails", f"{self.api}/_local/emails")
        emails = answer.json()
        confirmations = Counter(a.lower() for e in emails if "confirmed" in e["subject"] for a in e["to"])
        receipts = Counter(a.lower() for e in emails if e["subject"].startswith("Receipt") for a in e["to"])
        for registration in self.registrations:
            for attendee in registration.attendees:
                if confirmations[attendee.email] != 1:
                    self.fail(f"{attendee.email}: {confirmations[attendee.email]} confirmations, not exactly one")
            if registration.kind == "group" and receipts[registration.purchaser_email] != 1:
                self.fail(f"{registration.purchaser_email}: {receipts[registration.purchaser_email]} receipts")
        return {"confirmations": sum(confirmations.values()), "receipts": sum(receipts.values())}


def run_load(registrants: int, threads: int, say: Any = print) -> dict[str, Any]:
    with StackProcess() as stack:
        result = LoadRun(stack.api, stack.stripe, registrants, threads, say=say).run()
        memory = stack.memory_kib()
    result["stack_peak_rss_mib"] = round(memory["VmHWM"] / 1024, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrants", type=int, default=300, help="people (seats) to register (%(default)s)")
    parser.add_argument("--threads", type=int, default=32, help="client threads (default %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    print(f"Load run through a fresh local stack over HTTP: {args.registrants} seats, {args.threads} threads")
    result = run_load(args.registrants, args.threads)
    report = {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        **result,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"{result['submissions']} submissions for {result['registrants']} registrants -> "
        f"{result['registrations_created']} registrations {result['registration_answers']}; "
        f"{result['paid_seats']} paid seats, {result['confirmations']} confirmations "
        f"({result['confirmations_per_paid_seat']} per paid seat), {result['receipts']} receipts; "
        f"5xx: {result['server_errors']}; {result['wall_seconds']} s, {result['requests_per_second']} req/s"
    )
    print(f"{'route':<42} {'count':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for route, figures in result["routes"].items():
        print(f"{route:<42} {figures['count']:>6} {figures['p50_ms']:>8} {figures['p90_ms']:>8} {figures['p99_ms']:>8}")
    print(f"(written to {args.output})")
    for failure in result["failures"][:10]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if result["failure_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
