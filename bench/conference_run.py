"""A whole conference through the local stack over HTTP, for N attendees, each N in a fresh stack process.

Only the public HTTP contract (shared/API.md) is used, plus the local stack's `/_local/*` routes and the
Stripe stand-in's `/_test/*` routes, as any outside client would:

1. register: mostly individual registrations, some agency groups (2 to 10 named attendees);
2. pay: the stand-in completes each Checkout Session and delivers the signed webhooks;
3. confirmations: drain, then read each attendee's access code from their confirmation in the mailbox;
4. attend: conference time moves to each morning (attendees log in) and through every minute of the agenda
   (heartbeats from whoever watches that minute);
5. attendance: every tenth attendee who logged in reads GET /me/attendance, checked against what they watched;
6. certificates: conference time moves past the end, which fires the certificate schedule; drain;
7. (--issue-again) POST /admin/certificates/issue must find the same eligible attendees and queue nothing.

Checked: no 5xx, exactly one confirmation per attendee and one receipt per group, exactly one certificate
email per eligible attendee and none for the others, every certificate sampled verifies as valid.

The agenda is bench/conference-compact.json: the NASRO 2020 conference's dates, time zone, fee and
certificate policy, with three days of two 2-minute sessions (12 scheduled minutes, not 930), because
heartbeats are credited per conference-time minute: a faithful agenda would be ~1M heartbeats for 2,000
attendees. Writes bench/results/conference_run.json and prints a table.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.stack_process import COMPACT_CONFERENCE, StackProcess
from bench.traffic import Http, Traffic, fan_out
from infra.organiser_sign_in import organiser_token

RESULTS = Path(__file__).parent / "results" / "conference_run.json"
DEFAULT_SIZES = (100, 500, 2000)
BUDGET_SECONDS = 300  # 2,000 attendees end to end
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dmitri", "Eve", "Fatima", "Grace", "Hiroshi", "Łukasz", "Nguyễn", "Olu", "Zoë"]
LAST_NAMES = ["Lopez", "Okafor", "Diaz", "Walsh", "Martin", "Chen", "Park", "Kowalski", "Văn An", "Müller", "O'Neil"]
# Who watches what, in a cycle of 20 attendees: 16 of 20 end eligible (12 everything, 2 two of three days, 2
# exactly half of every session), 4 do not (one day only, logging in without watching, never logging in).
PLAN_CYCLE = ["everything"] * 12 + ["two_days"] * 2 + ["half"] * 2 + ["one_day", "one_day", "login_only", "never"]


@dataclass
class Attendee:
    number: int
    first_name: str
    last_name: str
    email: str
    plan: str
    access_code: str = ""
    token: str = ""
    minutes: int = 0  # minutes this attendee watched (sent a heartbeat in)
    logged_in: bool = False


@dataclass
class Registration:
    kind: str
    attendees: list[Attendee]
    purchaser_email: str = ""
    registration_id: str = ""
    checkout_session: str = ""

    def body(self) -> dict[str, Any]:
        people = [
            {
                "first_name": a.first_name,
                "last_name": a.last_name,
                "email": a.email,
                "organization": f"District {a.number % 37} School Police",
                "job_title": "School Resource Officer",
            }
            for a in self.attendees
        ]
        if self.kind == "individual":
            return {
                "kind": "individual",
                "attendee": people[0] | {"phone": "+1 555 0100"},
                "shipping_address": {
                    "line1": f"{self.attendees[0].number} Main St",
                    "line2": None,
                    "city": "Springfield",
                    "state": "IL",
                    "postal_code": "62701",
                    "country": "US",
                },
            }
        return {
            "kind": "group",
            "purchaser": {"name": "Chief Ray Park", "email": self.purchaser_email, "organization": "School Police"},
            "attendees": people,
        }


def registrations_for(size: int, seed: int = 2020) -> list[Registration]:
    """`size` attendees: about 6% of registrations are agency groups of 2 to 10 (about a quarter of the seats)."""
    rng = random.Random(seed)  # noqa: S311  (a repeatable mix of people, not a secret)
    registrations: list[Registration] = []
    number = 0

    def person() -> Attendee:
        nonlocal number
        number += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return Attendee(number, first, last, f"attendee{number:06d}@example.org", PLAN_CYCLE[number % len(PLAN_CYCLE)])

    while number < size:
        seats = min(size - number, rng.randint(2, 10)) if rng.random() < 0.06 else 1
        if seats == 1:
            registrations.append(Registration("individual", [person()]))
        else:
            purchaser = f"agency{len(registrations):05d}@example.org"
            registrations.append(Registration("group", [person() for _ in range(seats)], purchaser_email=purchaser))
    return registrations


@dataclass(frozen=True)
class Session:
    id: str
    day: date
    starts_at: datetime
    minutes: int


def watches(plan: str, days: list[date], session: Session, minute: int) -> bool:
    if plan == "everything":
        return True
    if plan == "two_days":
        return session.day != days[1]
    if plan == "half":
        return minute < session.minutes / 2
    if plan == "one_day":
        return session.day == days[1]
    return False  # login_only, never


def logs_in_on(plan: str, days: list[date], day_sessions: list[Session]) -> bool:
    """Each morning, everyone who will watch something that day logs in (a new session each day)."""
    if plan == "login_only":
        return day_sessions[0].day == days[0]
    return plan != "never" and any(watches(plan, days, s, 0) for s in day_sessions)


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def expect(self, condition: bool, failure: str) -> bool:
        if not condition:
            with self._lock:
                self.failures.append(failure)
        return condition


class ConferenceRun:
    def __init__(
        self, api: str, stripe: str, size: int, threads: int, *, issue_again: bool = False, say: Any = print
    ) -> None:
        self.api, self.stripe, self.size, self.threads, self.say = api, stripe, size, threads, say
        self.issue_again_too = issue_again
        self.traffic = Traffic()
        self.http = Http(self.traffic)
        self.checks = Checks()
        self.phases: dict[str, dict[str, Any]] = {}
        self.registrations = registrations_for(size)
        self.attendees = [a for r in self.registrations for a in r.attendees]
        self.heartbeats = 0
        self.logins = 0

    # ---- plumbing
    def phase(self, name: str, work: Any) -> Any:
        requests_before, started = self.traffic.requests(), time.perf_counter()
        result = work()
        seconds = time.perf_counter() - started
        self.phases[name] = {"seconds": round(seconds, 2), "requests": self.traffic.requests() - requests_before}
        self.say(f"  {name:<16} {seconds:7.1f} s  {self.phases[name]['requests']:>7} requests")
        return result

    def clock(self, moment: datetime) -> None:
        answer = self.http.call("POST /_local/clock", f"{self.api}/_local/clock", json={"now": moment.isoformat()})
        answer.raise_for_status()

    def drain(self) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # the stack gives up after 60 s of work and answers 503: ask again
            # A schedule fired by the drain runs inside it (the certificate issuer: minutes for thousands).
            answer = self.http.call("POST /_local/drain", f"{self.api}/_local/drain", timeout=900)
            if answer.status_code == 200:
                return
            if answer.status_code != 503:
                answer.raise_for_status()
        raise RuntimeError("the stack did not drain within 10 minutes")

    def emails(self) -> list[dict[str, Any]]:
        answer = self.http.call("GET /_local/emails", f"{self.api}/_local/emails")
        answer.raise_for_status()
        return list(answer.json())

    def raw_email(self, email_id: str) -> str:
        answer = self.http.call("GET /_local/emails/{id}.eml", f"{self.api}/_local/emails/{email_id}.eml")
        answer.raise_for_status()
        return answer.text

    # ---- the conference
    def run(self) -> dict[str, Any]:
        conference = self.http.call("GET /conference", f"{self.api}/conference").json()
        zone = ZoneInfo(conference["timezone"])
        sessions = [
            Session(
                s["id"],
                date.fromisoformat(s["day"]),
                datetime.fromisoformat(s["starts_at"]),
                int(
                    (datetime.fromisoformat(s["ends_at"]) - datetime.fromisoformat(s["starts_at"]))
                    // timedelta(minutes=1)
                ),
            )
            for s in conference["sessions"]
        ]
        by_day: dict[date, list[Session]] = {}
        for s in sessions:
            by_day.setdefault(s.day, []).append(s)
        days = sorted(by_day)
        scheduled = sum(s.minutes for s in sessions)
        share = float(conference["certificate_policy"]["min_attendance_share"])
        groups = sum(r.kind == "group" for r in self.registrations)
        self.say(
            f"N={self.size}: {len(self.registrations)} registrations ({groups} agency groups), "
            f"{len(sessions)} sessions, {scheduled} scheduled minutes, {self.threads} client threads"
        )
        wall = time.perf_counter()
        self.phase("register", self.register)
        self.phase("pay", self.pay)
        self.phase("confirmations", self.read_access_codes)
        self.phase("attend", lambda: self.attend(by_day))
        self.phase("attendance", lambda: self.check_attendance(scheduled, share))
        eligible = {a.email for a in self.attendees if a.logged_in and a.minutes >= share * scheduled}
        self.phase("certificates", lambda: self.certificates(days[-1], zone, eligible))
        if self.issue_again_too:
            self.phase("issue again", lambda: self.issue_again(len(eligible)))
        wall_seconds = time.perf_counter() - wall
        return self.result(wall_seconds, scheduled, groups, len(eligible))

    def register(self) -> None:
        def one(registration: Registration) -> None:
            answer = self.http.call("POST /registrations", f"{self.api}/registrations", json=registration.body())
            if self.checks.expect(
                answer.status_code == 201, f"registration answered {answer.status_code}: {answer.text[:200]}"
            ):
                created = answer.json()
                registration.registration_id = created["registration_id"]
                registration.checkout_session = created["checkout_url"].rsplit("/", 1)[-1]

        fan_out(self.registrations, one, self.threads)

    def pay(self) -> None:
        def one(registration: Registration) -> None:
            if not registration.checkout_session:
                return
            url = f"{self.stripe}/_test/checkout_sessions/{registration.checkout_session}/pay"
            answer = self.http.call("POST /_test/checkout_sessions/{id}/pay", url, json={})
            delivered = answer.json().get("events", []) if answer.status_code == 200 else []
            self.checks.expect(
                bool(delivered) and all(e["status_code"] == 200 for e in delivered),
                f"paying {registration.registration_id}: {answer.status_code} {answer.text[:200]}",
            )

        fan_out(self.registrations, one, self.threads)

    def read_access_codes(self) -> None:
        self.drain()
        emails = self.emails()
        confirmations = [e for e in emails if "confirmed" in e["subject"]]
        per_address = Counter(address.lower() for e in confirmations for address in e["to"])
        by_address = {address.lower(): e["id"] for e in confirmations for address in e["to"]}
        for attendee in self.attendees:
            self.checks.expect(
                per_address[attendee.email] == 1,
                f"{attendee.email} got {per_address[attendee.email]} confirmations, not exactly one",
            )
        receipts = Counter(a.lower() for e in emails if e["subject"].startswith("Receipt") for a in e["to"])
        for registration in self.registrations:
            if registration.kind == "group":
                self.checks.expect(
                    receipts[registration.purchaser_email] == 1,
                    f"{registration.purchaser_email} got {receipts[registration.purchaser_email]} receipts",
                )

        def one(attendee: Attendee) -> None:
            if attendee.email not in by_address:
                return
            codes = re.findall(
                r"^Access code: (\S+)\r?$", self.raw_email(by_address[attendee.email]), flags=re.MULTILINE
            )
            if self.checks.expect(len(codes) == 1, f"no access code in {attendee.email}'s confirmation"):
                attendee.access_code = codes[0]

        fan_out(self.attendees, one, self.threads)

    def attend(self, by_day: dict[date, list[Session]]) -> None:
        days = sorted(by_day)
        for day in days:
            self.clock(by_day[day][0].starts_at - timedelta(minutes=5))
            arriving = [a for a in self.attendees if a.access_code and logs_in_on(a.plan, days, by_day[day])]
            fan_out(arriving, self.log_in, self.threads)
            for session in by_day[day]:
                for minute in range(session.minutes):
                    moment = session.starts_at + timedelta(minutes=minute, seconds=1)
                    self.clock(moment)
                    started = time.monotonic()
                    audience = [a for a in self.attendees if a.token and watches(a.plan, days, session, minute)]
                    fan_out(audience, functools.partial(self.heartbeat, session=session), self.threads)
                    # Conference time runs at real speed from `moment`: the minute must not have ended meanwhile.
                    self.checks.expect(
                        time.monotonic() - started < 58,
                        f"heartbeats for {session.id} minute {minute} took longer than the conference minute",
                    )

    def log_in(self, attendee: Attendee) -> None:
        body = {"email": attendee.email, "access_code": attendee.access_code}
        answer = self.http.call("POST /logins", f"{self.api}/logins", json=body)
        if self.checks.expect(answer.status_code == 200, f"login {attendee.email}: {answer.status_code}"):
            attendee.token = answer.json()["session_token"]
            attendee.logged_in = True
            self.logins += 1

    def heartbeat(self, attendee: Attendee, session: Session) -> None:
        answer = self.http.call(
            "POST /attendance/heartbeats",
            f"{self.api}/attendance/heartbeats",
            json={"session_id": session.id},
            headers={"Authorization": f"Bearer {attendee.token}"},
        )
        if self.checks.expect(answer.status_code == 204, f"heartbeat {attendee.email}: {answer.status_code}"):
            attendee.minutes += 1
            self.heartbeats += 1

    def check_attendance(self, scheduled: int, share: float) -> None:
        def one(attendee: Attendee) -> None:
            answer = self.http.call(
                "GET /me/attendance", f"{self.api}/me/attendance", headers={"Authorization": f"Bearer {attendee.token}"}
            )
            if not self.checks.expect(answer.status_code == 200, f"attendance {attendee.email}: {answer.status_code}"):
                return
            mine = answer.json()
            attended = sum(s["minutes_attended"] for s in mine["sessions"])
            expected = attendee.minutes >= share * scheduled
            self.checks.expect(
                attended == attendee.minutes and mine["eligible"] is expected,
                f"{attendee.email} ({attendee.plan}): {attended} minutes, eligible {mine['eligible']}; "
                f"expected {attendee.minutes}, {expected}",
            )

        # Every tenth attendee who logged in looks (the certificates check everyone's eligibility anyway).
        fan_out([a for a in self.attendees if a.token and a.number % 10 == 0], one, self.threads)

    def certificates(self, last_day: date, zone: ZoneInfo, eligible: set[str]) -> None:
        # Past the end of the last day: the certificate schedule (in the template) fires.
        self.clock(datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone) + timedelta(seconds=30))
        self.drain()
        certificates = [e for e in self.emails() if "Certificate" in e["subject"]]
        per_address = Counter(address.lower() for e in certificates for address in e["to"])
        for attendee in self.attendees:
            wanted = 1 if attendee.email in eligible else 0
            self.checks.expect(
                per_address[attendee.email] == wanted,
                f"{attendee.email} ({attendee.plan}) got {per_address[attendee.email]} certificates, expected {wanted}",
            )
        self.checks.expect(
            all(
                len([a for a in e["attachments"] if a["content_type"] == "application/pdf"]) == 1 for e in certificates
            ),
            "a certificate email without exactly one PDF",
        )

        def verify(email: dict[str, Any]) -> None:
            (certificate_id,) = re.findall(
                r"^Certificate ID: (\S+)\r?$", self.raw_email(email["id"]), flags=re.MULTILINE
            )
            answer = self.http.call("GET /certificates/{id}", f"{self.api}/certificates/{certificate_id}")
            self.checks.expect(
                answer.status_code == 200 and answer.json()["status"] == "valid",
                f"certificate {certificate_id} does not verify: {answer.status_code}",
            )

        sample = random.Random(self.size).sample(certificates, min(20, len(certificates)))  # noqa: S311  (repeatable)
        fan_out(sample, verify, self.threads)

    def issue_again(self, eligible: int) -> None:
        answer = self.http.call(
            "POST /admin/certificates/issue",
            f"{self.api}/admin/certificates/issue",
            headers={"Authorization": f"Bearer {organiser_token(self.api)}"},
            timeout=600,
        )
        counts = answer.json() if answer.status_code == 202 else {}
        # Past the route's count (complete false) it counts the first seats only: fewer eligible, none queued.
        counted = eligible if counts.get("complete") else min(eligible, counts.get("eligible", -1))
        self.checks.expect(
            (counts.get("eligible"), counts.get("queued")) == (counted, 0),
            f"issuing again answered {answer.status_code} {counts}; expected {eligible} eligible, 0 queued",
        )
        self.drain()

    def result(self, wall: float, scheduled: int, groups: int, eligible: int) -> dict[str, Any]:
        emails = self.emails()
        kinds = Counter(
            "confirmation"
            if "confirmed" in e["subject"]
            else "certificate"
            if "Certificate" in e["subject"]
            else "other"
            for e in emails
        )
        requests = self.traffic.requests()
        # The local drain's 503 means "still working after 60 s, ask again" (the run does); it is no product answer.
        errors = {route: n for route, n in self.traffic.server_errors().items() if route != "POST /_local/drain"}
        self.checks.expect(not errors, f"5xx answers: {errors}")
        email_phases = ("pay", "confirmations", "certificates")
        return {
            "attendees": self.size,
            "registrations": len(self.registrations),
            "agency_groups": groups,
            "client_threads": self.threads,
            "scheduled_minutes": scheduled,
            "wall_seconds": round(wall, 1),
            "per_attendee_ms": round(1000 * wall / self.size, 1),
            "phases": self.phases,
            "requests": requests,
            "requests_per_second": round(requests / wall, 1),
            "emails": dict(kinds) | {"total": len(emails)},
            "emails_per_second": round(len(emails) / wall, 2),
            "emails_per_second_while_sending": round(
                len(emails) / sum(self.phases[p]["seconds"] for p in email_phases), 2
            ),
            "logins": self.logins,
            "heartbeats": self.heartbeats,
            "heartbeats_per_attendee": round(self.heartbeats / self.size, 2),
            "eligible": eligible,
            "server_errors": errors,
            "drain_retries": self.traffic.statuses("POST /_local/drain").get(503, 0),
            "routes": self.traffic.routes(),
            "failures": self.checks.failures[:50],
            "failure_count": len(self.checks.failures),
        }


def run_size(
    size: int, threads: int, *, issue_again: bool = False, conference_file: Path = COMPACT_CONFERENCE, say: Any = print
) -> dict[str, Any]:
    """One conference of `size` attendees in a fresh local stack process; the stack's memory is read at the end."""
    with StackProcess(conference_file) as stack:
        run = ConferenceRun(stack.api, stack.stripe, size, threads, issue_again=issue_again, say=say)
        result = run.run()
        memory = stack.memory_kib()
    result["stack_peak_rss_mib"] = round(memory["VmHWM"] / 1024, 1)
    result["stack_rss_at_end_mib"] = round(memory["VmRSS"] / 1024, 1)
    return result


