"""The attendance routes against moto, from a real confirmation's access code: each route's HTTP mapping once,
and one path per adapter method (the session put and the attendee's update returning the one it replaced, the
throttle's counters, the heartbeat's conditional set write, the signals). The rules themselves (wrong pairs,
the throttle by address, revoked seats, the session window, evidence) are tests/unit/test_attendance_service.py."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from shared.clock import conference_clock
from tests.integration.conftest import drain

KEYNOTE = "d1-implicit-bias"  # 11:30-12:45 CDT on 5 August 2020, 75 minutes
AT_KEYNOTE = datetime.fromisoformat("2020-08-05T11:40:00-05:00")


@pytest.fixture
def attendee(api: LocalHttpApi, stripe_standin, stream) -> dict:
    """A paid individual with the access code from their confirmation email."""
    email = "watcher@example.org"
    before = len(LocalMailbox().emails())
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=email))).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    drain(stripe_standin, stream)
    (confirmation,) = LocalMailbox().emails()[before:]
    (code,) = re.findall(rb"Access code: (\S+)\r\n", confirmation.raw)
    return {"email": email, "code": code.decode(), "registration_id": created["registration_id"]}


def log_in(api: LocalHttpApi, email: str, code: str, source_ip: str = "203.0.113.7"):
    return api.request(
        "POST", "/logins", headers=JSON, body=encoded({"email": email, "access_code": code}), source_ip=source_ip
    )


def beat(api: LocalHttpApi, token: str, session_id: str = KEYNOTE):
    return api.request(
        "POST",
        "/attendance/heartbeats",
        headers=JSON | {"authorization": f"Bearer {token}"},
        body=encoded({"session_id": session_id}),
    )


def mine(api: LocalHttpApi, token: str):
    return api.request("GET", "/me/attendance", headers={"authorization": f"Bearer {token}"})


class TestLogin:
    def test_the_code_from_the_confirmation_logs_in(self, api, attendee) -> None:
        response = log_in(api, attendee["email"].upper(), attendee["code"].lower())
        assert response.status == 200
        answer = response.json()
        assert answer["attendee_id"].startswith("att_") and len(answer["session_token"]) >= 40
        assert response.headers["cache-control"] == "no-store"

    def test_a_wrong_pair_is_a_401_invalid_credentials(self, api, attendee) -> None:
        response = log_in(api, attendee["email"], "AAAA-BBBB-CCCC-DDDD-EEEE")
        assert response.status == 401
        problem = response.json()
        assert problem["code"] == "invalid_credentials"
        assert problem["detail"] == "The email and access code do not match a paid seat."

    def test_failed_attempts_are_counted_in_the_table_and_then_a_429(self, api, attendee) -> None:
        # Given ten failures for the email, each from another address
        for n in range(10):
            assert log_in(api, attendee["email"], "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip=f"198.51.100.{n}").status == 401

        # When the right code comes from an address that never failed
        response = log_in(api, attendee["email"], attendee["code"], source_ip="192.0.2.1")

        # Then the counters were kept: 429, with the rest of the window to wait
        assert response.status == 429 and response.json()["code"] == "too_many_attempts"
        assert response.headers["retry-after"] == "900"


class TestHeartbeats:
    def test_minutes_are_credited_once_each_into_the_attendee_s_set_and_read_back(self, api, attendee) -> None:
        # Given a login on the first day, inside the keynote
        conference_clock.travel_to(AT_KEYNOTE)
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]

        # When heartbeats arrive: three in one minute, one the next minute
        assert [beat(api, token).status for _ in range(3)] == [204, 204, 204]
        conference_clock.travel_to(datetime.fromisoformat("2020-08-05T11:41:10-05:00"))
        assert beat(api, token).status == 204

        # Then two minutes, one day logged in, and the attendee's view of it
        response = mine(api, token)
        assert response.status == 200 and response.headers["cache-control"] == "no-store"
        attendance = response.json()
        assert attendance["attendee_id"].startswith("att_")
        assert attendance["days_logged_in"] == 1
        assert attendance["eligible"] is False
        assert len(attendance["sessions"]) == 13
        keynote = next(s for s in attendance["sessions"] if s["session_id"] == KEYNOTE)
        assert keynote == {"session_id": KEYNOTE, "minutes_attended": 2, "minutes_scheduled": 75}
        assert any("You attended 2 of 930 scheduled minutes" in reason for reason in attendance["reasons"])

    def test_an_unknown_session_is_a_422_and_a_missing_token_a_401(self, api, attendee) -> None:
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        unknown = beat(api, token, "no-such-session")
        assert unknown.status == 422 and unknown.json()["errors"][0]["field"] == "session_id"
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": token}):
            response = api.request(
                "POST", "/attendance/heartbeats", headers=JSON | headers, body=encoded({"session_id": KEYNOTE})
            )
            assert response.status == 401 and response.json()["code"] == "invalid_session"


class TestOneSessionPerPerson:
    def test_a_new_login_ends_the_previous_session_and_leaves_evidence(self, api, attendee) -> None:
        # Given a login at the office
        first = log_in(api, attendee["email"], attendee["code"], source_ip="203.0.113.7").json()["session_token"]
        conference_clock.travel_to(AT_KEYNOTE)
        assert beat(api, first).status == 204

        # When the same code logs in somewhere else
        second = log_in(api, attendee["email"], attendee["code"], source_ip="198.51.100.9").json()["session_token"]

        # Then the login while the first session was live is evidence (the update returned the session it replaced)
        def evidence() -> list[str]:
            return [reason for reason in mine(api, second).json()["reasons"] if "two places at once" in reason]

        assert len(evidence()) == 1 and "(once)" in evidence()[0]
        # and the first session is over (the heartbeat's conditional write refused), its use evidence too
        superseded = beat(api, first)
        assert superseded.status == 401 and superseded.json()["code"] == "session_superseded"
        assert beat(api, second).status == 204
        assert "(2 times)" in evidence()[0]
        assert mine(api, first).json()["code"] == "session_superseded"
