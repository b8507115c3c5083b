"""An agency's changes to one seat, through the local stack (HTTP API, Stripe stand-in, moto, the stream): one
attendee's code sent again, a paid group seat passed to another person, and a registration's detail with its history.
The adapter's transactions are checked against moto first (a race writes nothing); the rules themselves are pinned
with fakes in tests/unit/test_group_changes.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.local_stack import LocalStack
from infra.samples import JSON, encoded, group, individual
from infra.stripe_standin import StripeStandIn
from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.dynamodb_group_changes import DynamoGroupChanges
from shared.admin.group_changes import GroupChangeService, Resend, Substitution, conference_start
from shared.clock import FixedClock, conference_clock
from shared.conference import load_conference
from shared.payments.models import HistoryAction, HistoryEntry
from shared.registration.models import Attendee as Person
from shared.registration.models import Registration
from tests.support.fakes_events import catalog_of
from tests.support.tables import scan_all

OFFICERS = ["officer1@example.org", "officer2@example.org"]
NEW = {"first_name": "Ben", "last_name": "Okafor", "email": "ben.okafor@example.org", "organization": "Springfield PD"}


def paid(
    api: LocalHttpApi, stripe_standin: StripeStandIn, local_stack: LocalStack, body: dict[str, Any]
) -> Registration:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(body)).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    local_stack.settle()
    registration = table(local_stack).registration(created["registration_id"])
    assert registration is not None
    return registration


def table(local_stack: LocalStack) -> DynamoGroupChanges:
    return DynamoGroupChanges(local_stack.stack.resources["MainTable"])


def everything(local_stack: LocalStack) -> list[dict[str, Any]]:
    return scan_all(local_stack.session.client("dynamodb"), local_stack.stack.resources["MainTable"])


def sent_to(address: str) -> list[EmailMessage]:
    return [e.parsed() for e in LocalMailbox().emails() if address in e.to]


def code_in(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    (code,) = re.findall(r"^Access code: (\S+)\r?$", str(part.get_content()), flags=re.MULTILINE)
    return code


def log_in(api: LocalHttpApi, email: str, code: str) -> int:
    body = encoded({"email": email, "access_code": code})
    return api.request("POST", "/logins", headers=JSON, body=body).status


def register(api: LocalHttpApi, email: str) -> int:
    return api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=email))).status


class Raced(DynamoGroupChanges):
    """The adapter, with another writer acting once between the service's read and its first write."""

    def __init__(self, table_name: str, racer: Callable[[], None]) -> None:
        super().__init__(table_name)
        self._racer: Callable[[], None] | None = racer
        self.attempts: list[Any] = []

    def _race(self, change: Any) -> None:
        self.attempts.append(change)
        if self._racer is not None:
            racer, self._racer = self._racer, None
            racer()

    def resend(self, resend: Resend) -> None:
        self._race(resend)
        super().resend(resend)

    def substitute(self, substitution: Substitution) -> None:
        self._race(substitution)
        super().substitute(substitution)


def service_on(repository: DynamoGroupChanges) -> GroupChangeService:
    conference = load_conference()
    return GroupChangeService(
        events=catalog_of(conference),
        repository=repository,
        wall_clock=FixedClock(conference_start(conference) - timedelta(days=3)),
        conference_clock=FixedClock(conference_start(conference) - timedelta(days=3)),
    )


