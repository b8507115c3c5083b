"""The payment service against fakes of its ports: which Stripe object a webhook event makes it re-read, what
it writes and remembers, duplicates, concurrent writers, Stripe unavailable, and the reconciler.

The decisions themselves (which status Stripe's state means, in any order of deliveries) are pinned in
test_settlement.py; the adapters and the handlers' HTTP answers in tests/integration."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.conference.models import Money
from shared.errors import PaymentProviderUnavailable, TemporarilyUnavailable
from shared.payments.models import FindingKind, HistoryAction, PaymentTruth, StripeEvent
from shared.payments.seat_refunds import SeatRefunds
from shared.payments.service import ABANDONED_AFTER, SETTLE_ROUNDS, PaymentService
from shared.registration.models import Checkout, Registration, Seat, SeatStatus
from shared.registration.status import RegistrationStatus
from tests.support.fakes_payments import FakeSeatRefunds, FakeStripe, InMemoryPaymentRepository

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REG = "reg_" + "a" * 24
SESSION = "cs_test_current"
CHARGE = "ch_test_1"
DISPUTE = "dp_test_1"
Status = RegistrationStatus


def registration(
    *emails: str, registration_id: str = REG, created_at: datetime = NOW - timedelta(hours=2), checkout: bool = True
) -> Registration:
    seats = [
        Seat(attendee_id=f"att_{n}", first_name="Ana", last_name="Lopez", email=email, organization="PD")
        for n, email in enumerate(emails or ("ana@example.org",))
    ]
    return Registration(
        event_id="nasro-2020",
        registration_id=registration_id,
        kind="group" if len(seats) > 1 else "individual",
        status=Status.PENDING_PAYMENT,
        seats=seats,
        amount=Money(amount=20000 * len(seats), currency="usd"),
        created_at=created_at,
        checkout_attempt=1,
        checkout_expires_at=created_at + timedelta(hours=1),
        checkout=Checkout(session_id=SESSION, url="https://checkout.test/cs", expires_at=created_at)
        if checkout
        else None,
    )


def truth(**facts: object) -> PaymentTruth:
    base: dict[str, object] = {"registration_id": REG, "livemode": False, "amount": 20000, "currency": "usd"}
    return PaymentTruth(**(base | facts))  # type: ignore[arg-type]


def session(**facts: object) -> PaymentTruth:
    return truth(session_id=SESSION, **facts)


def charge(**facts: object) -> PaymentTruth:
    return truth(payment_intent_id="pi_1", charge_id=CHARGE, charge_succeeded=True, **facts)


OPEN = session(session_status="open", payment_status="unpaid")
PROCESSING = session(session_status="complete", payment_status="unpaid", payment_intent_id="pi_1")
PAID = session(
    session_status="complete", payment_status="paid", payment_intent_id="pi_1", charge_id=CHARGE, charge_succeeded=True
)
FAILED = session(session_status="complete", payment_status="unpaid", payment_intent_id="pi_1", payment_failed=True)
EXPIRED = session(session_status="expired", payment_status="unpaid")
REFUNDED = charge(amount_refunded=20000)


def event(event_type: str, object_id: str = SESSION, *, event_id: str = "evt_1", livemode: bool = False) -> StripeEvent:
    kind = {"checkout": "checkout.session", "charge": "charge"}[event_type.split(".")[0]]
    if event_type.startswith("charge.dispute"):
        kind = "dispute"
    return StripeEvent(
        id=event_id, type=event_type, object_type=kind, object_id=object_id, livemode=livemode, created=1
    )


COMPLETED = event("checkout.session.completed")


def payments(
    repository: InMemoryPaymentRepository,
    stripe: FakeStripe,
    clock: FixedClock | None = None,
    refunds: FakeSeatRefunds | None = None,
) -> PaymentService:
    wall = clock or FixedClock(NOW)
    return PaymentService(
        repository=repository,
        stripe=stripe,
        expected_livemode=False,
        wall_clock=wall,
        seat_refunds=SeatRefunds(repository=repository, refunds=refunds or FakeSeatRefunds(), wall_clock=wall),
    )


def steps(
    repository: InMemoryPaymentRepository, registration_id: str = REG
) -> list[tuple[str, str | None, str | None]]:
    """The status changes in the registration's history, as (actor, from, to)."""
    return [
        (h.actor, h.from_status, h.to_status)
        for h in repository.registrations[registration_id].history
        if h.action == HistoryAction.STATUS_CHANGED
    ]


