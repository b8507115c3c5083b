"""Individual logins, one active session per person, and minutes per agenda session."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
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


def minutes_in(attendance: dict, session_id: str = KEYNOTE) -> int:
    return next(s["minutes_attended"] for s in attendance["sessions"] if s["session_id"] == session_id)


class TestLogin:
    def test_the_code_from_the_confirmation_logs_in(self, api, attendee) -> None:
        response = log_in(api, attendee["email"].upper(), attendee["code"].lower())
        assert response.status == 200
        answer = response.json()
        assert answer["attendee_id"].startswith("att_") and len(answer["session_token"]) >= 40
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize("who", ["wrong code", "unknown email", "another person's code"])
    def test_any_wrong_pair_gets_the_same_401(self, api, attendee, who) -> None:
        email, code = {
            "wrong code": (attendee["email"], "AAAA-BBBB-CCCC-DDDD-EEEE"),
            "unknown email": ("nobody@example.org", attendee["code"]),
            "another person's code": ("someone.else@example.org", attendee["code"]),
        }[who]
        response = log_in(api, email, code)
        assert response.status == 401
        problem = response.json()
        assert problem["code"] == "invalid_credentials"
        assert problem["detail"] == "The email and access code do not match a paid seat."

    def test_failed_attempts_are_throttled_without_revealing_whether_the_email_exists(self, api, attendee) -> None:
        for _ in range(10):
            assert log_in(api, attendee["email"], "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip=f"198.51.100.{_}").status == 401
        # The 11th attempt for this email is refused even with the right code, from anywhere
        response = log_in(api, attendee["email"], attendee["code"], source_ip="192.0.2.1")
        assert response.status == 429 and response.json()["code"] == "too_many_attempts"
        for _ in range(10):
            log_in(api, f"ghost{_}@example.org", "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip="198.51.100.200")
        # ...and an address that kept failing is refused for any email
        assert log_in(api, "ghost@example.org", "AAAA", source_ip="198.51.100.200").status == 429

    def test_a_refunded_seat_cannot_log_in(self, api, attendee, stripe_standin, stream, stack) -> None:
        from shared.adapters.dynamodb_reactions import DynamoReactionRepository

        registration = DynamoReactionRepository(stack.resources["MainTable"]).registration(attendee["registration_id"])
        DynamoReactionRepository(stack.resources["MainTable"]).revoke_attendee(registration.seats[0].attendee_id)
        assert log_in(api, attendee["email"], attendee["code"]).json()["code"] == "invalid_credentials"


class TestHeartbeats:
    def test_minutes_are_credited_in_the_session_window_once_each(self, api, attendee) -> None:
        # Given a login, inside the keynote
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        conference_clock.travel_to(AT_KEYNOTE)

        # When heartbeats arrive: three in one minute, one the next minute
        assert [beat(api, token).status for _ in range(3)] == [204, 204, 204]
        conference_clock.travel_to(datetime.fromisoformat("2020-08-05T11:41:10-05:00"))
        assert beat(api, token).status == 204

        # Then two minutes
        attendance = mine(api, token).json()
        assert minutes_in(attendance) == 2
        assert attendance["days_logged_in"] == 0  # logged in two weeks before the conference

    def test_concurrent_duplicate_heartbeats_count_one_minute(self, api, attendee) -> None:
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        conference_clock.travel_to(AT_KEYNOTE)
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(lambda _: beat(api, token).status, range(10)))
        assert statuses == [204] * 10
        assert minutes_in(mine(api, token).json()) == 1

    @pytest.mark.parametrize(
        ("moment", "credited"),
        [
            ("2020-08-05T11:29:59-05:00", 0),  # a second before the start
            ("2020-08-05T11:30:00-05:00", 1),  # the first minute
            ("2020-08-05T12:44:59-05:00", 1),  # the last minute
            ("2020-08-05T12:45:00-05:00", 0),  # the end: not part of the session
            ("2020-08-06T11:40:00-05:00", 0),  # the next day
        ],
    )
    def test_only_minutes_inside_the_window_count(self, api, attendee, moment, credited) -> None:
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        conference_clock.travel_to(datetime.fromisoformat(moment))
        assert beat(api, token).status == 204
        assert minutes_in(mine(api, token).json()) == credited

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

        # Then the first session is over, the second works, and the sharing is recorded
        superseded = beat(api, first)
        assert superseded.status == 401 and superseded.json()["code"] == "session_superseded"
        assert beat(api, second).status == 204
        attendance = mine(api, second).json()
        assert any("two places at once" in reason for reason in attendance["reasons"])
        assert mine(api, first).json()["code"] == "session_superseded"

    def test_logging_in_again_from_the_same_place_is_not_evidence(self, api, attendee) -> None:
        log_in(api, attendee["email"], attendee["code"])
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        assert not any("two places" in reason for reason in mine(api, token).json()["reasons"])


class TestMyAttendance:
    def test_progress_and_reasons_in_words(self, api, attendee) -> None:
        conference_clock.travel_to(AT_KEYNOTE)
        token = log_in(api, attendee["email"], attendee["code"]).json()["session_token"]
        beat(api, token)
        attendance = mine(api, token).json()
        assert attendance["attendee_id"].startswith("att_")
        assert attendance["days_logged_in"] == 1
        assert attendance["eligible"] is False
        assert len(attendance["sessions"]) == 13
        keynote = next(s for s in attendance["sessions"] if s["session_id"] == KEYNOTE)
        assert keynote == {"session_id": KEYNOTE, "minutes_attended": 1, "minutes_scheduled": 75}
        assert any("You attended 1 of 930 scheduled minutes" in reason for reason in attendance["reasons"])
        assert any("logged in with your own access code on 1 day" in reason for reason in attendance["reasons"])
