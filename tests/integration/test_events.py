"""Events over HTTP and in the table: the seed, the public routes, the organiser's routes (versions, refusals,
publishing), and one person registered in two events of one stack (two seats, two codes, two certificates).
The rules themselves are tests/unit/test_event_service.py; these pin the routes, the adapters' conditions and
the keys that carry the event."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.local_stack import seed_events
from infra.samples import JSON, encoded, individual
from shared.adapters.dynamodb_events import DynamoEventRepository, DynamoEventUsage
from shared.clock import conference_clock
from shared.conference import DEFAULT_CONFERENCE_FILE
from shared.conference.models import ConferenceFile
from shared.events.models import EventAction, EventChange
from shared.registration.ports import StaleWrite
from tests.integration.conftest import ADMIN, drain
from tests.support.tables import scan_all

SEED = ConferenceFile.model_validate_json(DEFAULT_CONFERENCE_FILE.read_bytes())
EMAIL = "ana.lopez@example.org"


def spring_training(**changes: Any) -> dict[str, Any]:
    """A second event: one day, two sessions, its own fee; a document as organisers send it."""
    document = SEED.document().model_dump(mode="json") | {
        "name": "Spring Training 2021",
        "starts_on": "2021-04-06",
        "ends_on": "2021-04-06",
        "fee": {"amount": 9500, "currency": "usd"},
        "agenda": [
            {"id": "s1-morning", "title": "De-escalation", "kind": "workshop", "day": "2021-04-06",
             "starts": "09:00", "ends": "11:00", "speakers": ["Sgt. Rivera"],
             "join_url": "https://zoom.example.org/j/111"},
            {"id": "s1-afternoon", "title": "Case law", "kind": "workshop", "day": "2021-04-06",
             "starts": "13:00", "ends": "15:00"},
        ],
        "registration": SEED.document().registration.model_dump(mode="json")
        | {"checkout_item_name": "Spring Training 2021 - one seat"},
    }  # fmt: skip
    return document | changes


def admin(api: LocalHttpApi, method: str, path: str, body: Any = None, **headers: str):
    extra = JSON if body is not None else {}
    return api.request(method, path, headers=ADMIN | extra | headers, body=encoded(body) if body is not None else None)


def created_event(api: LocalHttpApi, published: bool = True, **changes: Any) -> str:
    answer = admin(api, "POST", "/admin/events", spring_training(**changes))
    assert answer.status == 201, answer.body
    event_id = answer.json()["event_id"]
    if published:
        assert admin(api, "POST", f"/admin/events/{event_id}/publish").status == 200
    return str(event_id)


def pay(api: LocalHttpApi, stripe_standin, stream, body: dict[str, Any]) -> dict[str, Any]:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(body))
    assert created.status == 201, created.body
    stripe_standin.pay(created.json()["checkout_url"].rsplit("/", 1)[-1])
    drain(stripe_standin, stream)
    return dict(created.json())


def codes_for(email: str) -> list[str]:
    return [
        re.findall(rb"Access code: (\S+)\r\n", m.raw)[0].decode()
        for m in LocalMailbox().emails()
        if email.lower() in [to.lower() for to in m.to] and b"confirmed" in m.raw
    ]


class TestSeed:
    def test_the_stack_starts_with_the_seed_published_and_featured(self, api) -> None:
        listed = api.request("GET", "/events")
        assert listed.status == 200
        assert [e["id"] for e in listed.json()] == ["nasro-2020"]
        assert api.request("GET", "/events/nasro-2020").json() == api.request("GET", "/conference").json()

    def test_loading_the_seed_again_changes_nothing(self, api, aws, stack) -> None:
        before = scan_all(aws.client("dynamodb"), stack.resources["MainTable"], include_events=True)
        seed_events()
        seed_events()
        assert scan_all(aws.client("dynamodb"), stack.resources["MainTable"], include_events=True) == before


class TestPublicRoutes:
    def test_join_links_never_appear_publicly(self, api) -> None:
        event_id = created_event(api)
        for path in ("/events", f"/events/{event_id}", "/conference"):
            assert "zoom.example.org" not in api.request("GET", path).body.decode()
        assert "zoom.example.org" in admin(api, "GET", f"/admin/events/{event_id}").body.decode()

    def test_an_unpublished_unknown_or_malformed_event_is_a_404(self, api) -> None:
        hidden = created_event(api, published=False)
        assert [e["id"] for e in api.request("GET", "/events").json()] == ["nasro-2020"]
        for event_id in (hidden, "no-such-event", "NOT_AN_ID", "x" * 300):
            answer = api.request("GET", f"/events/{event_id}")
            assert (answer.status, answer.json()["code"]) == (404, "not_found")

    def test_unpublishing_takes_an_event_off_the_public_routes_and_the_organisers_still_list_it(self, api) -> None:
        event_id = created_event(api)
        assert api.request("GET", f"/events/{event_id}").status == 200

        unpublished = admin(api, "POST", f"/admin/events/{event_id}/unpublish")

        assert (unpublished.status, unpublished.json()["published"], unpublished.json()["version"]) == (200, False, 3)
        assert [e["id"] for e in api.request("GET", "/events").json()] == ["nasro-2020"]
        assert api.request("GET", f"/events/{event_id}").status == 404
        listed = {e["id"]: e for e in admin(api, "GET", "/admin/events").json()["items"]}
        assert (listed[event_id]["published"], listed[event_id]["version"]) == (False, 3)
        assert {"id", "name", "published", "version"} <= set(listed[event_id])

    def test_a_registration_for_an_unpublished_event_is_a_422_on_event_id(self, api) -> None:
        hidden = created_event(api, published=False)
        answer = api.request("POST", "/registrations", headers=JSON, body=encoded(individual() | {"event_id": hidden}))
        assert answer.status == 422
        assert [e["field"] for e in answer.json()["errors"]] == ["event_id"]


class TestOrganiserRoutes:
    def test_an_edit_needs_the_version_read_and_a_stale_one_is_a_412(self, api) -> None:
        event_id = created_event(api, published=False)
        read = admin(api, "GET", f"/admin/events/{event_id}")
        assert read.headers["etag"] == '"1"'

        renamed = spring_training(name="Spring Training 2021 (online)")
        assert admin(api, "PUT", f"/admin/events/{event_id}", renamed).json()["code"] == "precondition_required"
        saved = admin(api, "PUT", f"/admin/events/{event_id}", renamed, **{"if-match": '"1"'})
        assert (saved.status, saved.json()["version"], saved.headers["etag"]) == (200, 2, '"2"')
        stale = admin(api, "PUT", f"/admin/events/{event_id}", spring_training(), **{"if-match": '"1"'})
        assert (stale.status, stale.json()["code"]) == (412, "version_conflict")

        detail = admin(api, "GET", f"/admin/events/{event_id}").json()
        assert detail["document"]["name"] == "Spring Training 2021 (online)"
        assert [(c["version"], c["action"], c["actor"]) for c in detail["history"]] == [
            (1, "event.created", "admin@example.org"), (2, "event.updated", "admin@example.org"),
        ]  # fmt: skip

    def test_an_invalid_document_is_a_422_naming_the_field_and_stores_nothing(self, api) -> None:
        bad = spring_training()
        bad["agenda"][1]["join_url"] = "http://not-https.example.org"
        answer = admin(api, "POST", "/admin/events", bad)
        assert answer.status == 422
        assert [e["field"] for e in answer.json()["errors"]] == ["agenda[1].join_url"]
        assert [e["id"] for e in admin(api, "GET", "/admin/events").json()["items"]] == ["nasro-2020"]

    def test_the_fee_cannot_change_after_a_registration_unless_forced(self, api, stripe_standin, stream) -> None:
        event_id = created_event(api)
        pay(api, stripe_standin, stream, individual() | {"event_id": event_id})
        dearer = spring_training(fee={"amount": 12000, "currency": "usd"})

        refused = admin(api, "PUT", f"/admin/events/{event_id}", dearer, **{"if-match": '"2"'})
        assert (refused.status, refused.json()["code"]) == (409, "change_refused")
        forced = api.request(
            "PUT", f"/admin/events/{event_id}", query="force=true",
            headers=ADMIN | JSON | {"if-match": '"2"'}, body=encoded(dearer),
        )  # fmt: skip
        assert forced.status == 200
        assert admin(api, "GET", f"/admin/events/{event_id}").json()["history"][-1]["forced"] is True

    def test_lists_and_exports_are_per_event(self, api, stripe_standin, stream) -> None:
        event_id = created_event(api)
        pay(api, stripe_standin, stream, individual(email="only.spring@example.org") | {"event_id": event_id})

        def listed(query: str) -> list[str]:
            page = api.request("GET", "/admin/registrations", headers=ADMIN, query=query).json()
            return [a["email"] for item in page["items"] for a in item["attendees"]]

        assert listed(f"event_id={event_id}&status=paid") == ["only.spring@example.org"]
        assert listed("status=paid") == []  # the featured event's
        export = api.request("GET", "/admin/exports/registrations.csv", headers=ADMIN, query=f"event_id={event_id}")
        assert b"only.spring@example.org" in export.body
        assert f'filename="registrations-{event_id}.csv"' in export.headers["content-disposition"]
        unknown = api.request("GET", "/admin/exports/attendance.csv", headers=ADMIN, query="event_id=no-such")
        assert unknown.status == 404


class TestOnePersonInTwoEvents:
    def test_two_seats_two_codes_each_signing_in_to_its_own_event(self, api, stripe_standin, stream) -> None:
        # Given the same person paid in the featured event and in a second one
        event_id = created_event(api)
        first = pay(api, stripe_standin, stream, individual(email=EMAIL))
        second = pay(api, stripe_standin, stream, individual(email=EMAIL.upper()) | {"event_id": event_id})
        assert first["amount"]["amount"] == 20000 and second["amount"]["amount"] == 9500

        # Then two confirmations with two codes, and each code signs in to its own seat
        codes = codes_for(EMAIL)
        assert len(codes) == 2 and codes[0] != codes[1]
        attendees, agendas = set(), set()
        for code in codes:
            login = api.request("POST", "/logins", headers=JSON, body=encoded({"email": EMAIL, "access_code": code}))
            assert login.status == 200
            attendees.add(login.json()["attendee_id"])
            agenda = api.request(
                "GET", "/me/attendance", headers={"authorization": f"Bearer {login.json()['session_token']}"}
            ).json()
            agendas.add(frozenset(s["session_id"] for s in agenda["sessions"]))
        assert len(attendees) == 2
        assert agendas == {frozenset(s.id for s in SEED.agenda), frozenset({"s1-morning", "s1-afternoon"})}

        # And the same person cannot take a second seat in either event
        again = api.request(
            "POST", "/registrations", headers=JSON, body=encoded(individual(email=EMAIL) | {"event_id": event_id})
        )
        assert (again.status, again.json()["code"]) == (409, "already_registered")

    def test_each_event_issues_its_own_certificate(self, api, aws, stack, stripe_standin, stream) -> None:
        # Given the person attended the whole of the second event
        event_id = created_event(api)
        pay(api, stripe_standin, stream, individual(email=EMAIL) | {"event_id": event_id})
        (code,) = codes_for(EMAIL)
        login = api.request("POST", "/logins", headers=JSON, body=encoded({"email": EMAIL, "access_code": code}))
        token = login.json()["session_token"]
        for hour, session_id in ((9, "s1-morning"), (13, "s1-afternoon")):
            for minute in range(0, 120):
                conference_clock.travel_to(
                    datetime.fromisoformat(f"2021-04-06T{hour + minute // 60:02d}:{minute % 60:02d}:30-05:00")
                )
                beat = api.request(
                    "POST", "/attendance/heartbeats", headers=JSON | {"authorization": f"Bearer {token}"},
                    body=encoded({"session_id": session_id}),
                )  # fmt: skip
                assert beat.status == 204

        # When the organiser issues the second event's certificates (and the featured one's: nobody there)
        issued = api.request("POST", "/admin/certificates/issue", headers=ADMIN, query=f"event_id={event_id}")
        featured = api.request("POST", "/admin/certificates/issue", headers=ADMIN)
        drain(stripe_standin, stream)

        # Then one certificate, for the second event, with its hours
        jobs = [
            api.request("GET", f"/admin/jobs/{answer.json()['job_id']}", headers=ADMIN).json()
            for answer in (issued, featured)
        ]
        assert [(job["event_id"], job["sent"], job["state"]) for job in jobs] == [
            (event_id, 1, "done"),
            ("nasro-2020", 0, "done"),
        ]
        (mail,) = [m for m in LocalMailbox().emails() if EMAIL in m.to and "Certificate" in m.subject]
        (certificate_id,) = re.findall(r"Certificate ID: (\S+)", mail.parsed().get_body(("plain",)).get_content())
        verified = api.request("GET", f"/certificates/{certificate_id}").json()
        assert (verified["conference"], verified["hours"]) == ("Spring Training 2021", 4.0)


class TestAgendaEdits:
    def test_a_moved_session_credits_its_new_time_and_eligibility_follows(self, api, stripe_standin, stream) -> None:
        # Given a paid attendee of the second event, signed in
        event_id = created_event(api)
        pay(api, stripe_standin, stream, individual(email=EMAIL) | {"event_id": event_id})
        (code,) = codes_for(EMAIL)
        token = api.request(
            "POST", "/logins", headers=JSON, body=encoded({"email": EMAIL, "access_code": code})
        ).json()["session_token"]
        bearer = JSON | {"authorization": f"Bearer {token}"}

        # When the organiser moves the afternoon session to 16:00-18:00
        moved = spring_training()
        moved["agenda"][1] |= {"starts": "16:00", "ends": "18:00"}
        assert admin(api, "PUT", f"/admin/events/{event_id}", moved, **{"if-match": '"2"'}).status == 200

        # Then a heartbeat at the old time credits nothing and one at the new time counts
        conference_clock.travel_to(datetime.fromisoformat("2021-04-06T13:30:00-05:00"))
        api.request("POST", "/attendance/heartbeats", headers=bearer, body=encoded({"session_id": "s1-afternoon"}))
        conference_clock.travel_to(datetime.fromisoformat("2021-04-06T16:30:00-05:00"))
        api.request("POST", "/attendance/heartbeats", headers=bearer, body=encoded({"session_id": "s1-afternoon"}))
        mine = api.request("GET", "/me/attendance", headers={"authorization": f"Bearer {token}"}).json()
        minutes = {s["session_id"]: s["minutes_attended"] for s in mine["sessions"]}
        assert minutes == {"s1-morning": 0, "s1-afternoon": 1}
        assert mine["eligible"] is False

    def test_a_session_with_minutes_cannot_be_removed(self, api, stripe_standin, stream) -> None:
        event_id = created_event(api)
        pay(api, stripe_standin, stream, individual(email=EMAIL) | {"event_id": event_id})
        (code,) = codes_for(EMAIL)
        token = api.request(
            "POST", "/logins", headers=JSON, body=encoded({"email": EMAIL, "access_code": code})
        ).json()["session_token"]
        conference_clock.travel_to(datetime.fromisoformat("2021-04-06T09:10:00-05:00"))
        api.request("POST", "/attendance/heartbeats", headers=JSON | {"authorization": f"Bearer {token}"},
                    body=encoded({"session_id": "s1-morning"}))  # fmt: skip

        shorter = spring_training()
        shorter["agenda"] = shorter["agenda"][1:]
        refused = admin(api, "PUT", f"/admin/events/{event_id}", shorter, **{"if-match": '"2"'})
        assert (refused.status, refused.json()["code"]) == (409, "change_refused")
        assert "s1-morning" in refused.json()["detail"]


class TestTheEventTable:
    """DynamoEventRepository's conditions, as DynamoDB (moto) evaluates them."""

    def test_a_version_is_written_once_and_only_over_the_version_expected(self, clean_tables) -> None:
        repository = DynamoEventRepository(clean_tables.resources["MainTable"])
        record = repository.get("nasro-2020")
        assert record is not None and record.version == 1
        change = EventChange(version=2, at=record.updated_at, actor="a@example.org", action=EventAction.UPDATED)
        nextone = record.model_copy(update={"version": 2})

        with pytest.raises(StaleWrite):
            repository.create(record, change)  # the id is taken
        with pytest.raises(StaleWrite):
            repository.save(nextone, change, expected_version=7)
        repository.save(nextone, change, expected_version=1)
        with pytest.raises(StaleWrite):
            repository.save(nextone, change, expected_version=1)

        assert repository.get("nasro-2020").version == 2
        assert [c.action for c in repository.history("nasro-2020")] == [EventAction.SEEDED, EventAction.UPDATED]
        assert repository.featured_id() == "nasro-2020"
        assert repository.feature("other", only_if_none=True) is False

    def test_the_document_round_trips_exactly(self, clean_tables) -> None:
        record = DynamoEventRepository(clean_tables.resources["MainTable"]).get("nasro-2020")
        assert record is not None and record.document == SEED.document()
        assert json.loads(record.document.model_dump_json())["certificate_policy"]["min_attendance_share"] == 0.5

    def test_usage_reads_registrations_and_attendance_of_the_event_only(
        self, api, stripe_standin, stream, stack
    ) -> None:
        usage = DynamoEventUsage(stack.resources["MainTable"])
        event_id = created_event(api)
        assert usage.holds_registrations(event_id) is False
        pay(api, stripe_standin, stream, individual(email=EMAIL) | {"event_id": event_id})
        assert usage.holds_registrations(event_id) is True
        assert usage.holds_registrations("nasro-2020") is False
        assert usage.sessions_with_attendance(event_id, ["s1-morning"]) == set()
