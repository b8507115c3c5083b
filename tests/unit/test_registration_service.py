"""The registration rules, with in-memory fakes for the table and Stripe."""

from __future__ import annotations

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
from shared.registration.service import CHECKOUT_CREATION_LEASE, RegistrationService
from shared.registration.status import RegistrationStatus
from tests.support.fakes import FakePayments, InMemoryRegistrations

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
        conference=load_conference(),
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


def test_a_group_naming_someone_registered_elsewhere_names_the_position(service) -> None:
    service.register(request(individual(email="c@example.org")))
    with pytest.raises(AlreadyRegistered, match="Attendee 3"):
        service.register(request(group(["a@example.org", "b@example.org", "C@example.org"])))


def test_a_different_purchaser_for_the_same_people_is_a_conflict(service) -> None:
    service.register(request(group(["a@example.org"])))
    with pytest.raises(AlreadyRegistered):
        service.register(request(group(["a@example.org"], purchaser_email="other@example.org")))


def test_one_person_twice_in_a_group_is_invalid(service) -> None:
    with pytest.raises(InvalidRequest) as raised:
        service.register(request(group(["a@example.org", "A@EXAMPLE.ORG"])))
    assert [error.field for error in raised.value.errors] == ["attendees[1].email"]


def test_registration_is_closed_after_the_conference(service, conference_time) -> None:
    conference_time.moment = datetime(2020, 8, 8, 5, 0, tzinfo=UTC)  # midnight in Chicago
    with pytest.raises(RegistrationClosed):
        service.register(request(individual()))


def test_unknown_and_malformed_ids_are_not_found(service) -> None:
    for registration_id in ("reg_" + "a" * 24, "../etc", ""):
        with pytest.raises(NotFound):
            service.get(registration_id)
