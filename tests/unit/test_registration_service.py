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
)
from shared.registration.models import registration_request_adapter
from shared.registration.service import CHECKOUT_CREATION_LEASE, CREATE_ROUNDS, RegistrationService
from shared.registration.status import RegistrationStatus
from tests.support.fakes import FakePayments, InMemoryRegistrations
from tests.support.fakes_events import catalog_of

BEFORE = datetime(2020, 7, 22, 14, tzinfo=UTC)


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
def service(repository, payments, wall, conference_time) -> RegistrationService:
    return RegistrationService(
        events=catalog_of(load_conference()),
        repository=repository,
        payments=payments,
        conference_clock=conference_time,
        wall_clock=wall,
        site_url="https://register.example.org/",
    )


def request(body):
    return registration_request_adapter.validate_python(body)


def test_a_new_registration_asks_stripe_for_seats_at_the_fee(service, payments) -> None:
    # When
    outcome = service.register(request(group(["a@example.org", "b@example.org"])))

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
    registration = service.register(request(individual(email="Ana.Lopez@example.org"))).registration
    (sent,) = payments.requests
    assert (sent.kind, sent.seats, sent.customer_email) == ("individual", 1, "Ana.Lopez@example.org")
    assert registration.amount.amount == 20000
    assert (
        sent.cancel_url
        == f"https://register.example.org/?registration_id={registration.registration_id}&checkout=cancelled"
    )


def test_each_seat_gets_its_own_attendee_id(service) -> None:
    registration = service.register(request(group(["a@example.org", "b@example.org"]))).registration
    ids = [seat.attendee_id for seat in registration.seats]
    assert len(set(ids)) == 2 and all(i.startswith("att_") for i in ids)


def test_a_failed_stripe_call_leaves_nothing_that_blocks_the_email(service, repository, payments) -> None:
    # Given
    payments.failures = 1

    # When
    with pytest.raises(PaymentProviderUnavailable):
        service.register(request(individual()))

    # Then nothing is kept, and the registrant can submit again
    assert repository.registrations == {} and repository.guards == {}
    assert service.register(request(individual())).created


def test_a_resubmission_while_the_first_is_being_created_is_told_to_wait(service, repository, payments) -> None:
    # Given a registration whose creator has not attached a Checkout Session yet
    first = service.register(request(individual())).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})

    # Then
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()))


def test_a_registration_whose_creator_died_is_finished_by_the_next_submission(
    service, repository, payments, wall
) -> None:
    # Given a registration left without a Checkout Session past the lease
    first = service.register(request(individual())).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})
    wall.advance(CHECKOUT_CREATION_LEASE + timedelta(seconds=1))

    # When
    again = service.register(request(individual()))

    # Then the same Stripe idempotency key is used, so Stripe answers with the same session
    assert not again.created
    assert again.registration.registration_id == first.registration_id
    assert payments.requests[-1].idempotency_key == payments.requests[0].idempotency_key
    assert payments.requests[-1] == payments.requests[0]
    assert again.registration.checkout == first.checkout


def test_an_expired_checkout_is_replaced_on_resubmission(service, payments, wall) -> None:
    # Given
    first = service.register(request(individual())).registration
    wall.advance(timedelta(minutes=61))

    # When
    again = service.register(request(individual())).registration

    # Then
    assert again.registration_id == first.registration_id
    assert again.checkout_attempt == 2
    assert payments.requests[-1].idempotency_key.endswith(":2")
    assert again.checkout is not None and first.checkout is not None
    assert again.checkout.session_id != first.checkout.session_id
    assert again.checkout.expires_at > wall.now()


def test_a_paid_email_is_already_registered(service, repository) -> None:
    first = service.register(request(individual())).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"status": RegistrationStatus.PAID})
    with pytest.raises(AlreadyRegistered):
        service.register(request(individual()))


@pytest.mark.parametrize("released", [RegistrationStatus.EXPIRED, RegistrationStatus.CANCELLED])
def test_an_expired_or_cancelled_registration_frees_the_email(service, repository, released) -> None:
    # Given a registration that ended without payment but whose guard is still there
    first = service.register(request(individual())).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"status": released})

    # When
    again = service.register(request(individual()))

    # Then
    assert again.created
    assert again.registration.registration_id != first.registration_id