class TestWebhookEvents:
    def test_a_paid_session_makes_it_paid_with_one_entry_naming_the_event(self) -> None:
        # Given a pending registration whose session Stripe reports paid
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID

        # When the completed event arrives
        outcome = payments(repository, stripe).handle(COMPLETED)

        # Then paid, the payment's facts kept, one entry with the event, the event remembered for its registration
        stored = repository.registrations[REG]
        assert stored.status is Status.PAID and stored.version == 1
        assert (stored.payment.amount_paid, stored.payment.payment_intent_id, stored.payment.charge_id) == (
            20000,
            "pi_1",
            CHARGE,
        )
        (entry,) = stored.history
        assert (entry.at, entry.actor, entry.action, entry.from_status, entry.to_status) == (
            NOW,
            "stripe",
            HistoryAction.STATUS_CHANGED,
            Status.PENDING_PAYMENT,
            Status.PAID,
        )
        assert (entry.stripe_event_id, entry.stripe_event_type) == ("evt_1", "checkout.session.completed")
        assert outcome.changes == [entry] and outcome.findings == [] and outcome.registration_id == REG
        assert repository.events == {"evt_1": REG}

    def test_a_group_is_paid_for_the_amount_of_all_its_seats(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration("a@x.org", "b@x.org", "c@x.org")), FakeStripe()
        stripe.sessions[SESSION] = session(
            session_status="complete", payment_status="paid", charge_id=CHARGE, charge_succeeded=True, amount=60000
        )
        payments(repository, stripe).handle(COMPLETED)
        stored = repository.registrations[REG]
        assert stored.status is Status.PAID and stored.payment.amount_paid == 60000

    @pytest.mark.parametrize(
        ("event_type", "object_id", "read"),
        [
            ("checkout.session.completed", SESSION, "sessions"),
            ("checkout.session.async_payment_succeeded", SESSION, "sessions"),
            ("checkout.session.async_payment_failed", SESSION, "sessions"),
            ("checkout.session.expired", SESSION, "sessions"),
            ("charge.refunded", CHARGE, "charges"),
            ("charge.dispute.created", DISPUTE, "disputes"),
            ("charge.dispute.updated", DISPUTE, "disputes"),
            ("charge.dispute.closed", DISPUTE, "disputes"),
        ],
    )
    def test_each_handled_event_re_reads_its_own_kind_of_object(
        self, event_type: str, object_id: str, read: str
    ) -> None:
        # Given Stripe knows the object only under the kind the event names
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        getattr(stripe, read)[object_id] = PAID

        # When
        outcome = payments(repository, stripe).handle(event(event_type, object_id))

        # Then it was re-read there (a read of another kind would be a 404: an unknown registration)
        assert stripe.reads == [object_id] and outcome.findings == []

    def test_the_event_is_only_a_hint_what_stripe_says_now_decides(self) -> None:
        # Given the completed event of a delayed method (its snapshot said unpaid), but Stripe now says paid
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID

        # When it is delivered (late)
        payments(repository, stripe).handle(COMPLETED)

        # Then paid
        assert repository.registrations[REG].status is Status.PAID

    def test_a_delayed_payment_is_paid_only_when_it_succeeds(self) -> None:
        # Given a completed session whose delayed payment is still processing
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PROCESSING

        # When completed arrives, then the payment succeeds and async_payment_succeeded arrives
        processing = service.handle(COMPLETED)
        stripe.sessions[SESSION] = PAID
        succeeded = service.handle(event("checkout.session.async_payment_succeeded", event_id="evt_2"))

        # Then nothing was written while processing; paid by the second event
        assert processing.changes == [] and processing.findings == []
        assert [(h.to_status, h.stripe_event_id) for h in succeeded.changes] == [(Status.PAID, "evt_2")]

    def test_two_events_of_one_payment_fulfil_it_once(self) -> None:
        # Given a payment Stripe reports paid
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PAID

        # When both its completed and its async_payment_succeeded events arrive
        service.handle(COMPLETED)
        second = service.handle(event("checkout.session.async_payment_succeeded", event_id="evt_2"))

        # Then one transition, and the second event wrote nothing
        assert steps(repository) == [("stripe", Status.PENDING_PAYMENT, Status.PAID)]
        assert second.changes == [] and repository.saves == 1

    def test_a_failed_delayed_payment_cancels_and_frees_the_emails(self) -> None:
        # Given a group of two awaiting a delayed payment
        repository, stripe = InMemoryPaymentRepository(registration("a@x.org", "b@x.org")), FakeStripe()
        stripe.sessions[SESSION] = replace(FAILED, amount=40000)

        # When
        payments(repository, stripe).handle(event("checkout.session.async_payment_failed"))

        # Then cancelled and both people may register again
        assert repository.registrations[REG].status is Status.CANCELLED
        assert repository.guards == {}

    def test_the_current_session_expiring_expires_and_frees_the_email(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = EXPIRED
        payments(repository, stripe).handle(event("checkout.session.expired"))
        assert steps(repository) == [("stripe", Status.PENDING_PAYMENT, Status.EXPIRED)]
        assert repository.guards == {}

    def test_a_late_expired_event_for_a_session_stripe_says_is_paid_changes_nothing(self) -> None:
        # Given a paid registration
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PAID
        service.handle(COMPLETED)

        # When an expired event for the same session arrives
        outcome = service.handle(event("checkout.session.expired", event_id="evt_late"))

        # Then Stripe says complete: nothing written, the email still held
        assert outcome.changes == [] and repository.registrations[REG].version == 1
        assert repository.guards == {("nasro-2020", "ana@example.org"): REG}

    def test_a_refund_before_the_completion_was_recorded_is_two_writes_for_that_one_event(self) -> None:
        # Given paid and fully refunded at Stripe, no event acted on yet
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.charges[CHARGE] = REFUNDED

        # When the refund's event arrives first
        outcome = payments(repository, stripe).handle(event("charge.refunded", CHARGE, event_id="evt_refunded"))

        # Then two writes, each one allowed step, both entries naming that event
        stored = repository.registrations[REG]
        assert stored.status is Status.REFUNDED and stored.version == 2
        assert steps(repository) == [
            ("stripe", Status.PENDING_PAYMENT, Status.PAID),
            ("stripe", Status.PAID, Status.REFUNDED),
        ]
        assert {h.stripe_event_id for h in stored.history} == {"evt_refunded"}
        assert outcome.changes == stored.history

    @pytest.mark.parametrize(("closed", "final"), [("won", Status.PAID), ("lost", Status.REFUNDED)])
    def test_a_dispute_flags_the_registration_until_it_is_decided(self, closed: str, final: Status) -> None:
        # Given a paid registration
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PAID
        service.handle(COMPLETED)

        # When a dispute opens, then is decided
        stripe.disputes[DISPUTE] = charge(dispute_id=DISPUTE, dispute_status="needs_response")
        service.handle(event("charge.dispute.created", DISPUTE, event_id="evt_opened"))
        disputed = repository.registrations[REG].status
        stripe.disputes[DISPUTE] = charge(dispute_id=DISPUTE, dispute_status=closed)
        service.handle(event("charge.dispute.closed", DISPUTE, event_id="evt_closed"))

        # Then
        assert disputed is Status.DISPUTED
        assert steps(repository)[1:] == [("stripe", Status.PAID, Status.DISPUTED), ("stripe", Status.DISPUTED, final)]


class TestWhatIsNotActedOn:
    def test_an_event_id_already_acted_on_is_neither_re_read_nor_written(self) -> None:
        # Given an event acted on
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PAID
        service.handle(COMPLETED)
        reads, saves = len(stripe.reads), repository.saves

        # When it is delivered again
        outcome = service.handle(COMPLETED)

        # Then
        assert outcome.duplicate and outcome.changes == []
        assert (len(stripe.reads), repository.saves) == (reads, saves)

    def test_an_event_type_not_handled_is_ignored_without_a_read_or_a_memory(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        outcome = payments(repository, stripe).handle(event("checkout.session.created", event_id="evt_other"))
        assert outcome.ignored and stripe.reads == [] and repository.events == {}

    def test_a_livemode_event_in_a_test_deployment_is_a_finding_never_read_and_remembered(self) -> None:
        # Given a test-mode deployment and an event from live mode
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID

        # When
        outcome = payments(repository, stripe).handle(event("checkout.session.completed", livemode=True))

        # Then not fulfilled, not even re-read; remembered, so a redelivery is a duplicate
        assert outcome.findings == [FindingKind.LIVEMODE_MISMATCH] and outcome.registration_id is None
        assert stripe.reads == [] and repository.registrations[REG].status is Status.PENDING_PAYMENT
        assert repository.events == {"evt_1": None}

    def test_an_object_stripe_does_not_know_is_an_unknown_registration_acknowledged(self) -> None:
        # Given an event naming a session Stripe answers 404 for (another account, a forged id)
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()

        # When
        outcome = payments(repository, stripe).handle(event("checkout.session.completed", "cs_test_unknown"))

        # Then a finding, nothing written, the event remembered (Stripe is answered 200 and stops)
        assert outcome.findings == [FindingKind.UNKNOWN_REGISTRATION] and repository.saves == 0
        assert repository.events == {"evt_1": None}

    @pytest.mark.parametrize("named", [None, "not-a-registration-id", "reg_../../x", "reg_" + "a" * 2000])
    def test_a_session_naming_no_registration_id_is_unknown_without_a_lookup(self, named: str | None) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = replace(PAID, registration_id=named)
        outcome = payments(repository, stripe).handle(COMPLETED)
        assert outcome.findings == [FindingKind.UNKNOWN_REGISTRATION] and outcome.registration_id == named
        assert repository.lookups == [] and repository.events == {"evt_1": named}

    def test_a_session_naming_a_registration_we_do_not_have_is_unknown(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = replace(PAID, registration_id="reg_" + "b" * 24)
        outcome = payments(repository, stripe).handle(COMPLETED)
        assert outcome.findings == [FindingKind.UNKNOWN_REGISTRATION] and repository.lookups == ["reg_" + "b" * 24]
        assert repository.registrations[REG].status is Status.PENDING_PAYMENT and repository.saves == 0

    def test_stripe_unavailable_is_payment_provider_unavailable_and_the_redelivery_settles(self) -> None:
        # Given Stripe failing to answer the re-read once
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        service = payments(repository, stripe)
        stripe.sessions[SESSION] = PAID
        stripe.unavailable = 1

        # When the event arrives, Then unavailable (answered 503) with nothing written or remembered
        with pytest.raises(PaymentProviderUnavailable):
            service.handle(COMPLETED)
        assert repository.saves == 0 and repository.events == {}

        # and Stripe's redelivery settles it
        service.handle(COMPLETED)
        assert repository.registrations[REG].status is Status.PAID


class TestConcurrentWriters:
    def test_the_writer_that_lost_the_race_re_reads_and_adds_no_second_transition(self) -> None:
        # Given two deliveries of one event, the second acting while the first is about to write
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID
        first, second = payments(repository, stripe), payments(repository, stripe)
        raced: list[bool] = []

        def the_other_delivery(_: Registration) -> None:
            if not raced:
                raced.append(True)
                second.handle(COMPLETED)

        repository.before_save = the_other_delivery

        # When
        outcome = first.handle(COMPLETED)

        # Then the second wrote the transition; the first's write was stale, it re-read and found nothing to do
        assert repository.saves == 2
        assert steps(repository) == [("stripe", Status.PENDING_PAYMENT, Status.PAID)]
        assert outcome.changes == [] and repository.registrations[REG].version == 1

    def test_a_registration_that_changes_under_every_write_is_temporarily_unavailable(self) -> None:
        # Given another writer moving the registration on before each of our writes
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID
        repository.before_save = lambda current: repository.bump(current.registration_id)

        # When / Then: SETTLE_ROUNDS attempts, then a retryable answer, the event not remembered (Stripe resends)
        with pytest.raises(TemporarilyUnavailable):
            payments(repository, stripe).handle(COMPLETED)
        assert repository.saves == SETTLE_ROUNDS
        assert repository.registrations[REG].status is Status.PENDING_PAYMENT and repository.events == {}

    def test_a_write_that_loses_once_still_settles(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID
        lost: list[str] = []

        def once(current: Registration) -> None:
            if not lost:
                lost.append(current.registration_id)
                repository.bump(current.registration_id)

        repository.before_save = once
        outcome = payments(repository, stripe).handle(COMPLETED)
        assert repository.saves == 2 and [h.to_status for h in outcome.changes] == [Status.PAID]


class TestReconciler:
    def test_a_payment_whose_webhook_never_arrived_is_settled_by_the_reconciler(self) -> None:
        # Given paid at Stripe, no webhook
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = PAID

        # When
        report = payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])

        # Then
        assert (report.examined, report.discarded) == (1, 0)
        (outcome,) = report.settled
        assert steps(repository) == [("system", Status.PENDING_PAYMENT, Status.PAID)]
        assert outcome.changes == repository.registrations[REG].history
        assert outcome.changes[0].stripe_event_id is None and repository.events == {}

    def test_an_expired_session_whose_webhook_never_arrived_frees_the_email(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = EXPIRED
        payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])
        assert repository.registrations[REG].status is Status.EXPIRED and repository.guards == {}

    def test_an_open_session_is_asked_about_and_left_alone(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = OPEN
        report = payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])
        assert (report.examined, report.settled, repository.saves) == (1, [], 0)
        assert stripe.reads == [SESSION]

    def test_a_finding_is_reported_even_though_nothing_is_written(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration()), FakeStripe()
        stripe.sessions[SESSION] = replace(PAID, amount=100)
        report = payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])
        assert [o.findings for o in report.settled] == [[FindingKind.AMOUNT_MISMATCH]] and repository.saves == 0

    def test_only_registrations_pending_longer_than_asked_are_examined(self) -> None:
        # Given one registration created 2 hours ago and one created 5 minutes ago
        fresh = registration("fresh@x.org", registration_id="reg_" + "f" * 24, created_at=NOW - timedelta(minutes=5))
        repository, stripe = InMemoryPaymentRepository(registration(), fresh), FakeStripe()
        stripe.sessions[SESSION] = OPEN

        # When / Then only the old one is asked about
        assert (
            payments(repository, stripe).reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"]).examined
            == 1
        )
        assert stripe.reads == [SESSION]

    def test_a_registration_whose_checkout_was_never_made_is_discarded_only_after_an_hour(self) -> None:
        # Given a registration whose creator crashed before making its Checkout Session
        abandoned = registration(checkout=False, created_at=NOW - timedelta(minutes=30))
        repository, stripe = InMemoryPaymentRepository(abandoned), FakeStripe()
        clock = FixedClock(NOW)
        service = payments(repository, stripe, clock)

        # When the reconciler runs before the hour is up, then after
        early = service.reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])
        clock.advance(ABANDONED_AFTER)
        late = service.reconcile(pending_for=timedelta(minutes=10), event_ids=["nasro-2020"])

        # Then kept at first (its creator may still finish), then discarded with its email freed; Stripe never asked
        assert (early.examined, early.discarded, late.discarded) == (1, 0, 1)
        assert repository.registrations == {} and repository.guards == {} and stripe.reads == []

    def test_a_registration_that_gets_its_checkout_while_the_reconciler_runs_is_kept_and_the_run_goes_on(self) -> None:
        # Given two abandoned-looking registrations, the first of which gets its Checkout Session after the listing
        late = registration(checkout=False, created_at=NOW - timedelta(hours=2))
        other = registration(
            "b@x.org", registration_id="reg_" + "b" * 24, checkout=False, created_at=NOW - timedelta(hours=2)
        )

        class CreatorFinishes(InMemoryPaymentRepository):
            def discard(self, registration: Registration) -> None:
                if registration.registration_id == REG:
                    checkout = Checkout(session_id=SESSION, url="https://checkout.test/cs", expires_at=NOW)
                    self.registrations[REG] = registration.model_copy(update={"checkout": checkout})
                super().discard(registration)

        repository = CreatorFinishes(late, other)

        # When
        report = payments(repository, FakeStripe()).reconcile(
            pending_for=timedelta(minutes=10), event_ids=["nasro-2020"]
        )

        # Then the one whose creator finished stays; the other is discarded
        assert (report.examined, report.discarded) == (2, 1)
        assert list(repository.registrations) == [REG]


