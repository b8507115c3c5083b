"""No log line carries personal data or a secret: a whole flow with known names, emails, phones, addresses,
access codes (also one asked for by email) and session tokens, every log line the functions write captured (the Powertools logger's JSON,
every other logger at the level Lambda runs them, and anything printed), none containing any of those values."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.clock import conference_clock
from shared.conference import load_conference
from shared.observability import logger
from tests.integration.conftest import ADMIN, drain

PERSON = {
    "first_name": "Zebulon",
    "last_name": "Quixote-Marchetti",
    "email": "zebulon.qm@privacy-example.org",
    "organization": "Ogdenville Sheriff's Office",
    "job_title": "Deputy Gorblax",
    "phone": "+1 555 0199 7731",
}
ADDRESS = {
    "line1": "742 Evergreen Terrace",
    "line2": "Apartment Flurbo",
    "city": "Ogdenville",
    "state": "IL",
    "postal_code": "62704-9981",
    "country": "US",
}
COLLEAGUES = [("Wilhelmina", "Okonkwo-Strand", "wilhelmina.os@privacy-example.org")]
PURCHASER = {"name": "Chief Barnaby Thistlewood", "email": "barnaby.t@privacy-example.org", "organization": "OSO"}


@pytest.fixture
def logged(capfd) -> Iterator[Callable[[], list[str]]]:
    """Every line logged while the test runs: Powertools' JSON lines, the standard loggers at INFO (what Lambda
    keeps), and whatever reaches fds 1 and 2. Call it to read what was captured so far."""
    buffer = io.StringIO()
    powertools = logging.StreamHandler(buffer)
    powertools.setFormatter(logger.registered_formatter)
    logger.addHandler(powertools)
    everything = logging.StreamHandler(buffer)
    everything.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(everything)
    root.setLevel(logging.INFO)

    def lines() -> list[str]:
        captured = capfd.readouterr()
        return buffer.getvalue().splitlines() + captured.out.splitlines() + captured.err.splitlines()

    try:
        yield lines
    finally:
        root.removeHandler(everything)
        root.setLevel(previous_level)
        logger._logger.removeHandler(powertools)


def test_a_whole_flow_logs_no_personal_data_codes_or_tokens(
    api: LocalHttpApi, stripe_standin: StripeStandIn, stream: StreamPoller, logged: Callable[[], list[str]]
) -> None:
    mailbox, before = LocalMailbox(), len(LocalMailbox().emails())
    admin = JSON | ADMIN
    # An individual and a group register and pay; one bad submission carries personal data too
    individual = {"kind": "individual", "attendee": PERSON, "shipping_address": ADDRESS}
    group = {
        "kind": "group",
        "purchaser": PURCHASER,
        "attendees": [
            {"first_name": f, "last_name": last, "email": e, "organization": "OSO"} for f, last, e in COLLEAGUES
        ],
    }
    created = [
        api.request("POST", "/registrations", headers=JSON, body=encoded(body)).json() for body in (individual, group)
    ]
    bad = individual | {"attendee": PERSON | {"first_name": "Zebulon\r\nBcc: x@example.org"}}
    assert api.request("POST", "/registrations", headers=JSON, body=encoded(bad)).status == 422
    for registration in created:
        stripe_standin.pay(registration["checkout_url"].rsplit("/", 1)[-1])
    drain(stripe_standin, stream)

    # Each attendee logs in with the code from their confirmation, and attends; a wrong code is refused
    sent = mailbox.emails()[before:]
    codes = {
        email.to[0]: re.findall(r"^Access code: (\S+)\r?$", email.raw.decode(), re.MULTILINE)[0]
        for email in sent
        if "confirmed" in email.subject
    }
    assert set(codes) == {PERSON["email"], COLLEAGUES[0][2]}
    wrong = {"email": PERSON["email"], "access_code": "ABCD-EFGH-JKLM-NPQR-STUV"}
    assert api.request("POST", "/logins", headers=JSON, body=encoded(wrong)).status == 401
    session = load_conference().sessions[0]
    conference_clock.travel_to(session.starts_at + timedelta(minutes=1))
    tokens = []
    for address, code in codes.items():
        login = {"email": address, "access_code": code}
        token = api.request("POST", "/logins", headers=JSON, body=encoded(login)).json()["session_token"]
        tokens.append(token)
        bearer = JSON | {"authorization": f"Bearer {token}"}
        assert (
            api.request(
                "POST", "/attendance/heartbeats", headers=bearer, body=encoded({"session_id": session.id})
            ).status
            == 204
        )
        assert api.request("GET", "/me/attendance", headers=bearer).status == 200
        assert api.request("GET", "/me", headers=bearer).status == 200
        assert api.request("GET", "/me/sessions", headers=bearer).status == 200
        assert api.request("GET", "/me/certificate", headers=bearer).status == 404
    stale = JSON | {"authorization": f"Bearer {tokens[0]}x"}
    assert api.request("GET", "/me/attendance", headers=stale).status == 401
    # The individual asks for a new code (and someone for an email with no seat, and a malformed one), then signs out
    for asked in (PERSON["email"], "nobody.flurbo@privacy-example.org", f"{PERSON['email']} x"):
        api.request("POST", "/access-codes", headers=JSON, body=encoded({"email": asked}))
    drain(stripe_standin, stream)
    (requested,) = [
        re.findall(r"^Access code: (\S+)\r?$", email.raw.decode(), re.MULTILINE)[0]
        for email in mailbox.emails()[before:]
        if "access code" in email.subject
    ]
    signed_in = JSON | {"authorization": f"Bearer {tokens[0]}"}
    assert api.request("DELETE", "/me/session", headers=signed_in).status == 204

    # The organiser looks people up, exports, refunds the group and erases the individual
    person = encoded({"email": PERSON["email"]})
    assert api.request("POST", "/admin/people/export", headers=admin | JSON, body=person).status == 200
    assert api.request("GET", "/admin/exports/registrations.csv", headers=admin).status == 200
    assert api.request("GET", "/admin/exports/shipments.csv", headers=admin).status == 200
    refund = f"/admin/registrations/{created[1]['registration_id']}/refund"
    assert api.request("POST", refund, headers=admin).status == 202
    drain(stripe_standin, stream)
    erase = encoded({"email": PERSON["email"]})
    assert api.request("POST", "/admin/people/erase", headers=admin, body=erase).status == 200

    # Then: lines were logged, and none of them holds any of the values
    values = [
        *(v for v in PERSON.values() if v != "IL"),
        *(v for k, v in ADDRESS.items() if k not in {"state", "country"}),
        PURCHASER["name"],
        PURCHASER["email"],
        *(part for colleague in COLLEAGUES for part in colleague),
        *codes.values(),
        requested,
        "nobody.flurbo@privacy-example.org",
        *tokens,
        ADMIN["authorization"].removeprefix("Bearer "),
    ]
    log_lines = logged()
    assert len(log_lines) > 20, "the functions logged (almost) nothing: the capture is not working"
    assert any('"registration changed"' in line or "registration changed" in line for line in log_lines)
    leaks = {value: [line[:200] for line in log_lines if value.lower() in line.lower()][:2] for value in values}
    assert {value: lines for value, lines in leaks.items() if lines} == {}