def table(results: list[dict[str, Any]]) -> str:
    base = results[0]["per_attendee_ms"] if results else 1
    phases = list(results[0]["phases"]) if results else []
    head = ["N", "wall s", *[f"{p} s" for p in phases], "req/s", "emails/s", "peak RSS MiB", "ms/attendee", "vs first"]
    rows = [head]
    for r in results:
        rows.append(
            [
                str(r["attendees"]),
                f"{r['wall_seconds']:.1f}",
                *[f"{r['phases'][p]['seconds']:.1f}" for p in phases],
                f"{r['requests_per_second']:.0f}",
                f"{r['emails_per_second']:.1f}",
                f"{r['stack_peak_rss_mib']:.0f}",
                f"{r['per_attendee_ms']:.0f}",
                f"{r['per_attendee_ms'] / base:.2f}x",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conference_run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="attendees per run (default %(default)s)"
    )
    parser.add_argument("--threads", type=int, default=8, help="client threads (default %(default)s)")
    parser.add_argument(
        "--issue-again",
        action="store_true",
        help="then POST /admin/certificates/issue, which must queue nothing (one synchronous pass over everyone)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"Conference runs through the local stack over HTTP, agenda {COMPACT_CONFERENCE.name} "
        "(3 days, 6 sessions of 2 minutes; NASRO's dates and certificate policy)"
    )
    results: list[dict[str, Any]] = []
    for size in sizes:
        results.append(run_size(size, args.threads, issue_again=args.issue_again))
        write(results, args.output)  # after each size: a long run that fails later keeps what it measured
    print(table(results))
    print(f"(written to {args.output})")
    failed = [r for r in results if r["failure_count"]]
    for r in failed:
        print(f"N={r['attendees']}: {r['failure_count']} check(s) failed, first: {r['failures'][:5]}", file=sys.stderr)
    return 1 if failed else 0


def write(results: list[dict[str, Any]], output: Path) -> None:
    base = results[0]["per_attendee_ms"]
    for r in results:
        r["per_attendee_vs_first"] = round(r["per_attendee_ms"] / base, 2)
    largest = max(results, key=lambda r: r["attendees"])
    report = {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "conference_file": str(COMPACT_CONFERENCE.relative_to(Path(__file__).resolve().parent.parent)),
        "budget": {
            "attendees": largest["attendees"],
            "seconds": BUDGET_SECONDS,
            "met": largest["attendees"] < 2000 or largest["wall_seconds"] < BUDGET_SECONDS,
        },
        "runs": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
