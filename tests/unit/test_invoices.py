"""Paying by invoice against fakes: finance's approval (one invoice however often asked, the seats' guards taken
with the status, a person who holds a paid seat left off it) and rejection; Stripe's invoice events and the
reconciler settling an invoiced registration. The any-order decisions are in test_settlement.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.conference import load_conference
from shared.conference.models import Money
from shared.errors import AlreadyRegistered, InvalidTransition, NotFound, PaymentProviderUnavailable
from shared.payments.invoices import InvoiceService
from shared.payments.models import HistoryAction, PaymentTruth, StripeEvent
from shared.payments.seat_refunds import SeatRefunds
from shared.payments.service import PaymentService
from shared.registration.models import Billing, Registration, Seat, SeatStatus
from shared.registration.status import RegistrationStatus
from tests.support.fakes_events import catalog_of
from tests.support.fakes_payments import FakeInvoices, FakeSeatRefunds, FakeStripe, InMemoryPaymentRepository

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
REG = "reg_" + "b" * 24
OTHER = "reg_" + "c" * 24
Status = RegistrationStatus


def requested(*emails: str, registration_id: str = REG, status: Status = Status.INVOICE_REQUESTED) -> Registration:
    seats = [
        Seat(attendee_id=f"att_{n}", first_name="Ana", last_name=f"Lopez{n}", email=email, organization="PD")
        for n, email in enumerate(emails or ("ana@example.org",))
    ]
    return Registration(
        event_id="nasro-2020",
        registration_id=registration_id,
        kind="group" if len(seats) > 1 else "individual",
        status=status,
        seats=seats,
        amount=Money(amount=20000 * len(seats), currency="usd"),
        created_at=NOW - timedelta(days=1),
        checkout_attempt=1,
        checkout_expires_at=NOW,
        billing=Billing(billing_email="ap@agency.gov", billing_name="Springfield PD AP", po_number="PO-1234"),
    )


@pytest.fixture
def repository() -> InMemoryPaymentRepository:
    return InMemoryPaymentRepository()


@pytest.fixture
def invoices() -> FakeInvoices:
    return FakeInvoices()


@pytest.fixture
def service(repository: InMemoryPaymentRepository, invoices: FakeInvoices) -> InvoiceService:
    return InvoiceService(
        events=catalog_of(load_conference()), repository=repository, invoices=invoices, wall_clock=FixedClock(NOW)
    )


def test_approval_sends_one_line_per_seat_net_30_and_holds_the_seats(repository, invoices, service) -> None:
    # Given
    repository.add(requested("a@example.org", "b@example.org"))

    # When
    sent = service.approve(REG, actor="finance@example.org")

    # Then the invoice: the payer, the PO number, a line per seat at the fee, net 30 (the event's default)
    request, _ = invoices.sent[REG]
    assert (request.billing_email, request.po_number, request.days_until_due) == ("ap@agency.gov", "PO-1234", 30)
    assert [(line.attendee_id, line.amount.amount) for line in request.lines] == [("att_0", 20000), ("att_1", 20000)]
    # And the registration is invoiced, its invoice recorded and its seats' guards taken in the same write
    stored = repository.registrations[REG]
    assert stored.status is Status.INVOICED
    assert (stored.payment.invoice_id, stored.payment.invoice_due_at) == (sent.invoice_id, sent.due_at)
    assert repository.seat_holders("nasro-2020", ["a@example.org", "b@example.org"]) == {
        "a@example.org": REG,
        "b@example.org": REG,
    }
    [entry] = stored.history
    assert (entry.actor, entry.from_status, entry.to_status) == (
        "finance@example.org",
        Status.INVOICE_REQUESTED,
        Status.INVOICED,
    )


def test_an_approval_retried_after_stripe_failed_makes_one_invoice_and_a_second_is_refused(
    repository, invoices, service
) -> None:
    repository.add(requested())
    invoices.unavailable = 1
    with pytest.raises(PaymentProviderUnavailable):
        service.approve(REG, actor="finance@example.org")
    assert repository.registrations[REG].status is Status.INVOICE_REQUESTED  # nothing half-changed

    service.approve(REG, actor="finance@example.org")
    with pytest.raises(InvalidTransition):
        service.approve(REG, actor="finance@example.org")
    assert len(invoices.sent) == 1


def test_an_approval_losing_a_race_for_a_guard_reads_again_and_uses_the_same_invoice(
    repository, invoices, service
) -> None:
    # Given another writer that changes the registration before the first save
    repository.add(requested())

    def other_writer(_: Registration) -> None:
        repository.before_save = None
        repository.bump(REG)

    repository.before_save = other_writer

    # When / Then the approval re-reads, sends the same invoice (its idempotency) and saves
    service.approve(REG, actor="finance@example.org")
    assert repository.registrations[REG].status is Status.INVOICED
    assert (invoices.calls, len(invoices.sent)) == (2, 1)


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.INVOICE_REQUESTED])
def test_only_an_invoice_request_is_approved_or_rejected(repository, service, status) -> None:
    repository.add(requested(status=status))
    with pytest.raises(InvalidTransition):
        service.approve(REG, actor="finance@example.org")
    with pytest.raises(InvalidTransition):
        service.reject(REG, actor="finance@example.org")
    assert repository.registrations[REG].status is status


def test_an_unknown_registration_is_not_found(service) -> None:
    for registration_id in (REG, "not-an-id"):
        with pytest.raises(NotFound):
            service.approve(registration_id, actor="finance@example.org")


def test_rejection_cancels_and_sends_nothing(repository, invoices, service) -> None:
    repository.add(requested())
    assert service.reject(REG, actor="finance@example.org").status is Status.CANCELLED
    assert repository.registrations[REG].status is Status.CANCELLED and not invoices.sent


def test_a_person_who_holds_a_paid_seat_is_left_off_the_invoice(repository, invoices, service) -> None:
    # Given b@ holds a paid seat through another registration
    paid = requested("b@example.org", registration_id=OTHER, status=Status.PAID)
    repository.add(paid)
    repository.add(requested("a@example.org", "b@example.org"))

    # When
    service.approve(REG, actor="finance@example.org")

    # Then b@'s seat is not billed and keeps its holder; a@ is billed and held here
    request, _ = invoices.sent[REG]
    assert [line.attendee_id for line in request.lines] == ["att_0"]
    stored = repository.registrations[REG]
    assert [seat.status for seat in stored.seats] == [SeatStatus.ACTIVE, SeatStatus.NOT_BILLED]
    assert stored.amount_due.amount == 20000
    assert repository.seat_holders("nasro-2020", ["a@example.org", "b@example.org"]) == {
        "a@example.org": REG,
        "b@example.org": OTHER,
    }
    assert [e.attendee_id for e in stored.history if e.action == HistoryAction.SEAT_NOT_BILLED] == ["att_1"]


def test_an_invoice_for_nobody_new_is_refused(repository, invoices, service) -> None:
    repository.add(requested(registration_id=OTHER, status=Status.PAID))
    repository.add(requested())
    with pytest.raises(AlreadyRegistered):
        service.approve(REG, actor="finance@example.org")
    assert not invoices.sent and repository.registrations[REG].status is Status.INVOICE_REQUESTED


# Stripe's side: invoice events and the reconciler


def invoice(status: str, **facts: object) -> PaymentTruth:
    base: dict[str, object] = {
        "registration_id": REG,
        "livemode": False,
        "invoice_id": "in_1",
        "invoice_status": status,
        "amount": 20000,
        "currency": "usd",
    }
    return PaymentTruth(**(base | facts))  # type: ignore[arg-type]


def invoice_event(event_type: str, event_id: str = "evt_1") -> StripeEvent:
    return StripeEvent(id=event_id, type=event_type, object_type="invoice", object_id="in_1", livemode=False, created=1)


def payments(repository: InMemoryPaymentRepository, stripe: FakeStripe) -> PaymentService:
    wall = FixedClock(NOW)
    return PaymentService(
        repository=repository,
        stripe=stripe,
        expected_livemode=False,
        wall_clock=wall,
        seat_refunds=SeatRefunds(repository=repository, refunds=FakeSeatRefunds(), wall_clock=wall),
    )


@pytest.fixture
def invoiced(repository, service) -> Registration:
    repository.add(requested())
    service.approve(REG, actor="finance@example.org")
    return repository.registrations[REG]


@pytest.mark.parametrize(
    ("event_type", "stripe_says", "final"),
    [
        ("invoice.paid", invoice("paid", payment_intent_id="pi_1"), Status.PAID),
        ("invoice.paid", invoice("paid"), Status.PAID),  # out of band: a check recorded in Stripe
        ("invoice.voided", invoice("void"), Status.CANCELLED),
        ("invoice.marked_uncollectible", invoice("uncollectible"), Status.CANCELLED),
    ],
)
def test_an_invoice_event_settles_from_the_invoice_as_stripe_has_it(
    repository, invoiced, event_type, stripe_says, final
) -> None:
    stripe = FakeStripe()
    stripe.invoices["in_1"] = stripe_says
    outcome = payments(repository, stripe).handle(invoice_event(event_type))
    stored = repository.registrations[REG]
    assert stored.status is final and stripe.reads == ["in_1"]
    assert [(e.from_status, e.to_status) for e in outcome.changes] == [(Status.INVOICED, final)]
    assert stored.payment.payment_intent_id == stripe_says.payment_intent_id


def test_an_event_says_paid_but_stripe_says_open_changes_nothing(repository, invoiced) -> None:
    # The event body is never trusted: the invoice read back is still open.
    stripe = FakeStripe()
    stripe.invoices["in_1"] = invoice("open")
    payments(repository, stripe).handle(invoice_event("invoice.paid"))
    assert repository.registrations[REG].status is Status.INVOICED


def test_another_invoice_naming_the_registration_changes_nothing(repository, invoiced) -> None:
    stripe = FakeStripe()
    stripe.invoices["in_1"] = invoice("paid", invoice_id="in_forged")
    payments(repository, stripe).handle(invoice_event("invoice.paid"))
    assert repository.registrations[REG].status is Status.INVOICED


def test_the_reconciler_settles_a_paid_invoice_whose_webhook_was_lost(repository, invoiced) -> None:
    stripe = FakeStripe()
    stripe.invoices["in_1"] = invoice("paid", payment_intent_id="pi_1")
    report = payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])
    assert repository.registrations[REG].status is Status.PAID
    [outcome] = report.settled
    assert [(e.actor, e.to_status) for e in outcome.changes] == [("system", Status.PAID)]
    # And an invoice still open is read and left as it is
    stripe.invoices["in_1"] = invoice("open")
    assert payments(repository, stripe).reconcile(pending_for=timedelta(0), event_ids=["nasro-2020"]).settled == []
