"""The attendance routes against moto, from a real confirmation's access code: each route's HTTP mapping once,
and one path per adapter method (the session put and the attendee's update returning the one it replaced, the
throttle's counters, the heartbeat's conditional set write, the signals, sign-out's transaction, the access-code
request and its slots, the requested codes' conditional write, the certificate's PDF from the bucket). The rules
themselves (wrong pairs, the throttle by address, revoked seats, the session window, the join link's window,
evidence, the hourly limit, codes alongside) are tests/unit/test_attendance_service.py and
tests/unit/test_reaction_service.py; what the emails say, tests/unit/test_email_messages.py."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.clock import conference_clock
from shared.composition.certificates import certificate_service
from shared.conference import DEFAULT_CONFERENCE_FILE
from shared.conference.models import ConferenceFile
from shared.registration.status import RegistrationStatus
from shared.settings import CertificateSettings
from tests.integration.conftest import ADMIN, drain
from tests.integration.test_certificates import attend, certificate_emails, certificate_id_in, pdf_in

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
    # the confirmation (the registrant also gets a receipt)
    (confirmation,) = [m for m in LocalMailbox().emails()[before:] if "confirmed" in m.subject]
    (code,) = re.findall(rb"Access code: (\S+)\r\n", confirmation.raw)
    return {
        "email": email,
        "code": code.decode(),
        "registration_id": created["registration_id"],
        "confirmation": confirmation.parsed(),
    }


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


def mine(api: LocalHttpApi, token: str, path: str = "/me/attendance", method: str = "GET"):
    return api.request(method, path, headers={"authorization": f"Bearer {token}"})


def token_of(api: LocalHttpApi, person: dict) -> str:
    answer = log_in(api, person["email"], person["code"])
    assert answer.status == 200, answer.body
    return str(answer.json()["session_token"])


def ask_for_a_code(api: LocalHttpApi, email: str):
    return api.request("POST", "/access-codes", headers=JSON, body=encoded({"email": email}))


def access_code_emails(to: str) -> list[EmailMessage]:
    return [m.parsed() for m in LocalMailbox().emails() if to in m.to and "access code" in m.subject]


def text_of(message: EmailMessage) -> list[str]:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content()).splitlines()


def line(message: EmailMessage, label: str) -> str:
    (found,) = [text.removeprefix(f"{label}: ") for text in text_of(message) if text.startswith(f"{label}: ")]
    return found


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

    def test_failed_attempts_are_counted_per_address_in_the_table_and_then_a_429(self, api, attendee) -> None:
        # Given twenty failures for the email from one address, and some from others
        for _ in range(20):
            assert log_in(api, attendee["email"], "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip="198.51.100.7").status == 401
        for n in range(5):
            assert log_in(api, attendee["email"], "AAAA-AAAA-AAAA-AAAA-AAAA", source_ip=f"198.51.100.{n}").status == 401

        # When that address tries again, even with the right code, it is refused for the rest of the window
        refused = log_in(api, attendee["email"], attendee["code"], source_ip="198.51.100.7")
        assert refused.status == 429 and refused.json()["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 900  # the seconds left in the address's window

        # But the attendee, from an address of their own, still signs in
        assert log_in(api, attendee["email"], attendee["code"], source_ip="192.0.2.1").status == 200


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


class TestMe:
    def test_who_the_token_signs_in(self, api, attendee) -> None:
        response = mine(api, token_of(api, attendee), "/me")
        assert response.status == 200 and response.headers["cache-control"] == "no-store"
        me = response.json()
        assert me == {
            "attendee_id": me["attendee_id"], "first_name": me["first_name"], "last_name": me["last_name"],
            "organization": me["organization"], "registration_kind": "individual",
        }  # fmt: skip
        assert me["attendee_id"].startswith("att_") and me["first_name"] and me["organization"]

    def test_no_token_is_a_401_invalid_session(self, api, attendee) -> None:
        response = api.request("GET", "/me")
        assert (response.status, response.json()["code"]) == (401, "invalid_session")
        assert response.headers["www-authenticate"] == 'Bearer realm="conference"'


def with_a_stream_link(api: LocalHttpApi, session_id: str, url: str) -> None:
    """The organiser pastes the session's stream link into the seed event (PUT against the version read)."""
    document = ConferenceFile.model_validate_json(DEFAULT_CONFERENCE_FILE.read_bytes()).document()
    agenda = [e.model_copy(update={"join_url": url}) if e.id == session_id else e for e in document.agenda]
    body = document.model_copy(update={"agenda": agenda}).model_dump(mode="json")
    etag = api.request("GET", "/admin/events/nasro-2020", headers=ADMIN).headers["etag"]
    saved = api.request(
        "PUT", "/admin/events/nasro-2020", headers=ADMIN | JSON | {"if-match": etag}, body=encoded(body)
    )
    assert saved.status == 200, saved.body