def test_a_group_naming_someone_registered_elsewhere_names_the_position_not_the_email(service, repository) -> None:
    # Given
    service.register(request(individual(email="c@example.org")))
    before = (dict(repository.registrations), dict(repository.guards))

    # When
    with pytest.raises(AlreadyRegistered, match="Attendee 3") as raised:
        service.register(request(group(["a@example.org", "b@example.org", "C@example.org"])))

    # Then the detail says who by position only, and nothing of the group is kept
    assert "c@example.org" not in raised.value.detail.lower()
    assert (repository.registrations, repository.guards) == before


def test_a_group_naming_people_of_two_registrations_names_the_first_of_them(service) -> None:
    service.register(request(individual(email="b@example.org")))
    service.register(request(individual(email="c@example.org")))
    with pytest.raises(AlreadyRegistered, match="Attendee 2"):
        service.register(request(group(["a@example.org", "b@example.org", "c@example.org"])))


def test_a_group_member_cannot_also_register_individually(service) -> None:
    # Given
    service.register(request(group(["a@example.org", "b@example.org"])))

    # When / Then an individual is told their email holds a seat
    with pytest.raises(AlreadyRegistered, match="This email already holds a seat"):
        service.register(request(individual(email="a@example.org")))


def test_the_same_person_again_in_another_case_gets_the_same_registration_and_checkout(service, payments) -> None:
    # Given
    first = service.register(request(individual())).registration

    # When the same person submits again, the address in another case
    again = service.register(request(individual(email="Ana.Lopez@EXAMPLE.org")))

    # Then the registration and its Checkout Session come back, and Stripe was asked once
    assert not again.created
    assert again.registration.registration_id == first.registration_id
    assert again.registration.checkout == first.checkout
    assert len(payments.requests) == 1


def test_the_purchaser_listing_the_same_people_in_another_order_gets_the_same_registration(service) -> None:
    first = service.register(request(group(["a@example.org", "b@example.org"]))).registration
    again = service.register(request(group(["b@example.org", "a@example.org"])))
    assert not again.created and again.registration.registration_id == first.registration_id


def test_a_subset_of_a_pending_group_is_a_conflict_not_a_resubmission(service) -> None:
    service.register(request(group(["a@example.org", "b@example.org"])))
    with pytest.raises(AlreadyRegistered, match="Attendee 1"):
        service.register(request(group(["a@example.org"])))


def test_a_different_purchaser_for_the_same_people_is_a_conflict(service) -> None:
    service.register(request(group(["a@example.org"])))
    with pytest.raises(AlreadyRegistered):
        service.register(request(group(["a@example.org"], purchaser_email="other@example.org")))


def test_a_group_registers_at_most_the_conference_s_limit_of_50(service, repository) -> None:
    # When / Then 51 is refused on the attendees, and nothing is stored
    with pytest.raises(InvalidRequest) as raised:
        service.register(request(group([f"p{n}@example.org" for n in range(51)])))
    assert [error.field for error in raised.value.errors] == ["attendees"]
    assert repository.registrations == {}
    # and 50 is a registration
    assert len(service.register(request(group([f"p{n}@example.org" for n in range(50)]))).registration.seats) == 50


def test_one_person_twice_in_a_group_is_invalid(service) -> None:
    with pytest.raises(InvalidRequest) as raised:
        service.register(request(group(["a@example.org", "A@EXAMPLE.ORG"])))
    assert [error.field for error in raised.value.errors] == ["attendees[1].email"]


def test_registration_is_closed_after_the_conference(service, conference_time) -> None:
    conference_time.moment = datetime(2020, 8, 8, 5, 0, tzinfo=UTC)  # midnight in Chicago
    with pytest.raises(RegistrationClosed):
        service.register(request(individual()))


def test_registration_is_open_in_the_last_minute_of_the_last_day(service, conference_time) -> None:
    conference_time.moment = datetime(2020, 8, 8, 4, 59, tzinfo=UTC)  # 23:59 in Chicago on 7 August
    assert service.register(request(individual())).created


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
            outcome = service.register(body)
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


