"""Issue 19 over HTTP against the local stack as `make run` starts it: the reminders fire on conference time (a
week, a day and an hour before the first session), once each, to paid seats only; SES's mailbox simulator bounces,
and the organisers' list shows it."""

from __future__ import annotations

import re
from email import message_from_string, policy
from urllib.parse import parse_qs, urlsplit

import requests

from infra.organiser_sign_in import organiser_token
from infra.samples import individual
from tests.e2e.conftest import RunningStack

FIRST_SESSION = "2020-08-05T09:00:00-05:00"
# A minute after each reminder is due, and a minute before the first is.
BEFORE = "2020-07-29T08:59:00-05:00"
AFTER = {"week": "2020-07-29T09:01:00-05:00", "day": "2020-08-04T09:01:00-05:00", "hour": "2020-08-05T08:01:00-05:00"}


def pay(stack: RunningStack, email: str) -> dict:
    created = requests.post(f"{stack.api}/registrations", json=individual(email=email), timeout=10).json()
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    requests.post(f"{stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10).raise_for_status()
    return created | {"session_id": session_id}


def refund(stack: RunningStack, session_id: str) -> None:
    intent = requests.get(
        f"{stack.stripe}/v1/checkout/sessions/{session_id}", auth=("sk_test_local", ""), timeout=5
    ).json()["payment_intent"]
    requests.post(
        f"{stack.stripe}/v1/refunds", data={"payment_intent": intent}, auth=("sk_test_local", ""), timeout=5
    ).raise_for_status()


def drain(stack: RunningStack) -> None:
    assert requests.post(f"{stack.api}/_local/drain", timeout=70).json() == {"drained": True}


def at(stack: RunningStack, moment: str) -> None:
    requests.post(f"{stack.api}/_local/clock", json={"now": moment}, timeout=5).raise_for_status()
    drain(stack)


def reminders_to(stack: RunningStack, address: str) -> list[dict]:
    emails = requests.get(f"{stack.api}/_local/emails", timeout=5).json()
    return [e for e in emails if address in e["to"] and "Reminder" in e["subject"]]


def test_each_reminder_reaches_each_paid_seat_once_at_its_time(local_stack: RunningStack) -> None:
    # Given a paid seat, a refunded one and one never paid
    pay(local_stack, "m19.paid@example.org")
    refunded = pay(local_stack, "m19.refunded@example.org")
    requests.post(f"{local_stack.api}/registrations", json=individual(email="m19.pending@example.org"), timeout=10)
    drain(local_stack)
    refund(local_stack, refunded["session_id"])
    drain(local_stack)

    # When conference time reaches a minute before the week's reminder: nothing yet
    at(local_stack, BEFORE)
    assert reminders_to(local_stack, "m19.paid@example.org") == []

    # Then at each reminder's time, one more reminder to the paid seat, none to the others, none twice
    for count, which in enumerate(("week", "day", "hour"), start=1):
        at(local_stack, AFTER[which])
        drain(local_stack)
        sent = reminders_to(local_stack, "m19.paid@example.org")
        assert len(sent) == count, [e["subject"] for e in sent]
        assert len({e["subject"] for e in sent}) == count
        assert [a["filename"] for a in sent[-1]["attachments"]] == ["invite.ics"]
    assert reminders_to(local_stack, "m19.refunded@example.org") == []
    assert reminders_to(local_stack, "m19.pending@example.org") == []

    # And the hour's reminder signs in with one click, and may be unsubscribed from
    raw = requests.get(f"{local_stack.api}/_local/emails/{sent[-1]['id']}.eml", timeout=5).text
    message = message_from_string(raw, policy=policy.default)
    assert str(message["List-Unsubscribe"]).strip().startswith("<mailto:")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    (link,) = re.findall(r"^Sign in: (\S+?)\r?$", body.get_content(), flags=re.MULTILINE)
    fragment = parse_qs(urlsplit(link).fragment)
    login = requests.post(
        f"{local_stack.api}/logins",
        json={"email": fragment["email"][0], "access_code": fragment["code"][0]},
        timeout=5,
    )
    assert login.status_code == 200


def test_a_bounce_at_the_simulator_shows_on_the_organisers_list(local_stack: RunningStack) -> None:
    created = pay(local_stack, "bounce@simulator.amazonses.com")
    drain(local_stack)
    headers = {"Authorization": f"Bearer {organiser_token(local_stack.api, 'viewer')}"}
    page = requests.get(f"{local_stack.api}/admin/registrations?status=paid", headers=headers, timeout=10).json()
    (item,) = [i for i in page["items"] if i["registration_id"] == created["registration_id"]]
    (person,) = item["attendees"]
    assert (person["email_status"], person["email_status_reason"]) == ("bounced", "smtp; 550 5.1.1 user unknown")
