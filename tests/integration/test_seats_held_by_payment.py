"""Seats are held by payment, not by submission (issue 17's findings 2), through the HTTP API, the Stripe stand-in and
the stream: nobody blocks or takes over another person's seat by knowing their email, and a person paid for twice
keeps one seat while the later seat's fee goes back through Stripe. The rules themselves are pinned with fakes in
tests/unit/test_registration_service.py and tests/unit/test_payment_service.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
import stripe

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, group, individual
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import DynamoRegistrationRepository
from tests.integration.conftest import STRIPE_SECRET_KEY, drain


def register(api: LocalHttpApi, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = api.request("POST", "/registrations", headers=JSON, body=encoded(body))
    return answer.status, answer.json()


def session_of(created: dict[str, Any]) -> str:
    return str(created["checkout_url"]).rsplit("/", 1)[-1]


def status_of(api: LocalHttpApi, registration_id: str) -> str:
    return str(api.request("GET", f"/registrations/{registration_id}").json()["status"])


def mails_to(address: str, since: int) -> list[EmailMessage]:
    return [e.parsed() for e in LocalMailbox().emails()[since:] if address in e.to]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def code_in(message: EmailMessage) -> str:
    (code,) = re.findall(r"^Access code: (\S+)$", text_of(message), flags=re.MULTILINE)
    return code


def signs_in(api: LocalHttpApi, email: str, code: str) -> bool:
    body = encoded({"email": email, "access_code": code})
    return api.request("POST", "/logins", headers=JSON, body=body, source_ip="203.0.113.9").status == 200


def refunds_at_stripe(stack, stripe_url: str, registration_id: str) -> list[tuple[int, str, str]]:
    """(amount, registration id, attendee id) of each seat refund the registration records, as Stripe has it."""
    registration = DynamoRegistrationRepository(stack.resources["MainTable"]).get(registration_id)
    assert registration is not None
    found = []
    for seat in registration.seats:
        if seat.refund_id:
            client = stripe.StripeClient(STRIPE_SECRET_KEY, base_addresses={"api": stripe_url})
            refund = client.v1.refunds.retrieve(seat.refund_id)
            metadata: Any = refund.metadata
            found.append((refund.amount, str(metadata["registration_id"]), str(metadata["attendee_id"])))
    return found


@pytest.fixture
def sent_before() -> int:
    return len(LocalMailbox().emails())


def test_a_squatter_naming_someone_s_email_blocks_nothing_and_learns_nothing(
    api, stripe_standin: StripeStandIn, stream: StreamPoller, sent_before: int
) -> None:
    # Given an attacker's pending registration naming Ana's email with the attacker's name, and a group naming her
    _, squat = register(api, individual(first_name="Mallory", last_name="Squat", organization="Gotham PD"))
    _, group_squat = register(api, group(["ana.lopez@example.org"], purchaser_email="mallory@example.org"))

    # When Ana registers with her own details
    status, real = register(api, individual())

    # Then she gets a registration of her own (201), with her own Checkout Session, and none of theirs
    assert status == 201
    assert len({real["registration_id"], squat["registration_id"], group_squat["registration_id"]}) == 3
    assert real["checkout_url"] not in (squat["checkout_url"], group_squat["checkout_url"])
    # and the attacker renewing theirs changes nothing for her
    assert (
        register(api, individual(first_name="Mallory", last_name="Squat", organization="Gotham PD"))[1][
            "registration_id"
        ]
        == squat["registration_id"]
    )

    # When she pays, her seat is hers: one confirmation in her name, whose code signs her in
    stripe_standin.pay(session_of(real))
    drain(stripe_standin, stream)
    assert status_of(api, real["registration_id"]) == "paid"
    (confirmation,) = [m for m in mails_to("ana.lopez@example.org", sent_before) if "Receipt" not in m["Subject"]]
    assert "confirmed" in confirmation["Subject"] and "Hello Ana Lopez" in text_of(confirmation)
    assert signs_in(api, "ana.lopez@example.org", code_in(confirmation))
    # and anyone naming her now is told her seat is taken
    assert register(api, individual(first_name="Mallory"))[0] == 409


def test_a_person_paid_for_twice_keeps_one_seat_and_the_later_seat_is_refunded_through_stripe(
    api, stripe_standin: StripeStandIn, stream: StreamPoller, sent_before: int, stack, stripe_url: str
) -> None:
    # Given two groups naming Bea, each awaiting payment (neither blocks the other)
    _, first = register(api, group(["al@example.org", "bea@example.org"], purchaser_email="chief1@example.org"))
    _, second = register(api, group(["bea@example.org", "cy@example.org"], purchaser_email="chief2@example.org"))

    # When both are paid, the first one first
    stripe_standin.pay(session_of(first))
    stripe_standin.pay(session_of(second))
    drain(stripe_standin, stream)

    # Then both are paid; Bea's seat in the second was refunded alone, at one seat's fee, through Stripe
    assert status_of(api, first["registration_id"]) == status_of(api, second["registration_id"]) == "paid"
    ((amount, registration_id, _),) = refunds_at_stripe(stack, stripe_url, second["registration_id"])
    assert (amount, registration_id) == (20000, second["registration_id"])
    assert refunds_at_stripe(stack, stripe_url, first["registration_id"]) == []
    # Bea has exactly one confirmation and one code (the first group's); Cy has theirs
    bea = mails_to("bea@example.org", sent_before)
    assert [m["Subject"] for m in bea if "confirmed" in m["Subject"]] == [bea[0]["Subject"]] and len(bea) == 1
    assert signs_in(api, "bea@example.org", code_in(bea[0]))
    (cy,) = mails_to("cy@example.org", sent_before)
    assert signs_in(api, "cy@example.org", code_in(cy))
    # and the second group's purchaser is told which seat went back, without being told anything about the first
    notices = [m for m in mails_to("chief2@example.org", sent_before) if "refunded" in m["Subject"]]
    (notice,) = notices
    assert "Officer1 Park" in text_of(notice) and "$200.00" in text_of(notice)
    assert first["registration_id"] not in text_of(notice)


def test_an_organiser_refunds_one_seat_and_the_last_seat_s_refund_refunds_the_registration(
    api,
    stripe_standin: StripeStandIn,
    stream: StreamPoller,
    sent_before: int,
    organiser: Callable[[str], Any],
    stack,
    stripe_url: str,
) -> None:
    # Given a paid group of two
    _, created = register(api, group(["al@example.org", "bea@example.org"]))
    stripe_standin.pay(session_of(created))
    drain(stripe_standin, stream)
    registration_id = created["registration_id"]
    detail = api.request("GET", "/admin/registrations", headers=organiser("viewer"), query="status=paid").json()
    (listed,) = [item for item in detail["items"] if item["registration_id"] == registration_id]
    seats = {person["email"]: person["attendee_id"] for person in listed["attendees"]}
    (bea_confirmation,) = mails_to("bea@example.org", sent_before)
    url = f"/registrations/{registration_id}/seats/{seats['bea@example.org']}/refund"

    # When support (not finance) asks, it is refused; finance refunds Bea's seat
    assert api.request("POST", f"/admin{url}", headers=organiser("support")).status == 403
    refunded = api.request("POST", f"/admin{url}", headers=organiser("finance"))
    drain(stripe_standin, stream)

    # Then Bea's code stops working and she is told; the registration stays paid for Al
    assert refunded.status == 202
    assert not signs_in(api, "bea@example.org", code_in(bea_confirmation))
    assert any("refunded" in m["Subject"] for m in mails_to("bea@example.org", sent_before))
    assert status_of(api, registration_id) == "paid"
    # and asking again refunds nothing more
    assert api.request("POST", f"/admin{url}", headers=organiser("finance")).status == 202
    assert refunds_at_stripe(stack, stripe_url, registration_id) == [(20000, registration_id, seats["bea@example.org"])]

    # When Al's seat is refunded too, every seat's fee is back: the registration is refunded
    api.request("POST", f"/admin/registrations/{registration_id}/seats/{seats['al@example.org']}/refund",
                headers=organiser("finance"))  # fmt: skip
    drain(stripe_standin, stream)
    assert status_of(api, registration_id) == "refunded"
    assert sum(1 for m in mails_to("al@example.org", sent_before) if "refunded" in m["Subject"]) == 1
    assert sum(1 for m in mails_to("bea@example.org", sent_before) if "refunded" in m["Subject"]) == 1


def test_an_unknown_seat_or_an_unpaid_registration_is_refused_with_a_stable_code(
    api, organiser: Callable[[str], Any]
) -> None:
    _, created = register(api, individual())
    base = f"/admin/registrations/{created['registration_id']}/seats"
    unknown = api.request("POST", f"{base}/att_{'a' * 24}/refund", headers=organiser("finance"))
    assert (unknown.status, unknown.json()["code"]) == (404, "not_found")
    pending = api.request("GET", "/admin/registrations", headers=organiser("viewer"), query="status=pending_payment")
    (attendee,) = pending.json()["items"][0]["attendees"]
    unpaid = api.request("POST", f"{base}/{attendee['attendee_id']}/refund", headers=organiser("finance"))
    assert (unpaid.status, unpaid.json()["code"]) == (409, "not_refundable")