def test_concurrent_groups_sharing_one_attendee_give_that_attendee_one_seat(service, repository) -> None:
    # Given ten purchasers, each naming the same shared attendee and one of their own
    bodies = [request(group(["shared@example.org", f"own{n}@example.org"], f"buyer{n}@example.org")) for n in range(10)]
    start = threading.Barrier(10)

    def register(body) -> str:
        start.wait()
        try:
            return "created" if service.register(body).created else "resubmission"
        except AlreadyRegistered:
            return "already registered"

    # When
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = Counter(pool.map(register, bodies))

    # Then one group holds the shared seat; every other group is refused and keeps nothing
    assert answers == Counter({"created": 1, "already registered": 9})
    (stored,) = repository.registrations.values()
    assert set(repository.guards) == {("nasro-2020", key) for key in stored.email_keys}


def test_an_email_freed_between_the_conflict_and_the_look_is_claimed_on_the_next_round(service, repository) -> None:
    # Given a registration still being created, holding the email
    first = service.register(request(individual())).registration
    being_created = first.model_copy(update={"checkout": None})
    repository.registrations[first.registration_id] = being_created

    # When another request's create loses to it, and its creator discards it (Stripe failed) before the look
    repository.race("holder_of", lambda: repository.discard(being_created))
    again = service.register(request(individual(first_name="Anna")))

    # Then the email is free, and the second request claims it
    assert again.created and again.registration.registration_id != first.registration_id
    assert repository.guards == {("nasro-2020", "ana.lopez@example.org"): again.registration.registration_id}


def test_emails_that_keep_being_claimed_by_stale_registrations_end_in_a_retryable_refusal(
    service, repository, wall
) -> None:
    # Given, before each create, another expired registration claiming the email again (a churn that never settles)
    expired = service.register(request(individual())).registration.model_copy(
        update={"status": RegistrationStatus.EXPIRED}
    )
    repository.registrations[expired.registration_id] = expired

    def claim_again() -> None:
        repository.guards["nasro-2020", "ana.lopez@example.org"] = expired.registration_id

    for _ in range(CREATE_ROUNDS):
        repository.race("create", claim_again)

    # When / Then the service stops after its rounds instead of looping
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()))


def test_two_resubmissions_renewing_an_expired_checkout_make_one_new_attempt(
    service, repository, payments, wall
) -> None:
    # Given an expired Checkout Session, and a second resubmission renewing it between our read and our write
    first = service.register(request(individual())).registration
    wall.advance(timedelta(minutes=61))
    renewed: list[object] = []
    repository.race("start_checkout_attempt", lambda: renewed.append(service.register(request(individual()))))

    # When
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()))

    # Then the other one's attempt 2 stands, with its session; ours made none
    assert len(renewed) == 1
    stored = repository.registrations[first.registration_id]
    assert stored.checkout_attempt == 2 and stored.checkout is not None
    assert [r.attempt for r in payments.requests] == [1, 2]


def test_two_submissions_finishing_a_dead_creator_s_registration_answer_the_same_session(
    service, repository, payments, wall
) -> None:
    # Given a registration whose creator died before attaching its session, and two resubmissions finishing it
    first = service.register(request(individual())).registration
    repository.registrations[first.registration_id] = first.model_copy(update={"checkout": None})
    wall.advance(CHECKOUT_CREATION_LEASE + timedelta(seconds=1))
    repository.race("attach_checkout", lambda: service.register(request(individual())))

    # When ours loses the attach to the other
    again = service.register(request(individual()))

    # Then it answers with the session the other attached (Stripe's, for the same key)
    assert not again.created
    assert again.registration.checkout == first.checkout
    assert repository.registrations[first.registration_id].checkout == first.checkout


def test_a_registration_that_stops_awaiting_payment_while_its_new_session_is_made_gets_none(
    service, repository, wall
) -> None:
    # Given an expired session being renewed, and the registration expiring before the new one is attached
    first = service.register(request(individual())).registration
    wall.advance(timedelta(minutes=61))

    def expire() -> None:
        current = repository.registrations[first.registration_id]
        repository.registrations[first.registration_id] = current.model_copy(
            update={"status": RegistrationStatus.EXPIRED}
        )

    repository.race("attach_checkout", expire)

    # When / Then
    with pytest.raises(RegistrationInProgress):
        service.register(request(individual()))
    assert repository.registrations[first.registration_id].checkout is None
