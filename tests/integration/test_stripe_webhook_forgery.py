"""The webhook handler trusts nothing before the signature verifies (reliability.md T-01..T-14): its HTTP
answers, the bytes it verifies (raw, base64), its clock, its secrets, and what it writes for an event.

Every way a signature or a body can fail to verify is pinned on verify_webhook alone, in
tests/unit/test_webhook_signature.py; what the service does with a verified event, in
tests/unit/test_payment_service.py."""

from __future__ import annotations

import base64
import json
import time

import pytest

from infra.apigw import LocalHttpApi
from infra.samples import JSON, encoded, individual
from infra.stripe_standin import StripeStandIn
from tests.support.stripe_events import deliver, event, signature
from tests.support.tables import scan_all


@pytest.fixture
def snapshot(aws, stack):
    return lambda: scan_all(aws.client("dynamodb"), stack.resources["MainTable"])


def registered(api: LocalHttpApi) -> dict:
    return api.request("POST", "/registrations", headers=JSON, body=encoded(individual())).json()


def completed_event_for(api: LocalHttpApi, stripe_standin: StripeStandIn) -> tuple[dict, bytes]:
    """A registration whose session was paid at Stripe, and the completed event, not yet delivered."""
    created = registered(api)
    session_id = created["checkout_url"].rsplit("/", 1)[-1]
    url, stripe_standin.webhook_url = stripe_standin.webhook_url, None
    try:
        (delivery,) = stripe_standin.pay(session_id)
    finally:
        stripe_standin.webhook_url = url
    return created, json.dumps(delivery.event, indent=2).encode()  # pretty-printed, as Stripe sends it


def status_of(api: LocalHttpApi, registration_id: str) -> str:
    return str(api.request("GET", f"/registrations/{registration_id}").json()["status"])


def test_a_missing_signature_is_400_with_a_metric(api, snapshot, capfd) -> None:
    before = snapshot()
    response = deliver(api, event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session"}))
    assert response.status == 400 and response.json()["code"] == "invalid_signature"
    assert snapshot() == before
    assert '"WebhookSignatureInvalid"' in capfd.readouterr().out


def test_a_body_changed_by_one_byte_is_refused(api, stripe_standin) -> None:
    created, payload = completed_event_for(api, stripe_standin)
    header = signature(payload)
    reserialised = json.dumps(json.loads(payload)).encode()  # same JSON, other whitespace
    assert deliver(api, payload + b" ", header).status == 400
    assert deliver(api, reserialised, header).status == 400
    assert status_of(api, created["registration_id"]) == "pending_payment"


def test_a_signature_from_the_future_is_refused_by_the_handler_s_own_clock(api, stripe_standin) -> None:
    # Given a delivery signed 301 seconds ahead (stripe-python checks only the past; the handler passes now)
    created, payload = completed_event_for(api, stripe_standin)

    # When / Then
    assert deliver(api, payload, signature(payload, timestamp=int(time.time()) + 301)).status == 400
    assert status_of(api, created["registration_id"]) == "pending_payment"


def test_a_base64_encoded_body_verifies(api, stripe_standin) -> None:
    # Given API Gateway passing the body base64-encoded (a binary media type)
    created, payload = completed_event_for(api, stripe_standin)
    header = signature(payload)

    # When the bytes are flagged base64, they verify; the same text unflagged does not
    as_binary = api.request(
        "POST",
        "/webhooks/stripe",
        headers={"content-type": "application/octet-stream", "stripe-signature": header},
        body=payload,
    )
    assert as_binary.status == 200
    wrongly_flagged = deliver(api, base64.b64encode(payload), header)
    assert wrongly_flagged.status == 400
    assert status_of(api, created["registration_id"]) == "paid"


def test_a_body_that_is_not_utf8_is_400_not_500(api) -> None:
    payload = b'{"id": "evt_\xff"}'
    assert deliver(api, payload, signature(payload)).status == 400


def test_a_signed_event_for_an_unknown_registration_is_acknowledged_and_ignored(api, snapshot) -> None:
    # Given a real session at Stripe that names no registration of ours
    payload = event("checkout.session.completed", {"id": "cs_test_unknown", "object": "checkout.session"})

    # When
    response = deliver(api, payload, signature(payload))

    # Then: 200 so Stripe stops, nothing fulfilled
    assert response.status == 200
    rows = [row for row in snapshot() if row["sk"] != "EVENT"]
    assert rows == []


def test_a_livemode_event_in_test_mode_is_not_fulfilled(api, stripe_standin, caplog) -> None:
    created, payload = completed_event_for(api, stripe_standin)
    live = json.loads(payload) | {"livemode": True}
    body = json.dumps(live).encode()
    response = deliver(api, body, signature(body))
    assert response.status == 200
    assert status_of(api, created["registration_id"]) == "pending_payment"
    assert [getattr(record, "finding", None) for record in caplog.records if record.levelname == "ERROR"] == [
        "livemode_mismatch"
    ]


def test_a_replayed_delivery_acts_once(api, stripe_standin, aws, stack, capfd) -> None:
    # Given
    _created, payload = completed_event_for(api, stripe_standin)
    header = signature(payload)

    # When the captured delivery is replayed within the window
    assert deliver(api, payload, header).status == 200
    capfd.readouterr()
    assert deliver(api, payload, header).status == 200

    # Then the replay is counted as a duplicate, and there is one transition
    assert '"WebhookDuplicate"' in capfd.readouterr().out
    (registration,) = [r for r in scan_all(aws.client("dynamodb"), stack.resources["MainTable"]) if r["sk"] == "META"]
    assert [(entry["action"], entry["from_status"], entry["to_status"]) for entry in registration["history"]] == [
        ("registration.status_changed", "pending_payment", "paid")
    ]


def test_rotation_accepts_either_configured_secret(api, stripe_standin, aws, stack) -> None:
    # Given two signing secrets configured while the endpoint's secret is rolled
    from aws_lambda_powertools.utilities import parameters

    from shared.adapters.secrets import secret_string

    name = stack.functions["StripeWebhookFunction"].environment["STRIPE_WEBHOOK_SECRET_NAME"]
    secrets = aws.client("secretsmanager")
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(["whsec_new_secret", "whsec_local_development"]))
    parameters.clear_caches()
    try:
        created, payload = completed_event_for(api, stripe_standin)
        # When signed with the new secret only
        response = deliver(api, payload, signature(payload, secret="whsec_new_secret"))
        # Then
        assert response.status == 200
        assert status_of(api, created["registration_id"]) == "paid"
        assert "whsec_new_secret" in secret_string(name)
    finally:
        secrets.put_secret_value(SecretId=name, SecretString="whsec_local_development")
        parameters.clear_caches()
