"""Duplicates, retries and failures against moto and the Stripe stand-in: the seat guard's transaction under
containers racing, the idempotency table, and the undo after Stripe fails. The service's answers to
concurrent and repeated submissions are tests/unit/test_registration_service.py."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, individual
from infra.stripe_standin import StripeStandIn
from tests.support.tables import scan_all


def registrations_stored(aws, stack) -> list[dict]:
    return [i for i in scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) if i["sk"] == "META"]


def checkout_creations(standin: StripeStandIn) -> list[str | None]:
    return [key for method, path, key in standin.requests_log if method == "POST" and path == "/v1/checkout/sessions"]


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
            outcome = service.register(request, client="203.0.113.20")
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
    start = len(checkout_creations(stripe_standin))
    stripe_standin.fail_next("POST", "/v1/checkout/sessions", status=500, times=3)

    # When
    failed = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))

    # Then: a retryable problem, and no registration or email guard kept (the undo transaction)
    assert failed.status == 503
    assert failed.json()["code"] == "payment_provider_unavailable"
    assert failed.headers["retry-after"]
    assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) == []
    # and each of the SDK's retries carried the same deterministic key, so Stripe could never make two sessions
    tries = checkout_creations(stripe_standin)[start:]
    assert len(tries) == 3 and len(set(tries)) == 1
    assert tries[0] is not None and tries[0].startswith("checkout-create:reg_") and tries[0].endswith(":1")
    # and the registrant can submit again
    again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual()))
    assert again.status == 201
