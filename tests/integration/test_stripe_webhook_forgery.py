"""The webhook trusts nothing before the signature verifies (reliability.md T-01..T-14)."""

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


BAD_HEADERS = {
    "no t": "v1=abc",
    "garbage": "bad_header",
    "t not a number": "t=abc,v1=0123",
    "two timestamps": "t=1,t=2,v1=00",
    "empty": "",
}


@pytest.mark.parametrize("header", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_a_malformed_signature_header_is_400_and_changes_nothing(api, snapshot, header) -> None:
    before = snapshot()
    response = deliver(api, event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session"}), header)
    assert response.status == 400
    assert response.json()["code"] == "invalid_signature"
    assert snapshot() == before


def test_a_missing_signature_is_400_with_a_metric(api, snapshot, capfd) -> None:
    before = snapshot()
    response = deliver(api, event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session"}))
    assert response.status == 400
    assert snapshot() == before
    assert '"WebhookSignatureInvalid"' in capfd.readouterr().out


@pytest.mark.parametrize("scheme", ["v0", "v2"])
def test_a_signature_in_another_scheme_is_refused(api, scheme) -> None:
    payload = event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session"})
    assert deliver(api, payload, signature(payload, scheme=scheme)).status == 400


def test_a_signature_made_with_another_secret_is_refused(api) -> None:
    payload = event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session"})
    assert deliver(api, payload, signature(payload, secret="whsec_attacker")).status == 400


def test_a_body_changed_by_one_byte_is_refused(api, stripe_standin) -> None:
    created, payload = completed_event_for(api, stripe_standin)
    header = signature(payload)
    reserialised = json.dumps(json.loads(payload)).encode()  # same JSON, other whitespace
    assert deliver(api, payload + b" ", header).status == 400
    assert deliver(api, reserialised, header).status == 400
    assert status_of(api, created["registration_id"]) == "pending_payment"


@pytest.mark.parametrize(("age", "status"), [(301, 400), (299, 200), (-299, 200), (-301, 400), (-3600, 400)])
def test_the_timestamp_must_be_within_300_seconds_either_way(api, stripe_standin, age, status) -> None:
    created, payload = completed_event_for(api, stripe_standin)
    response = deliver(api, payload, signature(payload, timestamp=int(time.time()) - age))
    assert response.status == status
    expected = "paid" if status == 200 else "pending_payment"
    assert status_of(api, created["registration_id"]) == expected


def test_one_good_signature_among_several_is_enough(api, stripe_standin) -> None:
    created, payload = completed_event_for(api, stripe_standin)
    good = signature(payload)
    bad = signature(payload, secret="whsec_old").split(",")[1]
    assert deliver(api, payload, f"{good},{bad}").status == 200
    assert status_of(api, created["registration_id"]) == "paid"


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


def test_a_thin_event_is_refused(api) -> None:
    payload = json.dumps(
        {"id": "evt_1", "object": "v2.core.event", "type": "v1.billing.meter.error_report_triggered"}
    ).encode()
    assert deliver(api, payload, signature(payload)).status == 400


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


def test_an_unhandled_event_type_is_acknowledged_without_writes(api, snapshot) -> None:
    before = snapshot()
    payload = event("customer.created", {"id": "cus_1", "object": "customer"})
    assert deliver(api, payload, signature(payload)).status == 200
    assert snapshot() == before


def test_a_replayed_delivery_acts_once(api, stripe_standin, aws, stack) -> None:
    # Given
    _created, payload = completed_event_for(api, stripe_standin)
    header = signature(payload)

    # When the captured delivery is replayed within the window
    assert deliver(api, payload, header).status == 200
    assert deliver(api, payload, header).status == 200

    # Then one transition
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