class TestOneSeatPerPersonIsDecidedByPayment:
    """Seats are held by payment: the write that records a payment takes its seats' guards; a person already
    holding a paid seat keeps it, and the later payment's seat for them is refunded through Stripe alone."""

    OTHER = "reg_" + "b" * 24

    def paid_elsewhere(self, *emails: str, status: Status = Status.PAID) -> Registration:
        return registration(*emails, registration_id=self.OTHER).model_copy(update={"status": status})

    def test_paying_takes_the_seats_guards_in_the_same_write(self) -> None:
        repository, stripe = InMemoryPaymentRepository(registration("a@x.org", "b@x.org")), FakeStripe()
        stripe.sessions[SESSION] = replace(PAID, amount=40000)
        payments(repository, stripe).handle(COMPLETED)
        assert repository.guards == {("nasro-2020", "a@x.org"): REG, ("nasro-2020", "b@x.org"): REG}
        assert repository.saves == 1

    def test_a_person_paid_twice_keeps_the_first_seat_and_the_later_one_is_refunded_alone(self) -> None:
        # Given b already holds a paid seat, and a group naming a and b is paid
        repository = InMemoryPaymentRepository(self.paid_elsewhere("b@x.org"), registration("a@x.org", "b@x.org"))
        stripe, refunds = FakeStripe(), FakeSeatRefunds()
        stripe.sessions[SESSION] = replace(PAID, amount=40000)

        # When
        outcome = payments(repository, stripe, refunds=refunds).handle(COMPLETED)

        # Then the group is paid; a's seat counts; b keeps the earlier seat and this seat's fee goes back
        paid = repository.registrations[REG]
        assert paid.status is Status.PAID and outcome.seats_due_refund
        assert [s.status for s in paid.seats] == [SeatStatus.ACTIVE, SeatStatus.REFUNDED]
        assert repository.guards == {("nasro-2020", "a@x.org"): REG, ("nasro-2020", "b@x.org"): self.OTHER}
        assert refunds.refunds == {(REG, "att_1"): ("re_1", "pi_1", Money(amount=20000, currency="usd"))}
        assert paid.seats[1].refund_id == "re_1"
        actions = [(e.action, e.attendee_id) for e in paid.history if e.attendee_id]
        assert actions == [(HistoryAction.SEAT_DUPLICATE, "att_1"), (HistoryAction.SEAT_REFUNDED, "att_1")]

    def test_a_refund_stripe_does_not_take_is_asked_again_on_the_redelivery_once(self) -> None:
        repository = InMemoryPaymentRepository(self.paid_elsewhere("ana@example.org"), registration())
        stripe, refunds = FakeStripe(), FakeSeatRefunds()
        stripe.sessions[SESSION] = PAID
        refunds.unavailable = 1
        service = payments(repository, stripe, refunds=refunds)

        # When Stripe does not take the refund, the event is answered 503 and not remembered
        with pytest.raises(PaymentProviderUnavailable):
            service.handle(COMPLETED)
        assert repository.events == {} and repository.registrations[REG].seats[0].status is SeatStatus.REFUND_DUE

        # Then its redelivery refunds the seat, and a duplicate of that delivery refunds nothing more
        service.handle(COMPLETED)
        service.handle(COMPLETED)
        assert repository.registrations[REG].seats[0].status is SeatStatus.REFUNDED
        assert len(refunds.refunds) == 1 and refunds.calls == 2

    @pytest.mark.parametrize("status", [Status.REFUNDED, Status.EXPIRED])
    def test_a_guard_left_by_a_registration_holding_no_paid_seat_is_taken_over(self, status: Status) -> None:
        stale = self.paid_elsewhere("ana@example.org")
        repository = InMemoryPaymentRepository(stale, registration())
        repository.registrations[self.OTHER] = stale.model_copy(update={"status": status})
        stripe, refunds = FakeStripe(), FakeSeatRefunds()
        stripe.sessions[SESSION] = PAID
        payments(repository, stripe, refunds=refunds).handle(COMPLETED)
        assert repository.guards == {("nasro-2020", "ana@example.org"): REG}
        assert repository.registrations[REG].seats[0].status is SeatStatus.ACTIVE and refunds.calls == 0

    def test_two_payments_racing_for_one_person_give_the_seat_to_the_one_recorded_first(self) -> None:
        # Given our payment's write loses to another registration's payment taking the same guard
        repository = InMemoryPaymentRepository(registration())
        stripe, refunds = FakeStripe(), FakeSeatRefunds()
        stripe.sessions[SESSION] = PAID
        rival = self.paid_elsewhere("ana@example.org")

        def rival_pays(_: Registration) -> None:
            repository.before_save = None
            repository.add(rival)

        repository.before_save = rival_pays

        # When
        payments(repository, stripe, refunds=refunds).handle(COMPLETED)

        # Then our write was refused, re-read, and recorded the seat as the duplicate it now is
        assert repository.saves == 2
        assert repository.guards == {("nasro-2020", "ana@example.org"): self.OTHER}
        assert repository.registrations[REG].seats[0].status is SeatStatus.REFUNDED
