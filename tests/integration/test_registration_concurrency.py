"""Duplicates, retries and failures: one seat per person whatever arrives at once, and a failed Stripe
call leaves nothing behind."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, group, individual
from infra.stripe_standin import StripeStandIn
from tests.support.tables import scan_all


def registrations_stored(aws, stack) -> list[dict]:
    return [i for i in scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) if i["sk"] == "META"]


def checkout_creations(standin: StripeStandIn) -> list[str | None]:
    return [key for method, path, key in standin.requests_log if method == "POST" and path == "/v1/checkout/sessions"]


def test_twenty_concurrent_submissions_for_one_email_make_exactly_one_seat(
    api: LocalHttpApi, aws, stack, stripe_standin: StripeStandIn
) -> None:
    # Given
    body = encoded(individual(email="rush@example.org"))
    sessions_before = len(set(checkout_creations(stripe_standin)))

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: api.request("POST", "/registrations", headers=JSON, body=body), range(20)))

    # Then: one registration; every answer is it, or "in progress" while it was being created
    stored = registrations_stored(aws, stack)
    assert len(stored) == 1
    (registration_id,) = [r["registration_id"] for r in stored]
    statuses = Counter(response.status for response in responses)
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {200, 201, 409}
    for response in responses:
        if response.status in (200, 201):
            assert response.json()["registration_id"] == registration_id
        else:
            assert response.json()["code"] == "registration_in_progress"
    assert len(set(checkout_creations(stripe_standin))) == sessions_before + 1


def test_twenty_containers_registering_one_email_at_the_same_moment_make_exactly_one_seat(
    api: LocalHttpApi, aws, stack, stripe_standin: StripeStandIn
) -> None:
    # The local gateway runs one HTTP invocation at a time (Powertools keeps the request on a class
    # attribute every resolver shares), but Lambda runs containers side by side. So twenty threads call the
    # service the handler calls, with its real adapters, all at once: the seat guard must hold on its own.
    import functions.registration_api.handler as handler
    from shared.errors import AlreadyRegistered, RegistrationInProgress
    from shared.registration.models import registration_request_adapter

    request = registration_request_adapter.validate_json(encoded(individual(email="race@example.org")))
    service = handler.registrations()
    start = threading.Barrier(20)

    def register(_: int) -> str:
        start.wait()
        try:
            outcome = service.register(request)
        except (RegistrationInProgress, AlreadyRegistered) as refused:
            return type(refused).__name__
        return "created" if outcome.created else outcome.registration.registration_id

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = Counter(pool.map(register, range(20)))

    # Then one registration was created, and every other answer is it or "in progress"
    (stored,) = registrations_stored(aws, stack)
    assert answers["created"] == 1, answers
    assert set(answers) <= {"created", stored["registration_id"], "RegistrationInProgress"}, answers


def test_concurrent_groups_sharing_one_attendee_give_that_attendee_one_seat(api: LocalHttpApi, aws, stack) -> None:
    # Given: ten purchasers each naming the same shared attendee plus one of their own
    bodies = [encoded(group(["shared@example.org", f"own{n}@example.org"], f"buyer{n}@example.org")) for n in range(10)]

    # When
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda b: api.request("POST", "/registrations", headers=JSON, body=b), bodies))

    # Then
    assert sum(response.status == 201 for response in responses) == 1
    assert all(r.json()["code"] == "already_registered" for r in responses if r.status == 409)
    assert len(registrations_stored(aws, stack)) == 1


def test_an_idempotency_key_replays_the_first_answer(api: LocalHttpApi, stripe_standin: StripeStandIn) -> None:
    # Given
    headers = JSON | {"Idempotency-Key": "form-submit-7f3a"}
    first = api.request("POST", "/registrations", headers=headers, body=encoded(individual()))
    creations = len(checkout_creations(stripe_standin))

    # When: the browser retries the very same request
    again = api.request("POST", "/registrations", headers=headers, body=encoded(individual()))

    # Then: the same answer, status included, without a second call to Stripe
    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert len(checkout_creations(stripe_standin)) == creations


def test_an_idempotency_key_reused_for_another_body_is_refused(api: LocalHttpApi) -> None:
    headers = JSON | {"Idempotency-Key": "form-submit-7f3b"}
    api.request("POST", "/registrations", headers=headers, body=encoded(individual()))
    response = api.request("POST", "/registrations", headers=headers, body=encoded(individual(email="b@example.org")))
    assert response.status == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_stripe_failing_leaves_nothing_that_blocks_the_email(
    api: LocalHttpApi, aws, stack, stripe_standin: StripeStandIn
) -> None:
    # Given Stripe answers 500 to the first try and both SDK retries
    stripe_standin.fail_next("POST", "/v1/checkout/sessions", status=500, times=3)

    # When
    failed = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))

    # Then: a retryable problem, and no registration or email guard kept
    assert failed.status == 503
    assert failed.json()["code"] == "payment_provider_unavailable"
    assert failed.headers["retry-after"]
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []
    # and the registrant can submit again and pay
    again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
    assert again.status == 201


def test_the_sdk_retry_after_a_stripe_500_reuses_the_idempotency_key(
    api: LocalHttpApi, stripe_standin: StripeStandIn
) -> None:
    # Given Stripe fails once
    stripe_standin.fail_next("POST", "/v1/checkout/sessions", status=500, times=1)
    start = len(checkout_creations(stripe_standin))

    # When
    response = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))

    # Then: the retry carried the same deterministic key
    assert response.status == 201
    keys = checkout_creations(stripe_standin)[start:]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert keys[0] == f"checkout-create:{response.json()['registration_id']}:1"