class TestAdapter:
    def test_a_raced_substitution_writes_nothing_and_the_one_read_again_writes_it_all(
        self, api, stripe_standin, local_stack
    ) -> None:
        registration = paid(api, stripe_standin, local_stack, group(OFFICERS))
        name = local_stack.stack.resources["MainTable"]
        note = HistoryEntry(at=registration.created_at, actor="x", action=HistoryAction.REFUND_REQUESTED, refund_id="r")
        repository = Raced(
            name, lambda: DynamoRegistrationRepository(name).append_history(registration.registration_id, note)
        )
        old = registration.seats[0]

        answer = service_on(repository).substitute(old.attendee_id, Person.model_validate(NEW), actor="s@example.org")

        first, second = repository.attempts
        assert first.seat.attendee_id != second.seat.attendee_id == answer.attendee_id
        items = everything(local_stack)
        assert not [i for i in items if first.seat.attendee_id in str(i)]  # the raced attempt left nothing
        now = table(local_stack).registration(registration.registration_id)
        assert now is not None and now.seats[0].attendee_id == answer.attendee_id
        assert [e.action for e in now.history][-2:] == ["refund.requested", "attendee.substituted"]
        replaced, new = table(local_stack).attendee(old.attendee_id), table(local_stack).attendee(answer.attendee_id)
        assert replaced is not None and replaced.status == "revoked" and replaced.access_code_hash is None
        assert new is not None and (new.email, new.status) == ("ben.okafor@example.org", "active")
        assert table(local_stack).holder_of("nasro-2020", "ben.okafor@example.org") == registration.registration_id
        assert table(local_stack).holder_of("nasro-2020", old.email_key) is None

    def test_a_raced_resend_writes_nothing_and_is_numbered_again(self, api, stripe_standin, local_stack) -> None:
        registration = paid(api, stripe_standin, local_stack, group(OFFICERS))
        name = local_stack.stack.resources["MainTable"]
        note = HistoryEntry(at=registration.created_at, actor="x", action=HistoryAction.REFUND_REQUESTED, refund_id="r")
        repository = Raced(
            name, lambda: DynamoRegistrationRepository(name).append_history(registration.registration_id, note)
        )
        attendee_id = registration.seats[1].attendee_id

        service_on(repository).resend_to_attendee(attendee_id, actor="s@example.org")

        assert len(repository.attempts) == 2
        resent = [e for e in table(local_stack).emails(registration.registration_id) if e.kind == "access_code"]
        assert [(e.attendee_id, e.resend) for e in resent] == [(attendee_id, 1)]
        now = table(local_stack).registration(registration.registration_id)
        assert now is not None and [e.action for e in now.history][-2:] == ["refund.requested", "attendee.code_resent"]


class TestResendToOneAttendee:
    def test_a_new_code_for_that_attendee_only(self, api, stripe_standin, local_stack, organiser) -> None:
        registration = paid(api, stripe_standin, local_stack, group(OFFICERS))
        first, second = (code_in(sent_to(email)[0]) for email in OFFICERS)
        path = f"/admin/attendees/{registration.seats[0].attendee_id}/resend-confirmation"

        answer = api.request("POST", path, headers=organiser("support"))
        local_stack.settle()

        assert answer.status == 202, answer.body
        assert answer.json()["attendee_id"] == registration.seats[0].attendee_id
        (mail,) = [m for m in sent_to(OFFICERS[0]) if "access code" in m["Subject"]]
        assert len(sent_to(OFFICERS[1])) == 1  # the other officer got nothing
        assert log_in(api, OFFICERS[0], code_in(mail)) == 200
        assert log_in(api, OFFICERS[0], first) == 401  # that attendee's old code stopped
        assert log_in(api, OFFICERS[1], second) == 200  # the other's still works
        unknown = api.request("POST", "/admin/attendees/att_x/resend-confirmation", headers=organiser("support"))
        assert unknown.status == 404 and unknown.json()["code"] == "not_found"