class TestMySessions:
    def test_the_agenda_with_the_stream_link_around_its_session_in_the_event_s_zone(self, api, attendee) -> None:
        # Given a stream link on the keynote, and a session token
        with_a_stream_link(api, KEYNOTE, "https://zoom.example.org/j/keynote")
        token = token_of(api, attendee)

        # When the attendee reads the agenda 15 minutes before the keynote, then while it runs
        conference_clock.travel_to(datetime.fromisoformat("2020-08-05T16:15:00+00:00"))  # 11:15 CDT
        before = api.request("GET", "/me/sessions", headers={"authorization": f"Bearer {token}"})
        conference_clock.travel_to(AT_KEYNOTE)
        during = {s["id"]: s for s in mine(api, token, "/me/sessions").json()}

        # Then every session, in the event's zone; the link from 15 minutes before, live only once it starts
        assert before.status == 200 and before.headers["cache-control"] == "no-store"
        sessions = {s["id"]: s for s in before.json()}
        assert len(sessions) == 13
        assert sessions[KEYNOTE] == {
            "id": KEYNOTE, "title": sessions[KEYNOTE]["title"], "kind": "keynote", "day": "2020-08-05",
            "starts_at": "2020-08-05T11:30:00-05:00", "ends_at": "2020-08-05T12:45:00-05:00",
            "speakers": sessions[KEYNOTE]["speakers"], "live": False, "join_url": "https://zoom.example.org/j/keynote",
        }  # fmt: skip
        assert (during[KEYNOTE]["live"], during[KEYNOTE]["join_url"]) == (True, "https://zoom.example.org/j/keynote")
        assert [s["id"] for s in during.values() if s["live"] or s["join_url"]] == [KEYNOTE]


class TestMyCertificate:
    def test_not_issued_then_the_pdf_that_was_emailed(self, api, stripe_standin, stream, aws, stack, attendee) -> None:
        # Given an attendee who logged in and attended everything, before certificates are issued
        attend(api, aws, stack, attendee, 1.0)
        token = token_of(api, attendee)
        before = mine(api, token, "/me/certificate")
        assert (before.status, before.json()["code"]) == (404, "not_issued")

        # When the organiser issues certificates and the stream renders and emails them
        assert api.request("POST", "/admin/certificates/issue", headers=ADMIN).status == 202
        drain(stripe_standin, stream)

        # Then the route answers the PDF the attendee was emailed (base64 in Lambda's answer, bytes over HTTP)
        (email,) = certificate_emails(attendee["email"])
        certificate_id = certificate_id_in(email)
        response = mine(api, token, "/me/certificate")
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"] == f'attachment; filename="certificate-{certificate_id}.pdf"'
        assert response.headers["cache-control"] == "no-store"
        assert response.body == pdf_in(email) and response.body.startswith(b"%PDF-")

    def test_a_certificate_issued_but_not_yet_rendered_is_not_issued_yet(
        self, api, stripe_standin, stream, aws, stack, attendee
    ) -> None:
        # Given a certificate issued whose email (and PDF) is not made yet: a job's claim, before its send
        attendee_id = attend(api, aws, stack, attendee, 1.0)
        token = token_of(api, attendee)
        certificates = certificate_service(CertificateSettings.from_environment())
        assert certificates.claim("job_test", attendee_id, RegistrationStatus.PAID) is not None

        # When / Then: not issued yet, and the bucket was not asked for a PDF that is not there
        response = mine(api, token, "/me/certificate")
        assert (response.status, response.json()["code"]) == (404, "not_issued")
        assert "being prepared" in response.json()["detail"]


class TestSignOut:
    def test_the_token_stops_working(self, api, attendee) -> None:
        # Given a session, inside the keynote
        conference_clock.travel_to(AT_KEYNOTE)
        token = token_of(api, attendee)
        assert beat(api, token).status == 204

        # When the attendee signs out
        response = mine(api, token, "/me/session", "DELETE")

        # Then 204, and the token is an invalid session everywhere (the record is gone, the heartbeat's write refused)
        assert response.status == 204 and response.body == b""
        for refused in (
            mine(api, token),
            mine(api, token, "/me"),
            beat(api, token),
            mine(api, token, "/me/session", "DELETE"),
        ):
            assert (refused.status, refused.json()["code"]) == (401, "invalid_session")
        assert token_of(api, attendee)  # and the code logs in again

    def test_ending_an_older_session_leaves_a_newer_login_alone(self, api, attendee, clean_tables) -> None:
        # Given two logins, the second one current
        first, second = token_of(api, attendee), token_of(api, attendee)
        attendee_id = first.split(".", 1)[0]

        # When the first's record is ended (as a sign-out racing the second login would: its condition fails)
        DynamoAttendanceRepository(clean_tables.resources["MainTable"]).end_session(
            attendee_id, hashlib.sha256(first.encode()).hexdigest()
        )

        # Then the first is unknown, the second still the attendee's session
        assert mine(api, first).json()["code"] == "invalid_session"
        assert mine(api, second).status == 200


