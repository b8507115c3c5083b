"""`make demo`: a scripted conference run against the local stack, through HTTP only.

Starts a private local stack on free ports (or uses a running one: `--api URL --stripe URL`), then
registers a handful of people and an agency group, pays (by card and by a delayed method), lets one
checkout lapse and one delayed payment fail, refunds one seat through Stripe's API, opens a dispute,
drains, and prints what every registration ended as and every email sent (a confirmation with an access
code per paid seat, the group's receipt, the refund notice). Exits non-zero if anything ends somewhere
other than the script expects.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

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
        # Every seat that was ever paid got one confirmation (the refunded one too, before its refund).
        paid_seats = sum(
            self.status(p)["seats"] for p in people.values() if p.expected in {"paid", "disputed", "refunded"}
        )
        confirmations = sum("confirmed" in email["subject"] for email in emails)
        receipts = sum(email["subject"].startswith("Receipt") for email in emails)
        notices = sum("refunded" in email["subject"] for email in emails)
        self.say(
            f"  {confirmations} confirmations for {paid_seats} paid seats, {receipts} receipt, {notices} refund notice"
        )
        return ok and (confirmations, receipts, notices) == (paid_seats, 1, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--api", help="a running local stack's API (default: start a private one)")
    parser.add_argument("--stripe", help="that stack's Stripe stand-in")
    args = parser.parse_args(argv)
    if args.api:
        return 0 if Demo(args.api, args.stripe or "http://127.0.0.1:12111").run() else 1
    from infra.local_stack import LocalSettings, LocalStack  # only when this process hosts the stack
    from shared.observability import logger

    settings = LocalSettings.from_environment()
    stack = LocalStack(settings.__class__(**{**settings.__dict__, "port": 0, "stripe_port": 0, "aws_port": 0}))
    stack.start().serve_in_background()
    logger.setLevel("WARNING")  # the functions' request logs would bury the story told here
    try:
        print(f"(a private local stack at {stack.api_url})")
        return 0 if Demo(stack.api_url, stack.standin.public_url).run() else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