class TestSubstitution:
    def test_another_person_takes_the_seat_and_the_old_person_s_code_and_guard_go(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        registration = paid(api, stripe_standin, local_stack, group(OFFICERS))
        old = registration.seats[0]
        old_code = code_in(sent_to(old.email)[0])
        assert log_in(api, old.email, old_code) == 200

        answer = substitute(api, organiser, old.attendee_id, NEW | {"job_title": "Sergeant"})
        local_stack.settle()

        assert answer.status == 200, answer.body
        body = answer.json()
        assert body["replaced_attendee_id"] == old.attendee_id and body["attendee_id"] != old.attendee_id
        assert (body["email"], body["job_title"], body["confirmation_queued"]) == (NEW["email"], "Sergeant", True)
        (confirmation,) = sent_to(NEW["email"])
        assert "confirmed" in confirmation["Subject"]
        assert log_in(api, NEW["email"], code_in(confirmation)) == 200
        assert log_in(api, old.email, old_code) == 401
        # the guard moved: the old address may register again, the new one may not
        assert register(api, old.email) == 201
        again = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=NEW["email"])))
        assert again.status == 409 and again.json()["code"] == "already_registered"
        # and the detail keeps both: the seat's new person, the one replaced, the entry naming both
        detail = api.request("GET", f"/admin/registrations/{registration.registration_id}", headers=organiser("viewer"))
        assert detail.status == 200
        view = detail.json()
        assert [s["attendee_id"] for s in view["seats"]] == [body["attendee_id"], registration.seats[1].attendee_id]
        assert [(f["attendee_id"], f["email"]) for f in view["former_attendees"]] == [(old.attendee_id, old.email)]
        (entry,) = [h for h in view["history"] if h["action"] == "attendee.substituted"]
        assert (entry["actor"], entry["from_attendee_id"], entry["to_attendee_id"]) == (
            "support@example.org",
            old.attendee_id,
            body["attendee_id"],
        )

    def test_each_refusal_is_a_409_or_422_and_changes_nothing(
        self, api, stripe_standin, local_stack, organiser
    ) -> None:
        team = paid(api, stripe_standin, local_stack, group(OFFICERS))
        alone = paid(api, stripe_standin, local_stack, individual(email="ana.lopez@example.org"))
        before = everything(local_stack)
        seat = team.seats[0].attendee_id
        refusals = [
            (alone.seats[0].attendee_id, NEW, 409, "not_a_group_seat"),
            (seat, NEW | {"email": "ANA.lopez@example.org"}, 409, "already_registered"),
            (seat, NEW | {"email": OFFICERS[1]}, 409, "already_registered"),
            (seat, {k: v for k, v in NEW.items() if k != "organization"}, 422, "validation_error"),
            (seat, NEW | {"email": "not an address"}, 422, "validation_error"),
            (seat, NEW | {"status": "active"}, 422, "validation_error"),
            ("att_x", NEW, 404, "not_found"),
        ]
        for attendee_id, body, status, code in refusals:
            answer = substitute(api, organiser, attendee_id, body)
            assert (answer.status, answer.json()["code"]) == (status, code), (body, answer.body)
        conference_clock.travel_to(conference_start(load_conference()))
        started = substitute(api, organiser, seat, NEW)
        assert (started.status, started.json()["code"]) == (409, "conference_started")
        assert everything(local_stack) == before


class TestDetail:
    def test_the_detail_of_a_paid_registration_and_a_404(self, api, stripe_standin, local_stack, organiser) -> None:
        registration = paid(api, stripe_standin, local_stack, individual(email="ana.lopez@example.org"))
        answer = api.request("GET", f"/admin/registrations/{registration.registration_id}", headers=organiser("viewer"))
        assert answer.status == 200, answer.body
        view = answer.json()
        (seat,) = view["seats"]
        assert (seat["email"], seat["status"], seat["access"], seat["email_status"]) == (
            "ana.lopez@example.org",
            "active",
            "active",
            "ok",
        )
        assert view["payment"]["method"] == "checkout" and view["payment"]["invoice"] is None
        assert view["payment"]["amount_paid"] == registration.amount.amount
        assert [(h["action"], h["actor"]) for h in view["history"]][:2] == [
            ("registration.created", "system"),
            ("registration.status_changed", "stripe"),
        ]
        missing = api.request("GET", "/admin/registrations/reg_nobody", headers=organiser("viewer"))
        assert missing.status == 404 and missing.json()["code"] == "not_found"


def substitute(api: LocalHttpApi, organiser: Callable[[str], dict[str, str]], attendee_id: str, body: Any) -> Any:
    path = f"/admin/attendees/{attendee_id}/substitute"
    return api.request("POST", path, headers=JSON | organiser("support"), body=encoded(body))
