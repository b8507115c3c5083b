"""The registration rules, with in-memory fakes for the table and Stripe."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from infra.samples import group, individual
from shared.clock import FixedClock
from shared.conference import load_conference
from shared.errors import (
    AlreadyRegistered,
    InvalidRequest,
    NotFound,
    PaymentProviderUnavailable,
    RegistrationClosed,
    RegistrationInProgress,
    TooManyRequests,
)
from shared.limits import ClientLimits
from shared.registration.models import RegistrationCreated, SeatStatus, registration_request_adapter
from shared.registration.service import CHECKOUT_CREATION_LEASE, CREATE_ROUNDS, RegistrationService
from shared.registration.status import RegistrationStatus
from tests.support.fakes import FakePayments, InMemoryRegistrations
from tests.support.fakes_events import catalog_of
from tests.support.fakes_limits import InMemoryCounters

BEFORE = datetime(2020, 7, 22, 14, tzinfo=UTC)
CLIENT = "203.0.113.10"


@pytest.fixture
def repository() -> InMemoryRegistrations:
    return InMemoryRegistrations()


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments()


@pytest.fixture
def wall() -> FixedClock:
    return FixedClock(datetime(2026, 11, 27, 12, tzinfo=UTC))


@pytest.fixture
def conference_time() -> FixedClock:
    return FixedClock(BEFORE)


@pytest.fixture
def counters() -> InMemoryCounters:
    return InMemoryCounters()


@pytest.fixture
def service(repository, payments, wall, conference_time, counters) -> RegistrationService:
    return RegistrationService(
        events=catalog_of(load_conference()),
        repository=repository,
        payments=payments,
        conference_clock=conference_time,
        wall_clock=wall,
        site_url="https://register.example.org/",
        limits=ClientLimits(counters=counters, wall_clock=wall),
    )


def request(body):
    return registration_request_adapter.validate_python(body)


def test_a_new_registration_asks_stripe_for_seats_at_the_fee(service, payments) -> None:
    # When
    outcome = service.register(request(group(["a@example.org", "b@example.org"])), client=CLIENT)

    # Then
    assert outcome.created
    registration = outcome.registration
    assert registration.status is RegistrationStatus.PENDING_PAYMENT
    assert registration.amount.amount == 40000
    (sent,) = payments.requests
    assert sent.seats == 2 and sent.unit_price.amount == 20000 and sent.unit_price.currency == "usd"
    assert sent.customer_email == "chief@example.org"
    assert sent.idempotency_key == f"checkout-create:{registration.registration_id}:1"
    assert sent.success_url.startswith("https://register.example.org/?registration_id=")
    assert registration.checkout is not None


def test_an_individual_pays_with_their_own_email_for_one_seat(service, payments) -> None:
    registration = service.register(request(individual(email="Ana.Lopez@example.org")), client=CLIENT).registration
    (sent,) = payments.requests
    assert (sent.kind, sent.seats, sent.customer_email) == ("individual", 1, "Ana.Lopez@example.org")
    assert registration.amount.amount == 20000
    assert (
        sent.cancel_url
        == f"https://register.example.org/?registration_id={registration.registration_id}&checkout=cancelled"
    )


def test_each_seat_gets_its_own_attendee_id(service) -> None:
    registration = service.register(request(group(["a@example.org", "b@example.org"])), client=CLIENT).registration
    ids = [seat.attendee_id for seat in registration.seats]
    assert len(set(ids)) == 2 and all(i.startswith("att_") for i in ids)


def test_a_failed_stripe_call_leaves_nothing_that_blocks_the_email(service, repository, payments) -> None:
    # Given
    payments.failures = 1

    # When
    with pytest.raises(PaymentProviderUnavailable):
        service.register(request(individual()), client=CLIENT)

    # Then nothing is kept, and the registrant can submit again
    assert repository.registrations == {} and repository.claims == {} and repository.guards == {}
    assert service.register(request(individual()), client=CLIENT).created


def test_a_resubmission_while_the_first_is_being_created_is_told_to_wait(service, repository, payments) -> None:
    # Given a registration whose creator has not attached a Checkout Session yet
    first = service.register(request(individual()), client=CLIENT).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})

    # Then
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()), client=CLIENT)


def test_a_registration_whose_creator_died_is_finished_by_the_next_submission(
    service, repository, payments, wall
) -> None:
    # Given a registration left without a Checkout Session past the lease
    first = service.register(request(individual()), client=CLIENT).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})
    wall.advance(CHECKOUT_CREATION_LEASE + timedelta(seconds=1))

    # When
    again = service.register(request(individual()), client=CLIENT)

    # Then the same Stripe idempotency key is used, so Stripe answers with the same session
    assert not again.created
    assert again.registration.registration_id == first.registration_id
    assert payments.requests[-1].idempotency_key == payments.requests[0].idempotency_key
    assert payments.requests[-1] == payments.requests[0]
    assert again.registration.checkout == first.checkout


def test_an_expired_checkout_is_replaced_on_resubmission(service, payments, wall) -> None:
    # Given
    first = service.register(request(individual()), client=CLIENT).registration
    wall.advance(timedelta(minutes=61))

    # When
    again = service.register(request(individual()), client=CLIENT).registration

    # Then
    assert again.registration_id == first.registration_id
    assert again.checkout_attempt == 2
    assert payments.requests[-1].idempotency_key.endswith(":2")
    assert again.checkout is not None and first.checkout is not None
    assert again.checkout.session_id != first.checkout.session_id
    assert again.checkout.expires_at > wall.now()


def test_a_paid_email_is_already_registered(service, repository) -> None:
    first = service.register(request(individual()), client=CLIENT).registration
    repository.pay(first.registration_id)
    with pytest.raises(AlreadyRegistered):
        service.register(request(individual()), client=CLIENT)
    with pytest.raises(AlreadyRegistered):  # whoever asks, with whatever other details
        service.register(request(individual(first_name="Mallory")), client=CLIENT)


@pytest.mark.parametrize(
    "no_longer_held",
    [
        {"status": RegistrationStatus.REFUNDED},
        {"status": RegistrationStatus.EXPIRED},
    ],
)
def test_a_guard_left_by_a_registration_that_holds_no_paid_seat_refuses_nobody(
    service, repository, no_longer_held
) -> None:
    # Given the guard of a registration that was paid and is now refunded (or a stale one)
    first = service.register(request(individual()), client=CLIENT).registration
    repository.pay(first.registration_id)
    current = repository.registrations[first.registration_id]
    repository.registrations[first.registration_id] = current.model_copy(update=no_longer_held)

    # When / Then the person may register again
    again = service.register(request(individual()), client=CLIENT)
    assert again.created and again.registration.registration_id != first.registration_id


def test_a_refunded_seat_of_a_paid_group_lets_its_person_register_again(service, repository) -> None:
    paid = repository.pay(
        service.register(request(group(["a@example.org", "b@example.org"])), client=CLIENT).registration.registration_id
    )
    refunded = paid.with_seats({paid.seats[0].attendee_id: SeatStatus.REFUNDED})
    repository.registrations[paid.registration_id] = paid.model_copy(update={"seats": refunded})
    assert service.register(request(individual(email="a@example.org")), client=CLIENT).created
    with pytest.raises(AlreadyRegistered):
        service.register(request(individual(email="b@example.org")), client=CLIENT)


@pytest.mark.parametrize("released", [RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED])
def test_an_expired_or_cancelled_registration_frees_the_email(service, repository, released) -> None:
    # Given a registration that ended without payment but whose guard is still there
    first = service.register(request(individual()), client=CLIENT).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"status": released})

    # When
    again = service.register(request(individual()), client=CLIENT)

    # Then
    assert again.created
    assert again.registration.registration_id != first.registration_id


def test_a_group_naming_someone_registered_elsewhere_names_the_position_not_the_email(service, repository) -> None:
    # Given
    repository.pay(
        service.register(request(individual(email="c@example.org")), client=CLIENT).registration.registration_id
    )
    before = (dict(repository.registrations), dict(repository.guards), dict(repository.claims))

    # When
    with pytest.raises(AlreadyRegistered, match="Attendee 3") as raised:
        service.register(request(group(["a@example.org", "b@example.org", "C@example.org"])), client=CLIENT)

    # Then the detail says who by position only, and nothing of the group is kept
    assert "c@example.org" not in raised.value.detail.lower()
    assert (repository.registrations, repository.guards, repository.claims) == before


def test_a_group_naming_people_of_two_registrations_names_the_first_of_them(service, repository) -> None:
    repository.pay(
        service.register(request(individual(email="b@example.org")), client=CLIENT).registration.registration_id
    )
    repository.pay(
        service.register(request(individual(email="c@example.org")), client=CLIENT).registration.registration_id
    )
    with pytest.raises(AlreadyRegistered, match="Attendee 2"):
        service.register(request(group(["a@example.org", "b@example.org", "c@example.org"])), client=CLIENT)


def test_a_group_member_cannot_also_register_individually(service, repository) -> None:
    # Given
    repository.pay(
        service.register(request(group(["a@example.org", "b@example.org"])), client=CLIENT).registration.registration_id
    )

    # When / Then an individual is told their email holds a seat
    with pytest.raises(AlreadyRegistered, match="This email already holds a seat"):
        service.register(request(individual(email="a@example.org")), client=CLIENT)


def test_the_same_person_again_in_another_case_gets_the_same_registration_and_checkout(service, payments) -> None:
    # Given
    first = service.register(request(individual()), client=CLIENT).registration

    # When the same person submits again, the address in another case
    again = service.register(request(individual(email="Ana.Lopez@EXAMPLE.org")), client=CLIENT)

    # Then the registration and its Checkout Session come back, and Stripe was asked once
    assert not again.created
    assert again.registration.registration_id == first.registration_id
    assert again.registration.checkout == first.checkout
    assert len(payments.requests) == 1


def test_the_purchaser_listing_the_same_people_in_another_order_gets_the_same_registration(service) -> None:
    body = group(["a@example.org", "b@example.org"])
    first = service.register(request(body), client=CLIENT).registration
    again = service.register(request(body | {"attendees": body["attendees"][::-1]}), client=CLIENT)
    assert not again.created and again.registration.registration_id == first.registration_id


def test_a_subset_of_a_pending_group_is_its_own_registration(service) -> None:
    first = service.register(request(group(["a@example.org", "b@example.org"])), client=CLIENT).registration
    other = service.register(request(group(["a@example.org"])), client=CLIENT)
    assert other.created and other.registration.registration_id != first.registration_id


def test_naming_a_pending_registrant_makes_another_registration_that_reveals_nothing_of_theirs(
    service, payments
) -> None:
    # Given the real person's registration awaiting payment
    real = service.register(request(individual()), client=CLIENT).registration

    # When someone else names that email with their own details (or another purchaser names them in a group)
    squatter = service.register(
        request(individual(first_name="Mallory", organization="Gotham PD")), client=CLIENT
    ).registration
    group_squatter = service.register(
        request(group(["ana.lopez@example.org"], purchaser_email="m@example.org")), client=CLIENT
    )

    # Then each gets a registration and a Checkout Session of its own: no id, URL or detail of the real one
    assert len({real.registration_id, squatter.registration_id, group_squatter.registration.registration_id}) == 3
    assert real.checkout is not None and squatter.checkout is not None
    assert squatter.checkout.url != real.checkout.url
    assert squatter.seats[0].first_name == "Mallory"
    # and the real person, submitting again, gets their own registration back, not the squatter's
    again = service.register(request(individual()), client=CLIENT).registration
    assert again.registration_id == real.registration_id and again.seats[0].first_name == "Ana"
    assert len(payments.sessions) == 3


def test_a_group_registers_at_most_the_conference_s_limit_of_50(service, repository) -> None:
    # When / Then 51 is refused on the attendees, and nothing is stored
    with pytest.raises(InvalidRequest) as raised:
        service.register(request(group([f"p{n}@example.org" for n in range(51)])), client=CLIENT)
    assert [error.field for error in raised.value.errors] == ["attendees"]
    assert repository.registrations == {}
    # and 50 is a registration
    assert (
        len(
            service.register(request(group([f"p{n}@example.org" for n in range(50)])), client=CLIENT).registration.seats
        )
        == 50
    )


def test_one_person_twice_in_a_group_is_invalid(service) -> None:
    with pytest.raises(InvalidRequest) as raised:
        service.register(request(group(["a@example.org", "A@EXAMPLE.ORG"])), client=CLIENT)
    assert [error.field for error in raised.value.errors] == ["attendees[1].email"]


def test_registration_is_closed_after_the_conference(service, conference_time) -> None:
    conference_time.moment = datetime(2020, 8, 8, 5, 0, tzinfo=UTC)  # midnight in Chicago
    with pytest.raises(RegistrationClosed):
        service.register(request(individual()), client=CLIENT)


def test_registration_is_open_in_the_last_minute_of_the_last_day(service, conference_time) -> None:
    conference_time.moment = datetime(2020, 8, 8, 4, 59, tzinfo=UTC)  # 23:59 in Chicago on 7 August
    assert service.register(request(individual()), client=CLIENT).created


def test_unknown_and_malformed_ids_are_not_found(service) -> None:
    for registration_id in ("reg_" + "a" * 24, "../etc", "", "nope", "reg_%00", "x" * 300):
        with pytest.raises(NotFound):
            service.get(registration_id)


def test_twenty_concurrent_submissions_for_one_email_make_exactly_one_seat(service, repository, payments) -> None:
    # Given twenty requests for one person, released at once
    body = request(individual(email="rush@example.org"))
    start = threading.Barrier(20)

    def register(_: int) -> str:
        start.wait()
        try:
            outcome = service.register(body, client=CLIENT)
        except RegistrationInProgress:
            return "in progress"
        return "created" if outcome.created else outcome.registration.registration_id

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = Counter(pool.map(register, range(20)))

    # Then one registration, one Checkout Session; every other answer is it or "in progress"
    (stored,) = repository.registrations.values()
    assert answers["created"] == 1, answers
    assert set(answers) <= {"created", stored.registration_id, "in progress"}, answers
    assert len(payments.sessions) == 1


def test_concurrent_groups_sharing_one_attendee_each_make_their_own_registration(service, repository) -> None:
    # Given ten purchasers, each naming the same shared attendee and one of their own
    bodies = [request(group(["shared@example.org", f"own{n}@example.org"], f"buyer{n}@example.org")) for n in range(10)]
    start = threading.Barrier(10)

    def register(body) -> str:
        start.wait()
        return "created" if service.register(body, client=CLIENT).created else "resubmission"

    # When
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = Counter(pool.map(register, bodies))

    # Then none blocks another: the one seat per person is decided by payment (shared/payments), not here
    assert answers == Counter({"created": 10})
    assert len(repository.registrations) == 10 and repository.guards == {}


def test_a_claim_freed_between_the_conflict_and_the_look_is_taken_on_the_next_round(service, repository) -> None:
    # Given an identical request's registration still being created
    first = service.register(request(individual()), client=CLIENT).registration
    being_created = first.model_copy(update={"checkout": None})
    repository.registrations[first.registration_id] = being_created

    # When our create loses to it, and its creator discards it (Stripe failed) before we read it
    repository.race("get", lambda: repository.discard(being_created))
    again = service.register(request(individual()), client=CLIENT)

    # Then the claim is free, and this request takes it
    assert again.created and again.registration.registration_id != first.registration_id
    assert list(repository.claims.values()) == [again.registration.registration_id]


def test_emails_that_keep_being_claimed_by_stale_registrations_end_in_a_retryable_refusal(
    service, repository, wall
) -> None:
    # Given, before each create, another expired registration claiming the email again (a churn that never settles)
    expired = service.register(request(individual()), client=CLIENT).registration.model_copy(
        update={"status": RegistrationStatus.EXPIRED}
    )
    repository.registrations[expired.registration_id] = expired

    def claim_again() -> None:
        repository.claims["nasro-2020", str(expired.resubmission)] = expired.registration_id

    for _ in range(CREATE_ROUNDS):
        repository.race("create", claim_again)

    # When / Then the service stops after its rounds instead of looping
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()), client=CLIENT)


def test_two_resubmissions_renewing_an_expired_checkout_make_one_new_attempt(
    service, repository, payments, wall
) -> None:
    # Given an expired Checkout Session, and a second resubmission renewing it between our read and our write
    first = service.register(request(individual()), client=CLIENT).registration
    wall.advance(timedelta(minutes=61))
    renewed: list[object] = []
    repository.race(
        "start_checkout_attempt", lambda: renewed.append(service.register(request(individual()), client=CLIENT))
    )

    # When
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()), client=CLIENT)

    # Then the other one's attempt 2 stands, with its session; ours made none
    assert len(renewed) == 1
    stored = repository.registrations[first.registration_id]
    assert stored.checkout_attempt == 2 and stored.checkout is not None
    assert [r.attempt for r in payments.requests] == [1, 2]


def test_two_submissions_finishing_a_dead_creator_s_registration_answer_the_same_session(
    service, repository, payments, wall
) -> None:
    # Given a registration whose creator died before attaching its session, and two resubmissions finishing it
    first = service.register(request(individual()), client=CLIENT).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})
    wall.advance(CHECKOUT_CREATION_LEASE + timedelta(seconds=1))
    repository.race("attach_checkout", lambda: service.register(request(individual()), client=CLIENT))

    # When ours loses the attach to the other
    again = service.register(request(individual()), client=CLIENT)

    # Then it answers with the session the other attached (Stripe's, for the same key)
    assert not again.created
    assert again.registration.checkout == first.checkout
    assert repository.registrations[first.registration_id].checkout == first.checkout


def test_a_registration_that_stops_awaiting_payment_while_its_new_session_is_made_gets_none(
    service, repository, wall
) -> None:
    # Given an expired session being renewed, and the registration expiring before the new one is attached
    first = service.register(request(individual()), client=CLIENT).registration
    wall.advance(timedelta(minutes=61))

    def expire() -> None:
        current = repository.registrations[first.registration_id]
        repository.registrations[first.registration_id] = current.model_copy(
            update={"status": RegistrationStatus.EXPIRED}
        )

    repository.race("attach_checkout", expire)

    # When / Then
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()), client=CLIENT)
    assert repository.registrations[first.registration_id].checkout is None


def test_one_address_registers_a_hundred_times_an_hour_then_waits_for_the_next_hour(service, wall) -> None:
    # Given an agency behind one address registering its officers one by one
    for n in range(100):
        assert service.register(request(individual(email=f"officer{n}@example.org")), client=CLIENT).created

    # When it tries once more this hour, it is told how long to wait; another address is not affected
    with pytest.raises(TooManyRequests) as refused:
        service.register(request(individual(email="officer100@example.org")), client=CLIENT)
    assert 0 < refused.value.retry_after <= 3600
    assert service.register(request(individual(email="officer100@example.org")), client="198.51.100.7").created

    # Then the next hour it may go on
    wall.advance(timedelta(hours=1))
    assert service.register(request(individual(email="officer101@example.org")), client=CLIENT).created


def test_an_invalid_request_costs_the_client_nothing(service, counters) -> None:
    with pytest.raises(InvalidRequest):
        service.register(request(group(["a@example.org", "A@example.org"])), client=CLIENT)
    assert counters.counts == {}


INVOICE = {"method": "invoice", "po_number": "PO-1234", "billing_email": "AP@agency.gov", "billing_name": "Accounts"}


def test_a_request_to_pay_by_invoice_awaits_finance_without_stripe_or_seats(service, repository, payments) -> None:
    # When
    outcome = service.register(request(group(["a@example.org", "b@example.org"]) | {"payment": INVOICE}), client=CLIENT)

    # Then no Checkout Session, no guard: only the request awaiting a finance organiser
    registration = outcome.registration
    assert outcome.created and registration.status is RegistrationStatus.INVOICE_REQUESTED
    assert registration.checkout is None and not payments.requests
    assert registration.billing is not None and registration.billing.po_number == "PO-1234"
    assert repository.seat_holders(registration.event_id, registration.email_keys) == {}
    assert "checkout_url" not in RegistrationCreated.of(registration).as_answer()


def test_the_same_invoice_request_again_gets_the_same_registration(service) -> None:
    first = service.register(request(individual() | {"payment": INVOICE}), client=CLIENT)
    billing_in_another_case = INVOICE | {"billing_email": "ap@AGENCY.gov"}
    again = service.register(request(individual() | {"payment": billing_in_another_case}), client=CLIENT)
    assert not again.created and again.registration.registration_id == first.registration.registration_id
    # Saying `checkout` is the same as saying nothing; asking for an invoice instead is another request.
    checkout = service.register(request(individual() | {"payment": {"method": "checkout"}}), client=CLIENT)
    same = service.register(request(individual()), client=CLIENT).registration
    assert same.registration_id == checkout.registration.registration_id
    assert checkout.registration.registration_id != first.registration.registration_id


def test_an_invoice_request_naming_a_paid_seat_is_already_registered(service, repository) -> None:
    first = service.register(request(individual()), client=CLIENT).registration
    repository.pay(first.registration_id)
    with pytest.raises(AlreadyRegistered):
        service.register(request(individual() | {"payment": INVOICE}), client=CLIENT)
