"""Stripe's HTTP protocol through the official SDK: sessions, expansion, auth, errors, idempotency, faults."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
import stripe

from infra.stripe_standin import StripeStandIn, StripeStandInServer
from tests.integration.stripe_standin.conftest import (
    API_KEY,
    WebhookReceiver,
    as_dict,
    error_type,
    headers_of,
    session_params,
)

CreateSession = Callable[..., stripe.checkout.Session]


def test_create_session_returns_a_complete_open_session(
    create_session: CreateSession, server: StripeStandInServer
) -> None:
    # When the backend creates a session with nested line items, metadata and payment_intent_data
    session = create_session()

    # Then it is an open, unpaid Stripe Checkout Session with the computed totals and a hosted URL
    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (60000, 60000, "usd")
    assert session.url == f"{server.url}/checkout/{session.id}"
    assert as_dict(session)["metadata"] == {"registration_id": "reg_123", "kind": "initial", "attempt": "1"}
    assert session.client_reference_id == "reg_123"
    assert session.customer_email == "ada@example.com"
    assert session.customer_details is None
    assert session.payment_intent is None
    assert session.livemode is False
    assert session.payment_method_types == ["card"]
    assert session.expires_at > time.time() + 3500
    # line_items is includable, and payment_intent_data is never echoed, as with Stripe
    assert "line_items" not in session
    assert "payment_intent_data" not in session


def test_default_expiry_is_24_hours(create_session: CreateSession) -> None:
    # When a session is created without expires_at (the SDK drops None values)
    session = create_session(expires_at=None)

    # Then it expires a day after creation, Stripe's default

    assert session.expires_at - session.created == 24 * 60 * 60


def test_retrieve_expands_line_items(client: stripe.StripeClient, create_session: CreateSession) -> None:
    # Given a session
    created = create_session()

    # When it is retrieved with expand[]=line_items
    session = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["line_items"]})

    # Then the line items are a Stripe list of items with an inline price
    line_items = as_dict(session)["line_items"]
    assert (line_items["object"], line_items["has_more"]) == ("list", False)
    assert line_items["url"] == f"/v1/checkout/sessions/{created.id}/line_items"
    [item] = line_items["data"]
    assert item["object"] == "item"
    assert item["id"].startswith("li_")
    assert (item["quantity"], item["amount_subtotal"], item["amount_total"]) == (3, 60000, 60000)
    assert (item["currency"], item["description"]) == ("usd", "Conférence ticket")
    price = item["price"]
    assert (price["object"], price["unit_amount"], price["currency"], price["type"]) == (
        "price",
        20000,
        "usd",
        "one_time",
    )
    assert price["product"].startswith("prod_")


def test_line_items_endpoint_paginates(client: stripe.StripeClient, create_session: CreateSession) -> None:
    # Given a session with two line items
    two_items = [
        {"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 100, "product_data": {"name": "A"}}},
        {"quantity": 2, "price_data": {"currency": "eur", "unit_amount": 250, "product_data": {"name": "B"}}},
    ]
    session = create_session(line_items=two_items)

    # When its line items are listed one at a time
    first = client.v1.checkout.sessions.line_items.list(session.id, params={"limit": 1})
    second = client.v1.checkout.sessions.line_items.list(
        session.id, params={"limit": 1, "starting_after": first.data[0].id}
    )

    # Then the pages follow each other
    assert session.amount_total == 600
    assert [(i.description, first.has_more) for i in first.data] == [("A", True)]
    assert [(i.description, second.has_more) for i in second.data] == [("B", False)]


def test_list_sessions_by_payment_intent(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given two sessions, one of them paid
    create_session()
    paid = create_session()
    standin.pay(paid.id)
    intent_id = as_dict(client.v1.checkout.sessions.retrieve(paid.id))["payment_intent"]

    # When sessions are listed by payment intent
    found = client.v1.checkout.sessions.list(params={"payment_intent": intent_id})

    # Then only the paid one matches
    assert [s.id for s in found.data] == [paid.id]


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"mode": None}, "mode"),
        ({"line_items": None}, "line_items"),
        ({"line_items": []}, "line_items"),
        (
            {
                "line_items": [
                    {"quantity": 0, "price_data": {"currency": "usd", "unit_amount": 1, "product_data": {"name": "x"}}}
                ]
            },
            "line_items[0][quantity]",
        ),
        (
            {
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": -1, "product_data": {"name": "x"}}}
                ]
            },
            "line_items[0][price_data][unit_amount]",
        ),
        (
            {
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": "usdx", "unit_amount": 1, "product_data": {"name": "x"}}}
                ]
            },
            "line_items[0][price_data][currency]",
        ),
        (
            {
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": "zzz", "unit_amount": 1, "product_data": {"name": "x"}}}
                ]
            },
            "line_items[0][price_data][currency]",
        ),
        (
            {
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {"currency": "usd", "unit_amount": 1, "product_data": {"description": "no name"}},
                    }
                ]
            },
            "line_items[0][price_data][product_data][name]",
        ),
        ({"line_items": [{"quantity": 1, "price": "price_123"}]}, "line_items[0][price]"),
        ({"expires_at": int(time.time()) + 60}, "expires_at"),
        ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at"),
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"success_url": "conf.example/ok"}, "success_url"),
        ({"mode": "subscription"}, "mode"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]"),
        ({"payment_intent_data": {"capture_method": "manual"}}, "payment_intent_data[capture_method]"),
        ({"colour": "blue"}, "colour"),
        ({"automatic_tax": {"enabled": True}}, "automatic_tax"),
    ],
)
def test_invalid_params_are_a_400_naming_the_param(
    client: stripe.StripeClient, overrides: dict[str, object], param: str
) -> None:
    # When a session is created with a bad or missing parameter
    params = {k: v for k, v in session_params(**overrides).items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]

    # Then Stripe's invalid_request_error names the parameter
    assert caught.value.http_status == 400
    assert caught.value.param == param
    assert error_type(caught.value) == "invalid_request_error"


def test_missing_params_carry_stripes_message_and_code(client: stripe.StripeClient) -> None:
    params = session_params()
    del params["mode"]

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]

    assert caught.value.user_message == "Missing required param: mode."
    assert caught.value.code == "parameter_missing"


def test_unknown_ids_are_404_resource_missing(client: stripe.StripeClient) -> None:
    for retrieve, object_id in [
        (client.v1.checkout.sessions.retrieve, "cs_test_nope"),
        (client.v1.payment_intents.retrieve, "pi_nope"),
        (client.v1.charges.retrieve, "ch_nope"),
        (client.v1.refunds.retrieve, "re_nope"),
        (client.v1.events.retrieve, "evt_nope"),
    ]:
        with pytest.raises(stripe.InvalidRequestError) as caught:
            retrieve(object_id)
        assert (caught.value.http_status, caught.value.code, caught.value.param) == (404, "resource_missing", "id")
        assert object_id in str(caught.value.user_message)


def test_an_id_of_another_kind_is_not_found(client: stripe.StripeClient, create_session: CreateSession) -> None:
    session = create_session()

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.retrieve(session.id)

    assert caught.value.http_status == 404


def test_wrong_api_key_is_an_authentication_error_that_hides_the_key(server: StripeStandInServer) -> None:
    # Given a client with the wrong key
    wrong = stripe.StripeClient(
        "sk_test_wrongwrongwrong1234", base_addresses={"api": server.url}, max_network_retries=0
    )

    # When it calls the API
    with pytest.raises(stripe.AuthenticationError) as caught:
        wrong.v1.checkout.sessions.list()

    # Then it is a 401 that names the key only by its last four characters
    assert caught.value.http_status == 401
    assert "sk_test_" in str(caught.value.user_message)
    assert "1234" in str(caught.value.user_message)
    assert "wrongwrongwrong" not in str(caught.value.user_message)


def test_missing_key_is_401_and_basic_auth_is_accepted(server: StripeStandInServer) -> None:
    missing = requests.get(f"{server.url}/v1/events", timeout=5)
    basic = requests.get(f"{server.url}/v1/events", auth=(API_KEY, ""), timeout=5)

    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in missing.json()["error"]["message"]
    assert basic.status_code == 200
    assert basic.json()["object"] == "list"


def test_responses_carry_request_id_and_stripe_version(
    client: stripe.StripeClient, server: StripeStandInServer
) -> None:
    # When the SDK makes a request
    session = client.v1.checkout.sessions.create(params=session_params())  # type: ignore[arg-type]
    headers = headers_of(session)

    # Then the response names a request id and echoes the SDK's pinned API version
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == stripe.api_version
    # And other routes carry a request id too
    assert requests.get(f"{server.url}/checkout/{session.id}", timeout=5).headers["Request-Id"].startswith("req_")


def test_idempotent_replay_returns_the_same_session(client: stripe.StripeClient, standin: StripeStandIn) -> None:
    # Given a session created with an idempotency key
    params = session_params()
    first = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "reg_123-attempt-1"})  # type: ignore[arg-type]

    # When the same request is sent again with the same key
    again = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "reg_123-attempt-1"})  # type: ignore[arg-type]

    # Then the stored response is replayed: same session, marked as a replay, and no second session exists
    assert again.id == first.id
    assert headers_of(again)["Idempotent-Replayed"] == "true"
    assert headers_of(again)["Original-Request"] == headers_of(first)["Request-Id"]
    assert len(client.v1.checkout.sessions.list().data) == 1
    assert standin.requests_log[:2] == [
        ("POST", "/v1/checkout/sessions", "reg_123-attempt-1"),
        ("POST", "/v1/checkout/sessions", "reg_123-attempt-1"),
    ]


def test_reusing_a_key_with_different_params_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    # Given a key already used for one request
    client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k-1"})  # type: ignore[arg-type]

    # When it is reused with a different body
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="reg_999"),  # type: ignore[arg-type]
            options={"idempotency_key": "k-1"},
        )

    # Then Stripe's idempotency_error is raised
    assert caught.value.http_status == 400
    assert error_type(caught.value) == "idempotency_error"


def test_rejected_params_are_not_stored_under_the_key(client: stripe.StripeClient) -> None:
    # Given a request refused for a bad parameter
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=session_params(mode="nope"), options={"idempotency_key": "k-2"})  # type: ignore[arg-type]

    # When the corrected request reuses the key, it runs (Stripe saves results only once the endpoint ran)
    session = client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k-2"})  # type: ignore[arg-type]

    assert session.status == "open"


def test_fail_next_injects_an_api_error_once(client: stripe.StripeClient, standin: StripeStandIn) -> None:
    # Given a fault injected for the next session creation
    standin.fail_next("POST", "/v1/checkout/sessions", status=500)

    # When the backend creates a session, it gets Stripe's api_error; the next attempt succeeds
    with pytest.raises(stripe.APIError) as caught:
        client.v1.checkout.sessions.create(params=session_params())  # type: ignore[arg-type]
    session = client.v1.checkout.sessions.create(params=session_params())  # type: ignore[arg-type]

    assert caught.value.http_status == 500
    assert error_type(caught.value) == "api_error"
    assert session.status == "open"


def test_fail_next_with_sdk_retries_recovers_under_the_same_key(
    server: StripeStandInServer, standin: StripeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client that retries (without the SDK's half-second backoff), and one injected 503
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    retrying = stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=1)
    standin.fail_next("POST", "/v1/checkout/sessions", status=503)

    # When a session is created
    session = retrying.v1.checkout.sessions.create(params=session_params())  # type: ignore[arg-type]

    # Then the SDK's retry (same idempotency key) succeeds
    assert session.status == "open"
    first, second = standin.requests_log
    assert first[2] == second[2] is not None


def test_delay_next_times_out_and_the_retry_replays(server: StripeStandInServer, standin: StripeStandIn) -> None:
    # Given a client with a short timeout and a slow stand-in
    impatient = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": server.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.2),
    )
    standin.delay_next("POST", "/v1/checkout/sessions", seconds=0.6)

    # When the create times out on the client but took effect on the server, and is retried as sent
    params = session_params()
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.checkout.sessions.create(params=params, options={"idempotency_key": "slow-1"})  # type: ignore[arg-type]
    retried = impatient.v1.checkout.sessions.create(params=params, options={"idempotency_key": "slow-1"})  # type: ignore[arg-type]

    # Then the retry with the same key replays the original session rather than creating another
    assert headers_of(retried)["Idempotent-Replayed"] == "true"
    assert [s.id for s in impatient.v1.checkout.sessions.list().data] == [retried.id]


def test_expire_closes_the_session_and_emits_the_event(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn, receiver: WebhookReceiver
) -> None:
    # Given an open session
    session = create_session()

    # When it is expired through the API
    expired = client.v1.checkout.sessions.expire(session.id)

    # Then it is expired with no URL, and checkout.session.expired is delivered in the background
    assert (expired.status, expired.url) == ("expired", None)
    assert standin.wait_idle(5)
    assert receiver.types == ["checkout.session.expired"]
    event = receiver.received[0].event
    assert event is not None
    assert as_dict(event)["data"]["object"]["id"] == session.id
    # And the event names the API request that caused it, with the idempotency key the SDK sent
    [(_, _, sent_key)] = [entry for entry in standin.requests_log if entry[1].endswith("/expire")]
    assert as_dict(event)["request"] == {"id": headers_of(expired)["Request-Id"], "idempotency_key": sent_key}

    # And expiring it again is refused as Stripe refuses it
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.expire(session.id)
    assert 'Only Checkout Sessions with a status in ["open"] can be expired' in str(caught.value.user_message)


def test_unknown_routes_and_methods(server: StripeStandInServer) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}

    unknown = requests.get(f"{server.url}/v1/products", headers=headers, timeout=5)
    wrong_method = requests.delete(f"{server.url}/v1/checkout/sessions", headers=headers, timeout=5)

    assert unknown.status_code == 404
    assert "Unrecognized request URL" in unknown.json()["error"]["message"]
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "invalid_request_error"


def test_unexpandable_properties_are_refused_before_anything_changes(
    client: stripe.StripeClient, create_session: CreateSession
) -> None:
    # Given a session
    session = create_session()

    # When a retrieval, and a creation, ask to expand what cannot be expanded
    with pytest.raises(stripe.InvalidRequestError) as on_retrieve:
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer_email"]})
    with pytest.raises(stripe.InvalidRequestError) as on_create:
        client.v1.checkout.sessions.create(params=session_params(expand=["payment_intent.customer"]))  # type: ignore[arg-type]

    # Then both are refused, and the refused creation created nothing
    assert (on_retrieve.value.param, on_create.value.param) == ("expand", "expand")
    assert "(customer)" in str(on_create.value.user_message)
    assert [s.id for s in client.v1.checkout.sessions.list().data] == [session.id]


def test_nested_expansion_follows_ids(
    client: stripe.StripeClient, create_session: CreateSession, standin: StripeStandIn
) -> None:
    # Given a paid session
    session = create_session()
    standin.pay(session.id)

    # When it is retrieved expanding its payment intent's latest charge, and sessions are listed expanding each one's
    expanded = as_dict(
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    )
    listed = as_dict(client.v1.checkout.sessions.list(params={"expand": ["data.payment_intent"]}))

    # Then the ids are replaced by the objects
    charge = expanded["payment_intent"]["latest_charge"]
    assert (charge["object"], charge["paid"], charge["payment_intent"]) == (
        "charge",
        True,
        expanded["payment_intent"]["id"],
    )
    assert listed["data"][0]["payment_intent"]["object"] == "payment_intent"
