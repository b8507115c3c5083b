"""Issue 5's promise, over HTTP against the local stack: four confirmations with working codes, one
receipt, one coin; a refund cancels the coin and sends one notice; replaying changes nothing."""

from __future__ import annotations

import re

import requests

from infra.organiser_sign_in import organiser_token
from infra.samples import group, individual
from tests.e2e.conftest import RunningStack


def admin(api: str) -> dict[str, str]:
    """The local pool's admin organiser, signed in as the organiser page does it."""
    return {"Authorization": f"Bearer {organiser_token(api)}"}


def pay(stack: RunningStack, body: dict) -> dict:
    created = requests.post(f"{stack.api}/registrations", json=body, timeout=10).json()
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    requests.post(f"{stack.stripe}/_test/checkout_sessions/{session_id}/pay", json={}, timeout=10).raise_for_status()
    return created | {"session_id": session_id}


def drain(stack: RunningStack) -> None:
    assert requests.post(f"{stack.api}/_local/drain", timeout=70).json() == {"drained": True}


def emails_to(stack: RunningStack, *addresses: str) -> list[dict]:
    return [e for e in requests.get(f"{stack.api}/_local/emails", timeout=5).json() if set(e["to"]) & set(addresses)]


def code_in(stack: RunningStack, email: dict) -> str:
    raw = requests.get(f"{stack.api}/_local/emails/{email['id']}.eml", timeout=5).text
    (code,) = re.findall(r"^Access code: (\S+)\r?$", raw, flags=re.MULTILINE)
    return code


def test_confirmations_receipt_coin_refund_and_replay(local_stack: RunningStack) -> None:
    # Given a group of three and an individual, paid
    officers = ["r5.avery@example.org", "r5.blake@example.org", "r5.casey@example.org"]
    team = pay(local_stack, group(officers, purchaser_email="r5.chief@example.org"))
    solo = pay(local_stack, individual(email="r5.solo@example.org"))
    drain(local_stack)

    # Then four confirmations with distinct codes, one receipt, one coin on the mailing list
    confirmations = [e for e in emails_to(local_stack, *officers, "r5.solo@example.org") if "confirmed" in e["subject"]]
    assert len(confirmations) == 4
    assert len({code_in(local_stack, e) for e in confirmations}) == 4
    receipts = emails_to(local_stack, "r5.chief@example.org")
    assert len(receipts) == 1 and "confirmed" not in receipts[0]["subject"]
    shipments = requests.get(
        f"{local_stack.api}/admin/exports/shipments.csv", headers=admin(local_stack.api), timeout=5
    )
    assert shipments.status_code == 200
    assert shipments.text.count(solo["registration_id"]) == 1
    assert team["registration_id"] not in shipments.text

    # When the individual is refunded through Stripe's API
    intent = requests.get(
        f"{local_stack.stripe}/v1/checkout/sessions/{solo['session_id']}", auth=("sk_test_local", ""), timeout=5
    ).json()["payment_intent"]
    requests.post(
        f"{local_stack.stripe}/v1/refunds", data={"payment_intent": intent}, auth=("sk_test_local", ""), timeout=5
    ).raise_for_status()
    drain(local_stack)

    # Then the coin is off the list and one notice went out
    shipments = requests.get(
        f"{local_stack.api}/admin/exports/shipments.csv", headers=admin(local_stack.api), timeout=5
    )
    assert solo["registration_id"] not in shipments.text
    notices = [e for e in emails_to(local_stack, "r5.solo@example.org") if "refund" in e["subject"].lower()]
    assert len(notices) == 1

    # When every webhook is delivered again
    total = len(requests.get(f"{local_stack.api}/_local/emails", timeout=5).json())
    events = requests.get(
        f"{local_stack.stripe}/v1/events", params={"limit": 100}, auth=("sk_test_local", ""), timeout=5
    ).json()["data"]
    for event in events:
        requests.post(f"{local_stack.stripe}/_test/events/{event['id']}/resend", json={}, timeout=10)
    drain(local_stack)

    # Then nothing changes
    assert len(requests.get(f"{local_stack.api}/_local/emails", timeout=5).json()) == total
