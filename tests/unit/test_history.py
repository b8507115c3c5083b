"""The audit history as structured data: an action name and its fields, never a sentence code parses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.admin.service import AdminService
from shared.clock import FixedClock
from shared.conference import load_conference
from shared.conference.models import Money
from shared.payments.models import HistoryAction, HistoryEntry, PaymentFacts, became, describe
from shared.payments.seat_refunds import SeatRefunds
from shared.registration.models import Checkout, Registration, Seat
from shared.registration.status import RegistrationStatus
from tests.support.fakes_admin import FakeRefunds, InMemoryAdmin
from tests.support.fakes_events import catalog_of
from tests.support.fakes_payments import FakeSeatRefunds

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
REG = "reg_" + "h" * 24


def paid_registration() -> Registration:
    seat = Seat(attendee_id="att_1", first_name="Ana", last_name="Lopez", email="a@example.org", organization="PD")
    return Registration(
        event_id="nasro-2020",
        registration_id=REG,
        kind="individual",
        status=RegistrationStatus.PAID,
        seats=[seat],
        amount=Money(amount=20000, currency="usd"),
        created_at=AT - timedelta(days=1),
        checkout_attempt=1,
        checkout_expires_at=AT,
        checkout=Checkout(session_id="cs_test_1", url="https://x/cs", expires_at=AT),
        payment=PaymentFacts(paid=True, payment_intent_id="pi_1", amount_paid=20000),
    )


def test_an_entry_stored_as_a_status_sentence_loads_as_the_status_change_it_was() -> None:
    # Given an item written before entries had actions
    stored = {"at": AT.isoformat(), "actor": "stripe", "change": "pending_payment -> paid", "stripe_event_id": "evt_1"}

    # When it is read
    entry = HistoryEntry.model_validate(stored)

    # Then it is the structured status change, its Stripe event kept
    assert (entry.action, entry.from_status, entry.to_status) == (
        HistoryAction.STATUS_CHANGED,
        RegistrationStatus.PENDING_PAYMENT,
        RegistrationStatus.PAID,
    )
    assert entry.stripe_event_id == "evt_1" and entry.text is None


@pytest.mark.parametrize(
    "sentence", ["partial refund of 5000 (total 5000)", "refund re_1 requested", "paid -> somewhere", "erased"]
)
def test_any_other_stored_sentence_loads_as_legacy_with_its_text_kept(sentence: str) -> None:
    entry = HistoryEntry.model_validate({"at": AT.isoformat(), "actor": "admin:token", "change": sentence})
    assert (entry.action, entry.text) == (HistoryAction.LEGACY, sentence)
    assert describe(entry) == sentence


def test_a_registration_stored_with_legacy_history_still_loads() -> None:
    # Given a registration item as an older version stored it (history as sentences)
    item = paid_registration().model_dump(mode="json") | {
        "history": [
            {"at": AT.isoformat(), "actor": "stripe", "change": "pending_payment -> paid"},
            {"at": AT.isoformat(), "actor": "admin:token", "change": "refund re_1 requested"},
        ]
    }

    # When it is read, Then both entries load and the paid time is found from the fields
    registration = Registration.model_validate(item)
    assert [h.action for h in registration.history] == [HistoryAction.STATUS_CHANGED, HistoryAction.LEGACY]
    assert became(registration.history, RegistrationStatus.PAID) == AT


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        (HistoryAction.STATUS_CHANGED, {"from_status": "paid"}),
        (HistoryAction.PARTIALLY_REFUNDED, {"amount_refunded": 100}),
        (HistoryAction.REFUND_REQUESTED, {}),
        (HistoryAction.CONFIRMATION_RESENT, {}),
        (HistoryAction.PERSONAL_DATA_ERASED, {}),
        (HistoryAction.LEGACY, {}),
    ],
)
def test_an_action_without_its_fields_is_refused(action: HistoryAction, fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match=action.value):
        HistoryEntry(at=AT, actor="stripe", action=action, **fields)


def test_an_action_written_by_a_newer_version_still_loads_and_reads_as_its_name() -> None:
    entry = HistoryEntry.model_validate({"at": AT.isoformat(), "actor": "system", "action": "seat.substituted"})
    assert describe(entry) == "seat.substituted"


def test_an_entry_is_stored_without_the_fields_its_action_does_not_use() -> None:
    entry = HistoryEntry(at=AT, actor="admin:token", action=HistoryAction.REFUND_REQUESTED, refund_id="re_1")
    assert entry.as_record() == {
        "at": AT.isoformat().replace("+00:00", "Z"),
        "actor": "admin:token",
        "action": "refund.requested",
        "refund_id": "re_1",
    }
    assert HistoryEntry.model_validate(entry.as_record()) == entry


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        (
            HistoryEntry(at=AT, actor="stripe", action=HistoryAction.STATUS_CHANGED, from_status="paid", to_status="disputed"),
            "status paid -> disputed",
        ),
        (
            HistoryEntry(at=AT, actor="stripe", action=HistoryAction.PARTIALLY_REFUNDED, amount_refunded=5000, total_refunded=7000),
            "partial refund of 5000 (total 7000)",
        ),
        (HistoryEntry(at=AT, actor="a", action=HistoryAction.REFUND_REQUESTED, refund_id="re_9"), "refund re_9 requested"),
        (HistoryEntry(at=AT, actor="a", action=HistoryAction.CONFIRMATION_RESENT, resend=2), "confirmations resent (round 2)"),
        (HistoryEntry(at=AT, actor="a", action=HistoryAction.PERSONAL_DATA_ERASED, attendee_id="att_7"), "personal data of att_7 erased"),
    ],
)  # fmt: skip
def test_each_action_reads_as_a_sentence_from_its_fields(entry: HistoryEntry, sentence: str) -> None:
    assert describe(entry) == sentence


def test_the_paid_time_is_the_first_move_to_paid_not_a_won_dispute() -> None:
    # Given paid, disputed, then the dispute won (paid again) a day later
    def step(at: datetime, source: RegistrationStatus, destination: RegistrationStatus) -> HistoryEntry:
        return HistoryEntry(
            at=at, actor="stripe", action=HistoryAction.STATUS_CHANGED, from_status=source, to_status=destination
        )

    history = [
        HistoryEntry(
            at=AT - timedelta(hours=1), actor="a", action=HistoryAction.LEGACY, text="pending_payment -> paid?"
        ),
        step(AT, RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.PAID),
        step(AT + timedelta(hours=1), RegistrationStatus.PAID, RegistrationStatus.DISPUTED),
        step(AT + timedelta(days=1), RegistrationStatus.DISPUTED, RegistrationStatus.PAID),
    ]

    # When / Then
    assert became(history, RegistrationStatus.PAID) == AT
    assert became(history, RegistrationStatus.REFUNDED) is None


def admin(repository: InMemoryAdmin, refunds: FakeRefunds | None = None) -> AdminService:
    return AdminService(
        events=catalog_of(load_conference()),
        repository=repository,  # type: ignore[arg-type]  # a partial fake: refunds and resends only
        refunds=refunds or FakeRefunds(),
        seat_refunds=SeatRefunds(repository=repository, refunds=FakeSeatRefunds(), wall_clock=FixedClock(AT)),
        wall_clock=FixedClock(AT),
    )


def test_an_organiser_s_refund_request_is_audited_with_the_refund_id() -> None:
    # Given
    repository = InMemoryAdmin(paid_registration())

    # When
    admin(repository).refund(REG, actor="admin:token")

    # Then
    (entry,) = repository.registrations[REG].history
    assert (entry.at, entry.actor, entry.action, entry.refund_id) == (
        AT,
        "admin:token",
        HistoryAction.REFUND_REQUESTED,
        "re_1",
    )


def test_each_resend_of_confirmations_is_audited_with_its_round() -> None:
    # Given
    repository = InMemoryAdmin(paid_registration())
    service = admin(repository)

    # When the organiser resends twice
    service.resend_confirmation(REG, actor="admin:token")
    service.resend_confirmation(REG, actor="admin:token")

    # Then two entries, rounds 1 and 2, and a confirmation queued per round
    history = repository.registrations[REG].history
    assert [(h.actor, h.action, h.resend) for h in history] == [
        ("admin:token", HistoryAction.CONFIRMATION_RESENT, 1),
        ("admin:token", HistoryAction.CONFIRMATION_RESENT, 2),
    ]
    assert sorted(e.resend for e in repository.emails(REG)) == [1, 2]