class TestAccessCodes:
    def test_a_paid_seat_s_email_gets_a_new_code_that_works_alongside_the_first(
        self, api, stripe_standin, stream, attendee
    ) -> None:
        # When the attendee asks for a code (in another case), and the stream answers it
        response = ask_for_a_code(api, attendee["email"].upper())
        drain(stripe_standin, stream)

        # Then 202 {}, one access-code email with its Sign in line, and both codes log in
        assert (response.status, response.json(), response.headers["cache-control"]) == (202, {}, "no-store")
        (email,) = access_code_emails(attendee["email"])
        assert "confirmed" not in str(email["Subject"])
        code = line(email, "Access code")
        assert parse_qs(urlsplit(line(email, "Sign in")).fragment)["code"] == [code]
        assert code != attendee["code"]
        assert log_in(api, attendee["email"], code).status == 200
        assert log_in(api, attendee["email"], attendee["code"]).status == 200

    def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent(
        self, api, stripe_standin, stream, attendee
    ) -> None:
        before = len(LocalMailbox().emails())
        known, unknown = ask_for_a_code(api, attendee["email"]), ask_for_a_code(api, "nobody@example.org")
        drain(stripe_standin, stream)
        assert (unknown.status, unknown.body) == (known.status, known.body) == (202, b"{}")
        assert {k: v for k, v in unknown.headers.items() if k != "date"} == {
            k: v for k, v in known.headers.items() if k != "date"
        }
        assert [m.to for m in LocalMailbox().emails()[before:]] == [[attendee["email"]]]  # the known one alone

    def test_a_malformed_email_is_a_422(self, api) -> None:
        response = ask_for_a_code(api, "not an email")
        assert (response.status, response.json()["code"]) == (422, "validation_error")
        assert [e["field"] for e in response.json()["errors"]] == ["email"]

    def test_at_most_three_emails_an_hour_however_often_it_is_asked(
        self, api, stripe_standin, stream, attendee
    ) -> None:
        answers = [ask_for_a_code(api, attendee["email"]).status for _ in range(4)]
        drain(stripe_standin, stream)
        assert answers == [202] * 4
        codes = [line(email, "Access code") for email in access_code_emails(attendee["email"])]
        assert len(codes) == len(set(codes)) == 3
        assert all(log_in(api, attendee["email"], code).status == 200 for code in [*codes, attendee["code"]])


class TestConfirmation:
    def test_the_sign_in_line_signs_in_and_the_calendar_has_one_event_per_day(self, api, attendee) -> None:
        confirmation: EmailMessage = attendee["confirmation"]

        # The Sign in line: the attend page, with the email and code only in the fragment; they log in
        url = urlsplit(line(confirmation, "Sign in"))
        assert url.path == "/attend" and url.query == ""
        signed = parse_qs(url.fragment)
        assert signed == {"email": [attendee["email"]], "code": [attendee["code"]]}
        assert log_in(api, signed["email"][0], signed["code"][0]).status == 200

        # The calendar, as the attendee's client reads it: one event per conference day, in Chicago time
        (invite,) = [p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"]
        assert invite.get_filename() == "invite.ics" and invite.get_param("method") == "PUBLISH"
        payload = invite.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendar = Calendar.from_ical(payload)
        chicago = ZoneInfo("America/Chicago")
        events = calendar.walk("VEVENT")
        assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == [
            (datetime(2020, 8, 5, 9, 0, tzinfo=chicago), datetime(2020, 8, 5, 16, 30, tzinfo=chicago)),
            (datetime(2020, 8, 6, 9, 0, tzinfo=chicago), datetime(2020, 8, 6, 15, 45, tzinfo=chicago)),
            (datetime(2020, 8, 7, 9, 0, tzinfo=chicago), datetime(2020, 8, 7, 15, 0, tzinfo=chicago)),
        ]
        assert {e["DTSTART"].params["TZID"] for e in events} == {"America/Chicago"}
        assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
        assert {str(e["URL"]) for e in events} == {f"{url.scheme}://{url.netloc}/attend"}
