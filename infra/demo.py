"""`make demo`: a scripted conference run against the local stack, through HTTP only.

Starts a private local stack on free ports (or uses a running one: `--api URL --stripe URL`), then
registers a handful of people and an agency group, pays (by card and by a delayed method), lets one
checkout lapse and one delayed payment fail, refunds one seat through Stripe's API, opens a dispute,
drains, and prints what every registration ended as and every email sent (a confirmation with an access
code per paid seat, each payer's receipt, the refund notice). Then conference time moves minute by
minute through the three days: attendees log in with their codes and send heartbeats while they watch
(one everything, one a single day, one two days on a code a colleague also uses, one nothing), and each
one's attendance and certificate eligibility is printed with its reasons. Finally the organiser issues
certificates: one email with one PDF per eligible attendee, each id verified at GET /certificates/{id}.
Exits non-zero if anything ends somewhere other than the script expects. About 45 seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import requests

from infra.organiser_sign_in import organiser_token
from infra.samples import group, individual

STRIPE_KEY = os.environ.get("LOCAL_STRIPE_SECRET_KEY", "sk_test_local")


@dataclass
class Registrant:
    label: str
    body: dict[str, Any]
    expected: str
    registration_id: str = ""
    session_id: str = ""


class Demo:
    def __init__(self, api: str, stripe: str, say: Callable[[str], None] = print) -> None:
        self.api, self.stripe, self.say = api.rstrip("/"), stripe.rstrip("/"), say
        self.http = requests.Session()

    def register(self, person: Registrant) -> None:
        answer = self.http.post(f"{self.api}/registrations", json=person.body, timeout=15)
        answer.raise_for_status()
        created = answer.json()
        person.registration_id = created["registration_id"]
        person.session_id = created["checkout_url"].rsplit("/", 1)[-1]
        amount = created["amount"]["amount"] / 100
        self.say(f"  registered {person.label:<34} {created['seats']} seat(s), ${amount:,.2f}, awaiting payment")

    def stripe_test(self, person: Registrant, action: str, **body: str) -> None:
        answer = self.http.post(
            f"{self.stripe}/_test/checkout_sessions/{person.session_id}/{action}", json=body, timeout=15
        )
        answer.raise_for_status()
        events = ", ".join(f"{e['type']} -> {e['status_code']}" for e in answer.json()["events"])
        self.say(f"  stripe: {action:<8} {person.label:<26} {events}")

    def refund(self, person: Registrant) -> None:
        session = self.http.get(
            f"{self.stripe}/v1/checkout/sessions/{person.session_id}", auth=(STRIPE_KEY, ""), timeout=10
        )
        intent = session.json()["payment_intent"]
        self.http.post(f"{self.stripe}/v1/refunds", data={"payment_intent": intent}, auth=(STRIPE_KEY, ""), timeout=10)
        self.say(f"  stripe: refund   {person.label:<26} (charge.refunded follows in the background)")

    def status(self, person: Registrant) -> dict[str, Any]:
        return dict(self.http.get(f"{self.api}/registrations/{person.registration_id}", timeout=10).json())

    def run(self) -> bool:
        conference = self.http.get(f"{self.api}/conference", timeout=10).json()
        fee = conference["fee"]["amount"] / 100
        self.say(f"{conference['name']}, {conference['starts_on']} to {conference['ends_on']}, ${fee:,.2f} a seat")
        people = {
            "ana": Registrant("Ana Lopez (card)", individual("ana.lopez@example.org"), "paid"),
            "ben": Registrant(
                "Ben Okafor (bank debit)",
                individual("ben.okafor@example.org", first_name="Ben", last_name="Okafor"),
                "paid",
            ),
            "cruz": Registrant(
                "Cruz Diaz (debit fails)",
                individual("cruz.diaz@example.org", first_name="Cruz", last_name="Diaz"),
                "cancelled",
            ),
            "dee": Registrant(
                "Dee Walsh (walks away)",
                individual("dee.walsh@example.org", first_name="Dee", last_name="Walsh"),
                "expired",
            ),
            "dee2": Registrant(
                "Dee Walsh (comes back)",
                individual("dee.walsh@example.org", first_name="Dee", last_name="Walsh"),
                "paid",
            ),
            "eve": Registrant(
                "Eve Martin (refunded)",
                individual("eve.martin@example.org", first_name="Eve", last_name="Martin"),
                "refunded",
            ),
            "fay": Registrant(
                "Fay Chen (disputes)",
                individual("fay.chen@example.org", first_name="Fay", last_name="Chen"),
                "disputed",
            ),
            "agency": Registrant(
                "Springfield PD (3 officers)",
                group(["avery.park@example.org", "blake.park@example.org", "casey.park@example.org"]),
                "paid",
            ),
        }
        self.say("Registering")
        for key in ("ana", "ben", "cruz", "dee", "eve", "fay", "agency"):
            self.register(people[key])
        self.say("Paying")
        self.stripe_test(people["ana"], "pay")
        self.stripe_test(people["ben"], "pay", flow="async_success")
        self.stripe_test(people["cruz"], "pay", flow="async_failure")
        self.stripe_test(people["dee"], "expire")
        self.stripe_test(people["eve"], "pay")
        self.stripe_test(people["fay"], "pay")
        self.stripe_test(people["agency"], "pay")
        self.http.post(f"{self.api}/_local/drain", timeout=70).raise_for_status()
        sent = self.http.get(f"{self.api}/_local/emails", timeout=10).json()
        self.say(f"  drained: {sum('confirmed' in e['subject'] for e in sent)} confirmation(s) sent so far")
        self.say("Later")
        self.register(people["dee2"])
        self.stripe_test(people["dee2"], "pay")
        self.refund(people["eve"])
        self.stripe_test(people["fay"], "dispute")
        self.http.post(f"{self.api}/_local/drain", timeout=70).raise_for_status()
        self.say("Summary")
        ok = True
        for person in people.values():
            status = self.status(person)
            mark = "ok" if status["status"] == person.expected else f"EXPECTED {person.expected}"
            ok &= status["status"] == person.expected
            self.say(
                f"  {person.label:<34} {status['kind']:<10} {status['seats']} seat(s)  {status['status']:<9} {mark}"
            )
        emails = self.http.get(f"{self.api}/_local/emails", timeout=10).json()
        self.say("Emails")
        for email in emails:
            self.say(f"  to {', '.join(email['to']):<28} {email['subject']}")
        # Every seat that was ever paid got one confirmation (the refunded one too, before its refund), every payer
        # one receipt.
        payers = [p for p in people.values() if p.expected in {"paid", "disputed", "refunded"}]
        paid_seats = sum(self.status(p)["seats"] for p in payers)
        confirmations = sum("confirmed" in email["subject"] for email in emails)
        receipts = sum(email["subject"].startswith("Receipt") for email in emails)
        notices = sum("refunded" in email["subject"] for email in emails)
        self.say(
            f"  {confirmations} confirmations for {paid_seats} paid seats, {receipts} receipts for {len(payers)} "
            f"payers, {notices} refund notice"
        )
        emails_ok = (confirmations, receipts, notices) == (paid_seats, len(payers), 1)
        attended = self.attend(conference)
        return self.certify() and attended and ok and emails_ok

    def certify(self) -> bool:
        """The organiser issues certificates after the last session; each PDF's URL must verify."""
        self.say("Certificates of attendance")
        admin = {"Authorization": f"Bearer {organiser_token(self.api)}"}
        issued = self.http.post(f"{self.api}/admin/certificates/issue", headers=admin, timeout=60)
        counts = issued.json()
        self.say(
            f"  POST /admin/certificates/issue -> {issued.status_code} eligible {counts.get('eligible')}, "
            f"queued {counts.get('queued')}, job {counts.get('job_id')}"
        )
        self.http.post(f"{self.api}/_local/drain", timeout=70).raise_for_status()
        ok = issued.status_code == 202 and (counts["eligible"], counts["queued"], counts["complete"]) == (2, 2, True)
        certificates = [
            e for e in self.http.get(f"{self.api}/_local/emails", timeout=10).json() if "Certificate" in e["subject"]
        ]
        for email in certificates:
            raw = self.http.get(f"{self.api}/_local/emails/{email['id']}.eml", timeout=10).text
            (certificate_id,) = re.findall(r"^Certificate ID: (\S+)\r?$", raw, flags=re.MULTILINE)
            verified = self.http.get(f"{self.api}/certificates/{certificate_id}", timeout=10).json()
            pdfs = [a for a in email["attachments"] if a["content_type"] == "application/pdf"]
            self.say(
                f"  to {', '.join(email['to']):<26} {len(pdfs)} PDF ({pdfs[0]['size']:,} bytes), "
                f"{verified['hours']} hours, verifies as {verified['status']}"
            )
            ok &= verified["status"] == "valid" and len(pdfs) == 1
        self.say(f"  {len(certificates)} certificate email(s), one per eligible attendee, none for the others")
        return ok and len(certificates) == 2

    def access_code(self, address: str) -> str:
        for email in self.http.get(f"{self.api}/_local/emails", timeout=10).json():
            if address in email["to"] and "confirmed" in email["subject"]:
                raw = self.http.get(f"{self.api}/_local/emails/{email['id']}.eml", timeout=10).text
                return str(re.findall(r"^Access code: (\S+)\r?$", raw, flags=re.MULTILINE)[0])
        raise LookupError(f"no confirmation for {address}")

    def log_in(self, address: str, browser: str) -> str:
        answer = self.http.post(
            f"{self.api}/logins",
            json={"email": address, "access_code": self.access_code(address)},
            headers={"User-Agent": browser},
            timeout=10,
        )
        answer.raise_for_status()
        return str(answer.json()["session_token"])

    def attend(self, conference: dict[str, Any]) -> bool:
        """Three days of the agenda, minute by minute in conference time, with attendees who watch
        everything, one day, two days on a code they share with a colleague, or nothing at all."""
        self.say("The conference (conference time moves minute by minute through the agenda)")
        days = sorted({session["day"] for session in conference["sessions"]})
        watchers = {  # who watches which days
            "ana.lopez@example.org": set(days),
            "ben.okafor@example.org": {days[0]},
            "avery.park@example.org": set(days[1:]),
            "dee.walsh@example.org": set(),  # logs in, never watches
        }
        tokens: dict[str, str] = {}
        logged_in_on: set[str] = set()
        for session in conference["sessions"]:
            if session["day"] not in logged_in_on:  # each morning, everyone watching that day logs in
                logged_in_on.add(session["day"])
                self.clock(session["starts_at"])
                arriving = [a for a, watched in watchers.items() if session["day"] in watched or not tokens.get(a)]
                tokens |= {address: self.log_in(address, "Firefox at the office") for address in arriving}
                self.say(f"  {len(arriving)} attendee(s) log in on {session['day']}")
            if session["day"] == days[1] and "colleague" not in tokens:
                self.clock(session["starts_at"])
                tokens["colleague"] = self.log_in("avery.park@example.org", "Chrome at a colleague's desk")
                status = self.heartbeat(tokens["avery.park@example.org"], session["id"])
                self.say(f"  a colleague logs in with Avery's code: Avery's own session now answers {status}")
                tokens["avery.park@example.org"] = self.log_in("avery.park@example.org", "Firefox at the office")
            starts = datetime.fromisoformat(session["starts_at"])
            minutes = int((datetime.fromisoformat(session["ends_at"]) - starts).total_seconds() // 60)
            audience = [a for a, watched in watchers.items() if session["day"] in watched]
            for minute in range(minutes):
                self.clock((starts + timedelta(minutes=minute, seconds=20)).isoformat())
                for address in audience:
                    self.heartbeat(tokens[address], session["id"])
            self.say(f"  {session['day']} {session['title'][:60]:<60} watched by {len(audience)}")
        self.say("Attendance and certificate eligibility")
        expected = {
            "ana.lopez@example.org": True,
            "ben.okafor@example.org": False,
            "avery.park@example.org": True,
            "dee.walsh@example.org": False,
        }
        ok = True
        for address, token in tokens.items():
            if address == "colleague":
                continue
            mine = self.http.get(f"{self.api}/me/attendance", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            attendance = mine.json()
            attended = sum(s["minutes_attended"] for s in attendance["sessions"])
            mark = "ok" if attendance["eligible"] is expected[address] else "UNEXPECTED"
            ok &= attendance["eligible"] is expected[address]
            verdict = "eligible" if attendance["eligible"] else "not eligible"
            self.say(f"  {address:<26} {attended:>4} min, {attendance['days_logged_in']} day(s), {verdict:<12} {mark}")
            for reason in attendance["reasons"]:
                self.say(f"      {reason}")
        return ok

    def clock(self, moment: str) -> None:
        self.http.post(f"{self.api}/_local/clock", json={"now": moment}, timeout=10).raise_for_status()

    def heartbeat(self, token: str, session_id: str) -> int:
        answer = self.http.post(
            f"{self.api}/attendance/heartbeats",
            json={"session_id": session_id},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        return answer.status_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--api", help="a running local stack's API (default: start a private one)")
    parser.add_argument("--stripe", help="that stack's Stripe stand-in")
    args = parser.parse_args(argv)
    if args.api:
        return 0 if Demo(args.api, args.stripe or "http://127.0.0.1:12111").run() else 1
    from infra.fake_account import use_fake_account  # only when this process hosts the stack

    use_fake_account(POWERTOOLS_METRICS_DISABLED="true")
    from infra.local_stack import LocalSettings, LocalStack
    from shared.observability import logger

    stack = LocalStack(replace(LocalSettings.from_environment(), port=0, stripe_port=0, aws_port=0))
    stack.start().serve_in_background()
    logger.setLevel("WARNING")  # the functions' request logs would bury the story told here
    try:
        print(f"(a private local stack at {stack.api_url})")
        return 0 if Demo(stack.api_url, stack.standin.public_url).run() else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
