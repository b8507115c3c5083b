"""What became of the mail, against moto through the local stack's play of SES's event publishing: the mailbox
simulator's bounce and complaint recorded on the attendee (and the purchaser), shown to organisers, and an
organiser's correction of the address: the guard moved, the old code ended, the confirmation with a new code.

The rules (which event changes what, in which order) are pinned with fakes in tests/unit/test_mail_status.py."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.local_stack import LocalStack
from infra.samples import JSON, encoded, group, individual
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import DynamoRegistrationRepository, from_item
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.reactions.models import Attendee
from tests.integration.conftest import ADMIN

BOUNCE = "bounce@simulator.amazonses.com"
COMPLAINT = "complaint@simulator.amazonses.com"


def register_and_pay(api: LocalHttpApi, stripe_standin: StripeStandIn, body: dict[str, Any]) -> str:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(body)).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    return str(created["registration_id"])


def attendees_of(local_stack: LocalStack, registration_id: str) -> list[Attendee]:
    repository = DynamoReactionRepository(local_stack.stack.resources["MainTable"])
    registration = repository.registration(registration_id)
    assert registration is not None
    found = [repository.attendee(seat.attendee_id) for seat in registration.seats]
    assert all(found)
    return [a for a in found if a is not None]


def listed(api: LocalHttpApi) -> list[dict[str, Any]]:
    page = api.request("GET", "/admin/registrations", query="status=paid", headers=ADMIN).json()
    return [person for item in page["items"] for person in item["attendees"]]


def sent_to(address: str) -> list[EmailMessage]:
    return [e.parsed() for e in LocalMailbox().emails() if address in e.to]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def access_code_in(message: EmailMessage) -> str:
    (code,) = re.findall(r"^Access code: (\S+)\r?$", text_of(message), flags=re.MULTILINE)
    return code


def log_in(api: LocalHttpApi, email: str, code: str) -> int:
    body = encoded({"email": email, "access_code": code})
    return api.request("POST", "/logins", headers=JSON, body=body).status


class TestSesEvents:
    def test_a_bounce_from_the_simulator_is_recorded_on_the_attendee_and_shown_to_organisers(
        self, api, stripe_standin, local_stack
    ) -> None:
        # Given a paid seat for SES's bounce address  When its confirmation goes out and SES reports
        registration_id = register_and_pay(api, stripe_standin, individual(email=BOUNCE))
        local_stack.settle()
        # Then the confirmation was sent (SES accepts it) and the bounce is on the attendee, with SES's reason
        assert len([m for m in sent_to(BOUNCE) if "confirmed" in m["Subject"]]) == 1
        (attendee,) = attendees_of(local_stack, registration_id)
        assert attendee.email_status == "bounced"
        assert attendee.email_status_reason == "smtp; 550 5.1.1 user unknown"
        # and the organisers' list shows it, next to the person
        (person,) = listed(api)
        assert (person["email"], person["email_status"]) == (BOUNCE, "bounced")
        assert person["email_status_reason"] == "smtp; 550 5.1.1 user unknown"

    def test_a_complaint_is_recorded_and_an_ordinary_delivery_leaves_ok(self, api, stripe_standin, local_stack) -> None:
        complained = register_and_pay(api, stripe_standin, individual(email=COMPLAINT))
        delivered = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        (person,) = attendees_of(local_stack, complained)
        assert person.email_status == "complained" and person.email_status_reason == "complaint: abuse"
        (other,) = attendees_of(local_stack, delivered)
        assert other.email_status == "ok" and other.email_status_reason is None
        assert {p["email"]: p["email_status"] for p in listed(api)} == {
            COMPLAINT: "complained",
            "ana.lopez@example.org": "ok",
        }

    def test_a_purchaser_s_bounced_receipt_is_recorded_on_the_registration(
        self, api, stripe_standin, local_stack
    ) -> None:
        registration_id = register_and_pay(api, stripe_standin, group(["officer1@example.org"], purchaser_email=BOUNCE))
        local_stack.settle()
        item = from_item(
            local_stack.session.client("dynamodb").get_item(
                TableName=local_stack.stack.resources["MainTable"],
                Key={"pk": {"S": f"REG#{registration_id}"}, "sk": {"S": "META"}},
            )["Item"]
        )
        assert item["purchaser_email_status"]["status"] == "bounced"
        (officer,) = attendees_of(local_stack, registration_id)
        assert officer.email_status == "ok"  # the seat's own confirmation was delivered


class TestCorrection:
    def test_a_corrected_email_gets_the_confirmation_with_a_new_code_and_the_old_code_stops(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        # Given an attendee whose address bounced, and the code their confirmation carried
        registration_id = register_and_pay(api, stripe_standin, individual(email=BOUNCE))
        local_stack.settle()
        (attendee,) = attendees_of(local_stack, registration_id)
        old_code = access_code_in(sent_to(BOUNCE)[0])
        assert log_in(api, BOUNCE, old_code) == 200

        # When support corrects the address
        answer = api.request(
            "PATCH",
            f"/admin/attendees/{attendee.attendee_id}",
            headers=JSON | organiser("support"),
            body=encoded({"email": "Ana.Lopez@example.org"}),
        )
        local_stack.settle()

        # Then 200, the new address ok, and its confirmation with a new code that signs in; the old code does not
        assert answer.status == 200, answer.body
        assert answer.json() | {"attendee_id": "-", "registration_id": "-"} == {
            "attendee_id": "-",
            "registration_id": "-",
            "first_name": "Ana",
            "last_name": "Lopez",
            "email": "Ana.Lopez@example.org",
            "email_status": "ok",
            "confirmation_queued": True,
        }
        (confirmation,) = sent_to("Ana.Lopez@example.org")
        assert "confirmed" in confirmation["Subject"]
        new_code = access_code_in(confirmation)
        assert new_code != old_code
        assert log_in(api, "ana.lopez@example.org", new_code) == 200
        assert log_in(api, BOUNCE, old_code) == 401
        assert log_in(api, "ana.lopez@example.org", old_code) == 401
        (corrected,) = attendees_of(local_stack, registration_id)
        assert (corrected.email, corrected.email_status) == ("Ana.Lopez@example.org", "ok")
        # the guard moved: the old address is free to register, the new one is held
        assert api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=BOUNCE))).status == 201
        again = api.request(
            "POST", "/registrations", headers=JSON, body=encoded(individual(email="ana.lopez@example.org"))
        )
        assert again.status == 409 and again.json()["code"] == "already_registered"
        # the person index follows the address (an erasure of the new one finds the registration, of the old none)
        registrations = DynamoRegistrationRepository(local_stack.stack.resources["MainTable"])
        assert registrations.registrations_naming("ana.lopez@example.org") == [registration_id]
        assert registration_id not in registrations.registrations_naming(BOUNCE)
        # and the history names the organiser and the fields, never the addresses
        repository = DynamoReactionRepository(local_stack.stack.resources["MainTable"])
        registration = repository.registration(registration_id)
        assert registration is not None
        (entry,) = [e for e in registration.history if e.action == "attendee.corrected"]
        assert (entry.actor, entry.attendee_id, entry.changed) == ("support@example.org", attendee.attendee_id, "email")

    def test_a_name_correction_changes_the_names_and_keeps_the_code(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        registration_id = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        (attendee,) = attendees_of(local_stack, registration_id)
        code = access_code_in(sent_to("ana.lopez@example.org")[0])
        answer = api.request(
            "PATCH",
            f"/admin/attendees/{attendee.attendee_id}",
            headers=JSON | organiser("support"),
            body=encoded({"first_name": "Anaïs"}),
        )
        local_stack.settle()
        assert answer.status == 200 and answer.json()["confirmation_queued"] is False
        assert len(sent_to("ana.lopez@example.org")) == 2  # the confirmation and the receipt: no new mail
        assert log_in(api, "ana.lopez@example.org", code) == 200
        assert [p["first_name"] for p in listed(api)] == ["Anaïs"]

    def test_an_email_that_holds_a_paid_seat_is_refused_and_nothing_changes(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        first = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        register_and_pay(api, stripe_standin, individual(email="ben.okafor@example.org", first_name="Ben"))
        local_stack.settle()
        (attendee,) = attendees_of(local_stack, first)
        before = listed(api)
        answer = api.request(
            "PATCH",
            f"/admin/attendees/{attendee.attendee_id}",
            headers=JSON | organiser("support"),
            body=encoded({"email": "BEN.okafor@example.org"}),
        )
        assert answer.status == 409 and answer.json()["code"] == "already_registered"
        assert listed(api) == before
        assert attendees_of(local_stack, first) == [attendee]

    @pytest.mark.parametrize(
        "body",
        [{}, {"email": "not an address"}, {"nickname": "Ana"}, {"first_name": ""}, {"last_name": "a\nb"}],
    )
    def test_bad_input_is_a_422_and_changes_nothing(self, api, stripe_standin, local_stack, organiser, body) -> None:
        registration_id = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        (attendee,) = attendees_of(local_stack, registration_id)
        answer = api.request(
            "PATCH", f"/admin/attendees/{attendee.attendee_id}", headers=JSON | organiser("support"), body=encoded(body)
        )
        assert answer.status == 422 and answer.json()["code"] == "validation_error"
        assert attendees_of(local_stack, registration_id) == [attendee]

    def test_only_support_or_admin_correct_and_an_unknown_attendee_is_404(self, api, organiser) -> None:
        body = encoded({"first_name": "Ana"})
        viewer = api.request("PATCH", "/admin/attendees/att_x", headers=JSON | organiser("viewer"), body=body)
        finance = api.request("PATCH", "/admin/attendees/att_x", headers=JSON | organiser("finance"), body=body)
        assert viewer.status == finance.status == 403
        unknown = api.request("PATCH", "/admin/attendees/att_x", headers=JSON | organiser("support"), body=body)
        assert unknown.status == 404 and unknown.json()["code"] == "not_found"


def ses_event(kind: str, address: str, registration_id: str, attendee_id: str | None, sent: str) -> dict[str, Any]:
    """An EventBridge event as SES publishes it for this configuration set."""
    tags = {"kind": ["confirmation"], "registration_id": [registration_id]}
    if attendee_id:
        tags["attendee_id"] = [attendee_id]
    detail: dict[str, Any] = {
        "eventType": kind.capitalize(),
        "mail": {"timestamp": sent, "messageId": "m-x", "destination": [address], "tags": tags},
    }
    if kind == "bounce":
        detail["bounce"] = {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": address, "diagnosticCode": "smtp; 550 no such user"}],
        }
    else:
        detail["delivery"] = {"recipients": [address]}
    return {"source": "aws.ses", "detail-type": f"Email {kind}", "detail": detail}


def email_events(local_stack: LocalStack) -> Any:
    from infra.apigw import LambdaContext, load_handler

    function = local_stack.stack.functions["EmailEventsFunction"]
    handler = load_handler(function)
    return lambda event: handler(event, LambdaContext(function_name=function.name))


class TestEventOrder:
    def test_older_mail_s_events_and_a_corrected_address_s_late_bounce_change_nothing(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        # Given an attendee whose later mail was delivered after an earlier one bounced
        registration_id = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        (attendee,) = attendees_of(local_stack, registration_id)
        send = email_events(local_stack)
        address, ids = "ana.lopez@example.org", (registration_id, attendee.attendee_id)
        assert send(ses_event("bounce", address, *ids, "2030-07-22T10:00:00Z")) == {"recorded": "bounced"}
        assert send(ses_event("delivery", address, *ids, "2030-07-22T11:00:00Z")) == {"recorded": "ok"}
        # When the first mail's bounce comes again, late: nothing changes
        assert send(ses_event("bounce", address, *ids, "2030-07-22T10:00:00Z")) == {"recorded": None}
        (now,) = attendees_of(local_stack, registration_id)
        assert now.email_status == "ok"
        # When the address is corrected, a bounce of the old one changes nothing either
        answer = api.request(
            "PATCH",
            f"/admin/attendees/{attendee.attendee_id}",
            headers=JSON | organiser("support"),
            body=encoded({"email": "ana.fixed@example.org"}),
        )
        assert answer.status == 200
        assert send(ses_event("bounce", address, *ids, "2030-07-23T10:00:00Z")) == {"recorded": None}
        (corrected,) = attendees_of(local_stack, registration_id)
        assert (corrected.email, corrected.email_status) == ("ana.fixed@example.org", "ok")
        # And an event this backend did not tag, or of another type, is ignored
        assert send({"source": "aws.ses", "detail": {"eventType": "Send", "mail": {}}}) == {"recorded": None}


class TestMailProblemsList:
    def test_bounced_and_complaining_attendees_are_listed_until_corrected(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        # Given a bounce, a complaint and a delivered address, paid
        bounced = register_and_pay(api, stripe_standin, individual(email="bounce+list@simulator.amazonses.com"))
        complained = register_and_pay(api, stripe_standin, individual(email=COMPLAINT))
        register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        viewer = organiser("viewer")

        def listed_as(status: str) -> list[tuple[str, str]]:
            answer = api.request("GET", "/admin/attendees", query=f"email_status={status}", headers=viewer)
            assert answer.status == 200, answer.body
            return [(item["registration_id"], item["email_status"]) for item in answer.json()["items"]]

        # Then each is listed under its status (bounced by default), a viewer may read them, the delivered one nowhere
        assert listed_as("bounced") == [(bounced, "bounced")]
        assert listed_as("complained") == [(complained, "complained")]
        default = api.request("GET", "/admin/attendees", headers=viewer).json()
        assert [item["registration_id"] for item in default["items"]] == [bounced]
        assert default["items"][0]["email_status_reason"] == "smtp; 550 5.1.1 user unknown"
        assert default["next_cursor"] is None
        # When the bounced address is corrected: it leaves the list
        (attendee,) = attendees_of(local_stack, bounced)
        answer = api.request(
            "PATCH",
            f"/admin/attendees/{attendee.attendee_id}",
            headers=JSON | organiser("support"),
            body=encoded({"email": "ana.fixed@example.org"}),
        )
        assert answer.status == 200
        assert listed_as("bounced") == []
        # And another event's list is its own; a status that is not a problem, or a foreign cursor, is a 422
        other = api.request("GET", "/admin/attendees", query="event_id=other-2020", headers=viewer).json()
        assert other["items"] == []
        for query in ("email_status=ok", "email_status=lost", "cursor=bm90LWEtY3Vyc29y"):
            refused = api.request("GET", "/admin/attendees", query=query, headers=viewer)
            assert refused.status == 422 and refused.json()["code"] == "validation_error", query


class TestReminderRun:
    def test_the_schedule_s_run_queues_each_seat_s_reminder_once_and_the_job_sends_it(
        self, api, stripe_standin, local_stack
    ) -> None:
        from infra.apigw import LambdaContext, load_handler
        from shared.clock import conference_clock
        from shared.conference import load_conference
        from shared.events.schedules import reminder_time

        # Given a paid seat, and conference time a minute after the day's reminder is due
        register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))
        local_stack.settle()
        function = local_stack.stack.functions["RemindersFunction"]
        run = load_handler(function)
        conference_clock.travel_to(reminder_time(load_conference(), "day") + timedelta(minutes=1))
        # When the schedule runs, twice (a retry), with the payload the event's schedule carries
        event = {"event_id": "nasro-2020", "reminder": "day"}
        first = run(event, LambdaContext(function_name=function.name))
        again = run(event, LambdaContext(function_name=function.name))
        local_stack.settle()
        # Then two jobs started, and one reminder between them, sent through the configuration set (its delivery
        # recorded nothing new)
        assert first["job_id"] != again["job_id"] and "skipped" not in first
        (reminder,) = [e for e in sent_to("ana.lopez@example.org") if "Reminder" in e["Subject"]]
        assert reminder["Subject"].endswith("starts tomorrow")
        assert str(reminder["List-Unsubscribe"]).strip().startswith("<mailto:")
        # And a week's run this late sends nothing
        late = run({"event_id": "nasro-2020", "reminder": "week"}, LambdaContext(function_name=function.name))
        assert late["queued"] == 0 and late["skipped"].startswith("too late")


def test_an_erased_attendee_leaves_the_mail_problems_list_and_keeps_no_diagnostic(
    api, stripe_standin, local_stack, organiser
) -> None:
    address = "bounce+erased@simulator.amazonses.com"
    registration_id = register_and_pay(api, stripe_standin, individual(email=address))
    local_stack.settle()
    listed_before = api.request("GET", "/admin/attendees", headers=organiser("viewer")).json()["items"]
    assert [item["registration_id"] for item in listed_before] == [registration_id]
    erased = api.request("POST", "/admin/people/erase", headers=JSON | ADMIN, body=encoded({"email": address}))
    assert erased.status == 200, erased.body
    assert api.request("GET", "/admin/attendees", headers=organiser("viewer")).json()["items"] == []
    (attendee,) = attendees_of(local_stack, registration_id)
    assert attendee.email_status_reason is None
