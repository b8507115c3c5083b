"""verify_webhook alone: nothing of a Stripe webhook is trusted before its signature verifies (reliability.md
T-01..T-14). What the handler answers for it (400, the metric, no writes) is in
tests/integration/test_stripe_webhook_forgery.py."""

from __future__ import annotations

import json
import time

import pytest

from shared.adapters.stripe_gateway import verify_webhook
from shared.errors import InvalidSignature
from shared.payments.models import StripeEvent
from tests.support.stripe_events import SECRET, event, signature

PAYLOAD = event("checkout.session.completed", {"id": "cs_test_1", "object": "checkout.session"})


def verified(
    payload: bytes, header: str | None, secrets: list[str] | None = None, now: float | None = None
) -> StripeEvent:
    return verify_webhook(payload, header, [SECRET] if secrets is None else secrets, now=now or time.time())


def test_a_signed_event_gives_what_is_needed_to_re_read_its_object() -> None:
    found = verified(PAYLOAD, signature(PAYLOAD))
    body = json.loads(PAYLOAD)
    assert (found.id, found.type, found.object_type, found.object_id, found.livemode, found.created) == (
        body["id"],
        "checkout.session.completed",
        "checkout.session",
        "cs_test_1",
        False,
        body["created"],
    )


BAD_HEADERS = {
    "missing": None,
    "empty": "",
    "no t": "v1=abc",
    "garbage": "bad_header",
    "t not a number": "t=abc,v1=0123",
    "two timestamps": "t=1,t=2,v1=00",
}


@pytest.mark.parametrize("header", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_a_missing_or_malformed_signature_header_is_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verified(PAYLOAD, header)


def test_no_configured_secret_verifies_nothing() -> None:
    with pytest.raises(InvalidSignature):
        verified(PAYLOAD, signature(PAYLOAD), secrets=[])


@pytest.mark.parametrize("scheme", ["v0", "v2"])
def test_a_signature_in_another_scheme_is_refused(scheme: str) -> None:
    with pytest.raises(InvalidSignature):
        verified(PAYLOAD, signature(PAYLOAD, scheme=scheme))


def test_a_signature_made_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verified(PAYLOAD, signature(PAYLOAD, secret="whsec_attacker"))


@pytest.mark.parametrize(
    "altered", [PAYLOAD + b" ", json.dumps(json.loads(PAYLOAD)).encode()], ids=["a byte", "reserialised"]
)
def test_a_body_other_than_the_signed_bytes_is_refused(altered: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verified(altered, signature(PAYLOAD))


@pytest.mark.parametrize(("age", "accepted"), [(301, False), (299, True), (-299, True), (-301, False), (-3600, False)])
def test_the_timestamp_must_be_within_300_seconds_either_way(age: int, accepted: bool) -> None:
    now = time.time()
    header = signature(PAYLOAD, timestamp=int(now) - age)
    if accepted:
        verified(PAYLOAD, header, now=now)
    else:
        with pytest.raises(InvalidSignature):
            verified(PAYLOAD, header, now=now)


def test_one_good_signature_among_several_is_enough() -> None:
    bad = signature(PAYLOAD, secret="whsec_old").split(",")[1]
    verified(PAYLOAD, f"{signature(PAYLOAD)},{bad}")


def test_while_the_secret_is_rolled_either_one_verifies() -> None:
    for secret in ("whsec_new", SECRET):
        verified(PAYLOAD, signature(PAYLOAD, secret=secret), secrets=["whsec_new", SECRET])


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id": "evt_\xff"}',  # not the UTF-8 text Stripe signs
        json.dumps({"id": "evt_1", "object": "v2.core.event", "type": "v1.billing.meter.error_report_triggered"}).encode(),
        json.dumps({"id": "evt_1", "object": "event", "type": "x", "data": {}}).encode(),
        json.dumps({"id": 1, "object": "event", "type": "x", "livemode": False, "created": 1, "data": {"object": {"id": "o", "object": "o"}}}).encode(),
        json.dumps({"id": "evt_1", "object": "v2.core.event", "type": "x", "livemode": False, "created": 1, "data": {"object": {"id": "o", "object": "o"}}}).encode(),
        b"[]",
    ],
    ids=["not utf-8", "thin event", "no object", "id not a string", "not an event", "not an object"],
)  # fmt: skip
def test_a_signed_body_that_is_not_a_snapshot_event_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verified(payload, signature(payload))
