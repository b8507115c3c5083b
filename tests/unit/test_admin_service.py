"""The organiser's side: registrations page by page behind an opaque cursor, the CSV rows, refunds and resent
confirmations; on in-memory fakes of the table (tests/support/fakes_admin.py) and Stripe's refunds. The attendance
roster is tests/unit/test_attendance_roster.py."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from shared.admin import service as admin_module
from shared.admin.service import AdminService
from shared.clock import FixedClock
from shared.conference import load_conference
from shared.conference.models import Money
from shared.errors import InvalidRequest, NotFound, NotRefundable, PaymentProviderUnavailable
from shared.payments.models import HistoryAction, PaymentFacts
from shared.payments.seat_refunds import SeatRefunds
from shared.reactions.models import EmailKind, OutboxEmail
from shared.registration.models import Checkout, Purchaser, Registration, Seat, SeatStatus, ShippingAddress
from shared.registration.status import RegistrationStatus
from tests.support.fakes_admin import FakeRefunds, InMemoryAdminTable
from tests.support.fakes_events import catalog_of
from tests.support.fakes_payments import FakeSeatRefunds

CONFERENCE = load_conference()
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
ADDRESS = ShippingAddress(line1="1 Main St", city="Springfield", state="IL", postal_code="62701", country="US")


def registration(
    number: int,
    status: RegistrationStatus = RegistrationStatus.PAID,
    *,
    emails: tuple[str, ...] = (),
    purchaser: str | None = None,
    created: timedelta = timedelta(),
) -> Registration:
    emails = emails or (f"person{number}@example.org",)
    seats = [
        Seat(
            attendee_id=f"att_{number}_{n}",
            first_name=f"First{n}",
            last_name="Last",
            email=email,
            organization="PD",
            phone="+1 555 0100" if n == 0 else None,
        )
        for n, email in enumerate(emails)
    ]
    return Registration(
        event_id="nasro-2020",
        registration_id=f"reg_{number}",
        kind="group" if purchaser else "individual",
        status=status,
        seats=seats,
        purchaser=Purchaser(name="Chief", email=purchaser, organization="PD") if purchaser else None,
        shipping_address=None if purchaser else ADDRESS,
        amount=Money(amount=20000 * len(seats), currency="usd"),
        created_at=AT - timedelta(days=30) + created,
        checkout_attempt=1,
        checkout_expires_at=AT,
        checkout=Checkout(session_id=f"cs_test_{number}", url="https://checkout.test/cs", expires_at=AT),
        payment=PaymentFacts(paid=True, payment_intent_id=f"pi_{number}", amount_paid=20000 * len(seats))
        if status in (RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.REFUNDED)
        else PaymentFacts(),
    )


@pytest.fixture
def table() -> InMemoryAdminTable:
    return InMemoryAdminTable()


@pytest.fixture
def refunds() -> FakeRefunds:
    return FakeRefunds()


@pytest.fixture
def seat_refunds() -> FakeSeatRefunds:
    return FakeSeatRefunds()


@pytest.fixture
def service(table, refunds, seat_refunds) -> AdminService:
    return AdminService(
        events=catalog_of(CONFERENCE),
        repository=table,
        refunds=refunds,
        seat_refunds=SeatRefunds(repository=table, refunds=seat_refunds, wall_clock=FixedClock(AT)),
        wall_clock=FixedClock(AT),
    )


def store(table: InMemoryAdminTable, *registrations: Registration) -> None:
    for r in registrations:
        table.registrations[r.registration_id] = r


def every_page(service: AdminService, status: str | None) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = service.registrations("nasro-2020", status, cursor)
        pages.append([item.registration_id for item in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


class TestListing:
    def test_one_status_comes_oldest_first_page_by_page_each_once(self, service, table, monkeypatch) -> None:
        # Given five pending registrations stored out of order, two paid, and pages of two
        monkeypatch.setattr(admin_module, "PAGE_SIZE", 2)
        for number in (3, 1, 4, 0, 2):
            store(table, registration(number, RegistrationStatus.PENDING_PAYMENT, created=timedelta(hours=number)))
        store(table, registration(8), registration(9))

        # When
        pages = every_page(service, "pending_payment")

        # Then
        assert pages == [["reg_0", "reg_1"], ["reg_2", "reg_3"], ["reg_4"]]

    def test_a_registration_arriving_while_pages_are_read_is_listed_at_the_end(
        self, service, table, monkeypatch
    ) -> None:
        # Given
        monkeypatch.setattr(admin_module, "PAGE_SIZE", 2)
        store(
            table, *(registration(n, RegistrationStatus.PENDING_PAYMENT, created=timedelta(hours=n)) for n in range(3))
        )
        first = service.registrations("nasro-2020", "pending_payment", None)

        # When a newer one arrives before the next page is read
        store(table, registration(7, RegistrationStatus.PENDING_PAYMENT, created=timedelta(days=1)))
        rest = service.registrations("nasro-2020", "pending_payment", first.next_cursor)

        # Then nothing repeats and nothing is skipped
        assert [i.registration_id for i in first.items + rest.items] == ["reg_0", "reg_1", "reg_2", "reg_7"]

    def test_without_a_status_every_status_comes_in_turn(self, service, table) -> None:
        # Given one registration in each of three statuses
        store(
            table,
            registration(1, RegistrationStatus.REFUNDED),
            registration(2, RegistrationStatus.PENDING_PAYMENT),
            registration(3, RegistrationStatus.PAID),
        )

        # When
        pages = every_page(service, None)

        # Then one page per status, in the statuses' order, ending with no cursor
        assert [page for page in pages if page] == [["reg_2"], ["reg_3"], ["reg_1"]]
        assert len(pages) == len(RegistrationStatus)

    def test_a_listed_registration_carries_its_attendees_and_no_more(self, service, table) -> None:
        store(table, registration(1, emails=("a@example.org", "b@example.org"), purchaser="chief@example.org"))
        (item,) = service.registrations("nasro-2020", "paid", None).items
        assert (item.kind, item.status, item.seats) == ("group", RegistrationStatus.PAID, 2)
        assert [(a.attendee_id, a.email) for a in item.attendees] == [
            ("att_1_0", "a@example.org"),
            ("att_1_1", "b@example.org"),
        ]
        assert "phone" not in item.attendees[0].model_dump()

    def test_the_cursor_is_opaque_and_safe_in_a_query_string(self, service, table, monkeypatch) -> None:
        monkeypatch.setattr(admin_module, "PAGE_SIZE", 1)
        store(table, registration(1), registration(2, created=timedelta(hours=1)))
        cursor = service.registrations("nasro-2020", "paid", None).next_cursor
        assert cursor is not None and re.fullmatch(r"[A-Za-z0-9_-]+", cursor)

    def test_an_unknown_status_is_refused_naming_the_allowed_ones(self, service) -> None:
        with pytest.raises(InvalidRequest) as refused:
            service.registrations("nasro-2020", "shipped", None)
        ((field, message),) = [(e.field, e.message) for e in refused.value.errors]
        assert field == "status" and "pending_payment" in message and "refunded" in message

    @pytest.mark.parametrize(
        "cursor",
        [
            "not-ours",
            "%%%",
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            base64.urlsafe_b64encode(json.dumps({"x": 1}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"status": "shipped", "key": None}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"status": "paid", "key": "a string"}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"status": "paid"}).encode()).decode(),
        ],
        ids=["not base64", "not base64 at all", "not an object", "no status", "unknown status", "key not an object", "no key"],
    )  # fmt: skip
    def test_a_cursor_that_is_not_one_of_ours_is_refused_on_the_cursor(self, service, cursor) -> None:
        with pytest.raises(InvalidRequest) as refused:
            service.registrations("nasro-2020", None, cursor)
        assert [e.field for e in refused.value.errors] == ["cursor"]

    def test_a_cursor_of_another_status_filter_is_refused(self, service, table, monkeypatch) -> None:
        # Given a cursor into the paid registrations
        monkeypatch.setattr(admin_module, "PAGE_SIZE", 1)
        store(table, registration(1), registration(2, created=timedelta(hours=1)))
        cursor = service.registrations("nasro-2020", "paid", None).next_cursor

        # When it is used for the pending ones / Then
        with pytest.raises(InvalidRequest, match="Some fields") as refused:
            service.registrations("nasro-2020", "pending_payment", cursor)
        assert refused.value.errors[0].message == "This cursor belongs to another event or status filter."


class TestExports:
    def test_the_registrations_rows_are_one_per_seat_with_its_share_of_the_amount(self, service, table) -> None:
        # Given a paid group of two and a pending individual
        store(
            table,
            registration(1, emails=("a@example.org", "b@example.org"), purchaser="chief@example.org"),
            registration(2, RegistrationStatus.PENDING_PAYMENT, emails=("c@example.org",)),
        )

        # When
        rows = [
            dict(zip(AdminService.REGISTRATION_HEADER, row, strict=True))
            for row in service.registration_rows("nasro-2020")
        ]

        # Then
        assert [(r["registration_id"], r["attendee_id"], r["status"]) for r in rows] == [
            ("reg_2", "att_2_0", "pending_payment"),
            ("reg_1", "att_1_0", "paid"),
            ("reg_1", "att_1_1", "paid"),
        ]
        assert {r["seat_amount"] for r in rows} == {20000}
        assert [r["purchaser_email"] for r in rows] == ["", "chief@example.org", "chief@example.org"]
        assert rows[0]["phone"] == "+1 555 0100" and rows[2]["phone"] == ""


class TestRefunds:
    @pytest.mark.parametrize("status", [RegistrationStatus.PAID, RegistrationStatus.DISPUTED])
    def test_a_paid_or_disputed_registration_is_refunded_through_stripe_once(
        self, service, table, refunds, status
    ) -> None:
        # Given
        store(table, registration(1, status))

        # When the organiser clicks twice
        first = service.refund("reg_1", actor="admin:token")
        second = service.refund("reg_1", actor="admin:token")

        # Then one refund at Stripe (its idempotency key), each request audited, and the webhook left to finish
        assert refunds.refunds == {"reg_1": "re_1"}
        assert first.detail == second.detail == "Refund re_1 requested; Stripe's webhook finishes it."
        history = table.registrations["reg_1"].history
        assert [(h.actor, h.action, h.refund_id) for h in history] == [("admin:token", HistoryAction.REFUND_REQUESTED, "re_1")] * 2  # fmt: skip
        assert table.registrations["reg_1"].status is status

    @pytest.mark.parametrize(
        "status",
        [RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.REFUNDED, RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED],
    )  # fmt: skip
    def test_only_a_paid_registration_is_refundable(self, service, table, refunds, status) -> None:
        store(table, registration(1, status))
        with pytest.raises(NotRefundable, match=status.value):
            service.refund("reg_1", actor="admin:token")
        assert refunds.refunds == {}

    def test_a_paid_registration_without_its_payment_intent_is_not_refundable(self, service, table, refunds) -> None:
        store(table, registration(1).model_copy(update={"payment": PaymentFacts(paid=True)}))
        with pytest.raises(NotRefundable):
            service.refund("reg_1", actor="admin:token")
        assert refunds.refunds == {}

    def test_stripe_unavailable_is_retryable_and_audits_nothing(self, service, table, refunds) -> None:
        store(table, registration(1))
        refunds.unavailable = True
        with pytest.raises(PaymentProviderUnavailable):
            service.refund("reg_1", actor="admin:token")
        assert table.registrations["reg_1"].history == []

    def test_unknown_registrations_are_not_found(self, service) -> None:
        with pytest.raises(NotFound):
            service.refund("reg_nope", actor="admin:token")
        with pytest.raises(NotFound):
            service.resend_confirmation("reg_nope", actor="admin:token")


class TestResendingConfirmations:
    def test_each_resend_queues_a_new_confirmation_per_seat(self, service, table) -> None:
        # Given a paid group of two
        store(table, registration(1, emails=("a@example.org", "b@example.org"), purchaser="chief@example.org"))

        # When the organiser resends twice
        answer = service.resend_confirmation("reg_1", actor="admin:token")
        service.resend_confirmation("reg_1", actor="admin:token")

        # Then each round is a new access-code email per seat (a new code each), none replacing another in the outbox
        assert answer.detail == "2 access code email(s) queued; each new code replaces the earlier ones."
        queued = sorted((e.attendee_id, e.resend) for e in table.emails("reg_1") if e.kind is EmailKind.ACCESS_CODE)
        assert queued == [("att_1_0", 1), ("att_1_0", 2), ("att_1_1", 1), ("att_1_1", 2)]

    def test_a_round_follows_the_confirmations_resent_before(self, service, table) -> None:
        # Given a registration whose confirmations were resent once, before resends became access-code emails
        store(table, registration(1))
        table.add_emails(
            [OutboxEmail(registration_id="reg_1", kind=EmailKind.CONFIRMATION, attendee_id="att_1_0", resend=1)]
        )
        # When the organiser resends  Then that is round 2, a new entry
        service.resend_confirmation("reg_1", actor="admin:token")
        assert sorted((e.kind, e.resend) for e in table.emails("reg_1") if e.resend) == [
            (EmailKind.ACCESS_CODE, 2), (EmailKind.CONFIRMATION, 1)
        ]  # fmt: skip

    @pytest.mark.parametrize("status", [RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.REFUNDED])
    def test_only_a_paid_registration_has_confirmations_to_resend(self, service, table, status) -> None:
        store(table, registration(1, status))
        with pytest.raises(NotRefundable, match="has confirmations"):
            service.resend_confirmation("reg_1", actor="admin:token")
        assert table.emails("reg_1") == []


class TestOneSeatRefund:
    def test_one_seat_of_a_group_is_refunded_alone_at_its_fee(self, service, table, seat_refunds) -> None:
        group = registration(7, emails=("a@example.org", "b@example.org"), purchaser="chief@example.org")
        table.registrations[group.registration_id] = group

        answer = service.refund_seat("reg_7", "att_7_1", actor="finance@example.org")

        stored = table.registrations["reg_7"]
        assert [s.status for s in stored.seats] == [SeatStatus.ACTIVE, SeatStatus.REFUNDED]
        assert seat_refunds.refunds == {("reg_7", "att_7_1"): ("re_1", "pi_7", Money(amount=20000, currency="usd"))}
        (entry,) = stored.history
        assert (entry.action, entry.actor, entry.attendee_id) == (
            HistoryAction.SEAT_REFUNDED,
            "finance@example.org",
            "att_7_1",
        )
        assert "re_1" in answer.detail and stored.status is RegistrationStatus.PAID  # Stripe's webhook settles it

    def test_asking_again_refunds_nothing_more(self, service, table, seat_refunds) -> None:
        table.registrations["reg_7"] = registration(7)
        service.refund_seat("reg_7", "att_7_0", actor="finance@example.org")
        service.refund_seat("reg_7", "att_7_0", actor="finance@example.org")
        assert seat_refunds.calls == 1 and len(table.registrations["reg_7"].history) == 1

    @pytest.mark.parametrize("status", [RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.REFUNDED])
    def test_a_seat_of_an_unpaid_or_refunded_registration_is_not_refundable(self, service, table, status) -> None:
        table.registrations["reg_7"] = registration(7, status)
        with pytest.raises(NotRefundable):
            service.refund_seat("reg_7", "att_7_0", actor="finance@example.org")

    def test_an_unknown_registration_or_seat_is_not_found(self, service, table) -> None:
        table.registrations["reg_7"] = registration(7)
        for registration_id, attendee_id in (("reg_8", "att_7_0"), ("reg_7", "att_8_0")):
            with pytest.raises(NotFound):
                service.refund_seat(registration_id, attendee_id, actor="finance@example.org")

    def test_stripe_not_answering_changes_nothing(self, service, table, seat_refunds) -> None:
        table.registrations["reg_7"] = registration(7)
        seat_refunds.unavailable = 1
        with pytest.raises(PaymentProviderUnavailable):
            service.refund_seat("reg_7", "att_7_0", actor="finance@example.org")
        assert table.registrations["reg_7"] == registration(7)
