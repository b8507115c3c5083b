"""Only real transitions call for a reaction (reliability.md T-33)."""

from __future__ import annotations

import pytest

from shared.reactions.routing import Reaction, ReactionKind, route

REG = "reg_" + "a" * 24


def registration(status: str, **extra: object) -> dict[str, object]:
    return {"entity": "registration", "registration_id": REG, "status": status} | extra


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("pending_payment", "paid", ReactionKind.SEATS_PAID),
        ("paid", "refunded", ReactionKind.SEATS_REFUNDED),
        ("disputed", "refunded", ReactionKind.SEATS_REFUNDED),
        ("paid", "disputed", ReactionKind.DISPUTE_OPENED),
        ("invoice_requested", "invoiced", ReactionKind.SEATS_PAID),
        ("invoiced", "paid", ReactionKind.INVOICE_PAID),
        ("invoiced", "cancelled", ReactionKind.SEATS_CANCELLED),
    ],
)
def test_a_status_transition_calls_for_its_reaction(before: str, after: str, kind: ReactionKind) -> None:
    assert route("MODIFY", registration(before), registration(after)) == Reaction(kind, REG)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("paid", "paid"),
        ("disputed", "paid"),
        ("pending_payment", "expired"),
        ("pending_payment", "cancelled"),
        ("invoice_requested", "cancelled"),  # a rejected request: nothing was held
    ],
)
def test_no_reaction_without_one_owed(before: str, after: str) -> None:
    assert route("MODIFY", registration(before, version=1), registration(after, version=2)) is None


def test_a_write_that_changed_something_else_calls_for_nothing() -> None:
    audited = registration("paid", history=[{"action": "refund.requested", "refund_id": "re_1"}])
    assert route("MODIFY", registration("paid", history=[]), audited) is None


def test_removes_of_registrations_and_other_entities_are_ignored() -> None:
    assert route("REMOVE", registration("expired"), None) is None
    assert route("INSERT", None, {"entity": "attendee", "registration_id": REG}) is None
    assert route("MODIFY", {"entity": "stripe_event"}, {"entity": "stripe_event"}) is None


def test_a_new_outbox_entry_is_sent_and_its_later_changes_are_not() -> None:
    entry = {"entity": "outbox", "registration_id": REG, "email_key": "confirmation#att_1", "status": "pending"}
    assert route("INSERT", None, entry) == Reaction(ReactionKind.SEND_EMAIL, REG, "confirmation#att_1")
    assert route("MODIFY", entry, entry | {"status": "sent"}) is None


def test_a_new_access_code_request_is_answered_and_its_expiry_is_not() -> None:
    request = {"entity": "access_code_request", "request_id": "acr_1", "email_key": "ana@example.org", "ttl": 1}
    assert route("INSERT", None, request) == Reaction(
        ReactionKind.ACCESS_CODE_REQUESTED, "", request_id="acr_1", requester="ana@example.org"
    )
    assert route("REMOVE", request, None) is None  # DynamoDB's TTL deleting it


def seats(*statuses: str) -> list[dict[str, object]]:
    return [{"attendee_id": f"att_{n}", "status": status} for n, status in enumerate(statuses)]


def test_a_seat_refunded_alone_calls_for_its_reaction_naming_only_that_seat() -> None:
    before = registration("paid", seats=seats("active", "refund_due", "refunded"))
    after = registration("paid", seats=seats("active", "refunded", "refunded"))
    assert route("MODIFY", before, after) == Reaction(ReactionKind.SEATS_REFUNDED_ALONE, REG, attendee_ids=("att_1",))


def test_seats_that_were_refunded_already_or_only_became_due_call_for_nothing() -> None:
    before = registration("paid", seats=seats("active", "refunded"))
    assert route("MODIFY", before, registration("paid", seats=seats("refund_due", "refunded"))) is None
    assert route("MODIFY", before, registration("paid", seats=seats("active", "refunded"), version=3)) is None


def test_a_new_registration_calls_for_its_people_to_be_indexed() -> None:
    created = route("INSERT", None, registration("pending_payment"))
    assert created == Reaction(ReactionKind.REGISTRATION_CREATED, REG)
