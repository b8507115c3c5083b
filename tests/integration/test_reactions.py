"""After payment, against moto and the Stripe stand-in: one honest path per adapter and per handler.

The reactions' rules (who gets which email, refunds, disputes, replays, throttling, leases, the redrive's
repair) are pinned with fakes in tests/unit/test_reaction_service.py; what the emails say in
tests/unit/test_email_messages.py and tests/unit/test_mime.py; the whole journey over HTTP in
tests/e2e/test_reactions_over_http.py. Here: the stream dispatcher from a paid registration to one
confirmation with a working code; the reaction table's conditions; SES's rejection through botocore; the
mailing list's route; the batch's partial failures; the dead-letter queue and its redrive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.access import access_code_matches
from shared.adapters import aws as aws_clients
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.reactions.models import (
    Attendee,
    EmailKind,
    OutboxEmail,
    OutboxStatus,
    RequestedCode,
    Shipment,
    ShipmentState,
)
from shared.reactions.service import SEND_LEASE
from tests.integration.conftest import ADMIN, drain
from tests.support.aws_faults import failing

NOW = datetime(2020, 7, 22, 14, tzinfo=UTC)


@pytest.fixture
def mailbox() -> Iterator[list[EmailMessage]]:
    """The emails sent during the test, parsed."""
    box = LocalMailbox()
    before = len(box.emails())

    class Sent(list[EmailMessage]):
        def refresh(self) -> Sent:
            self[:] = [email.parsed() for email in box.emails()[before:]]
            return self

    yield Sent()


def register_and_pay(api: LocalHttpApi, stripe_standin: StripeStandIn, body: dict) -> dict:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(body)).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    return created


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # sent with CRLF line ends (policy.SMTP)


def access_code_in(message: EmailMessage) -> str:
    (code,) = re.findall(r"^Access code: (\S+)$", text_of(message), flags=re.MULTILINE)
    return code


def reactions(stack) -> DynamoReactionRepository:
    return DynamoReactionRepository(stack.resources["MainTable"])


def coin(registration_id: str, **fields: Any) -> Shipment:
    address = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"}
    person = {"attendee_id": "att_1", "name": "Ana Lopez", "organization": "Springfield PD", "created_at": NOW}
    return Shipment.model_validate(
        {"registration_id": registration_id, "event_id": "nasro-2020", **address, **person, **fields}
    )


class TestPaidSeats:
    def test_an_individual_gets_a_confirmation_with_a_working_code_and_a_coin(
        self, api, stripe_standin, stream: StreamPoller, mailbox, stack
    ) -> None:
        # Given
        created = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))

        # When the stream is processed
        drain(stripe_standin, stream)

        # Then one confirmation, whose code is the one stored (as a digest only), and the payer's receipt
        (email,) = [m for m in mailbox.refresh() if "Receipt" not in m["Subject"]]
        assert "confirmed" in email["Subject"]
        assert email["To"].addresses[0].addr_spec == "ana.lopez@example.org"
        code = access_code_in(email)
        registration = api.request("GET", f"/registrations/{created['registration_id']}").json()
        assert registration["status"] == "paid"
        seat_id = reactions(stack).registration(created["registration_id"]).seats[0].attendee_id
        attendee = reactions(stack).attendee(seat_id)
        assert attendee is not None and attendee.access_code_hash and attendee.status == "active"
        assert access_code_matches(code, attendee.access_code_hash)
        assert code not in str(attendee.model_dump())
        assert "coin" in text_of(email).lower()
        shipment = reactions(stack).shipment(created["registration_id"])
        assert shipment is not None and shipment.shipment_state == "pending" and shipment.city == "Springfield"


class TestTheReactionTable:
    """DynamoReactionRepository's conditions, as DynamoDB (moto) evaluates them."""

    def test_attendees_entries_and_coins_are_created_once_and_a_replay_overwrites_none_of_them(
        self, clean_tables
    ) -> None:
        # Given an attendee with a code, a sent entry and a shipped coin
        repository = reactions(clean_tables)
        attendee = Attendee(
            attendee_id="att_1",
            registration_id="reg_1",
            event_id="nasro-2020",
            kind="individual",
            first_name="Ana",
            last_name="Lopez",
            email="ana@example.org",
            organization="Springfield PD",
        )
        entry = OutboxEmail(registration_id="reg_1", kind=EmailKind.CONFIRMATION, attendee_id="att_1")
        shipment = coin("reg_1")
        repository.add_attendees([attendee])
        repository.set_access_code("att_1", "digest", NOW)
        repository.add_emails([entry])
        assert repository.claim_email(entry, NOW, NOW + SEND_LEASE)
        repository.finish_email(entry, OutboxStatus.SENT, message_id="msg-1")
        repository.add_shipment(shipment)
        assert repository.set_shipment_state("reg_1", ShipmentState.PENDING, ShipmentState.SHIPPED)

        # When a replayed record puts them again
        repository.add_attendees([attendee.model_copy(update={"first_name": "Other"})])
        repository.add_emails([entry])
        repository.add_shipment(shipment)

        # Then each is as it was
        stored = repository.attendee("att_1")
        assert stored is not None and (stored.first_name, stored.access_code_hash) == ("Ana", "digest")
        assert repository.email("reg_1", entry.key).status == "sent"
        assert repository.shipment("reg_1").shipment_state == "shipped"

    def test_an_entry_is_claimed_only_when_pending_or_its_lease_ran_out_and_settled_only_by_its_claimant(
        self, clean_tables
    ) -> None:
        # Given a pending entry (and another registration's)
        repository = reactions(clean_tables)
        entry = OutboxEmail(registration_id="reg_1", kind=EmailKind.CONFIRMATION, attendee_id="att_1")
        repository.add_emails([entry, OutboxEmail(registration_id="reg_2", kind=EmailKind.RECEIPT)])

        # When senders claim it: one now, one during the lease, one after it
        first = repository.claim_email(entry, NOW, NOW + SEND_LEASE)
        during = repository.claim_email(entry, NOW + timedelta(seconds=10), NOW + SEND_LEASE)
        after = repository.claim_email(entry, NOW + SEND_LEASE + timedelta(seconds=1), NOW + 2 * SEND_LEASE)

        # Then
        assert (first, during, after) == (True, False, True)
        (claimed,) = repository.emails("reg_1")
        assert claimed.status == "sending" and claimed.attempts == 2
        assert claimed.lease_until == NOW + 2 * SEND_LEASE

        # When the claimant records the send, and a stale sender then records its own outcome
        repository.finish_email(entry, OutboxStatus.SENT, message_id="msg-1")
        repository.finish_email(entry, OutboxStatus.FAILED, error="stale")

        # Then the send stands, and nobody can claim it again
        sent = repository.email("reg_1", entry.key)
        assert sent is not None and (sent.status, sent.message_id, sent.last_error) == ("sent", "msg-1", None)
        assert sent.lease_until is None and sent.sent_at is not None
        assert not repository.claim_email(entry, NOW + 3 * SEND_LEASE, NOW + 4 * SEND_LEASE)

    def test_a_code_or_a_revocation_for_an_attendee_not_there_creates_nothing(self, clean_tables) -> None:
        # Given no attendee
        repository = reactions(clean_tables)

        # When
        repository.set_access_code("att_missing", "digest", NOW)
        repository.revoke_attendee("att_missing")

        # Then
        assert repository.attendee("att_missing") is None

    def test_access_code_slots_are_taken_once_each_an_hour_and_a_replay_takes_none(self, clean_tables) -> None:
        # Given an attendee's three slots, taken by three requests
        repository, hour = reactions(clean_tables), timedelta(hours=1)

        def take(request: str, at: datetime) -> bool:
            return repository.take_access_code_slot("att_1", request, at, since=at - hour, slots=3)

        assert [take(f"acr_{n}", NOW + timedelta(minutes=n)) for n in range(3)] == [True, True, True]

        # When a fourth asks within the hour, the second's record is replayed, and a fifth asks an hour after the first
        fourth = take("acr_3", NOW + timedelta(minutes=30))
        replayed = take("acr_1", NOW + timedelta(minutes=31))
        fifth = take("acr_4", NOW + hour)

        # Then the fourth gets none, the replay its own slot again, the fifth the first's slot (its hour is over)
        assert (fourth, replayed, fifth) == (False, True, True)
        assert take("acr_5", NOW + hour) is False

    def test_requested_codes_are_written_only_over_the_list_read(self, clean_tables) -> None:
        # Given an attendee written as paid seats are (an empty list of requested codes)
        repository = reactions(clean_tables)
        repository.add_attendees([Attendee(
            attendee_id="att_1", registration_id="reg_1", event_id="nasro-2020", kind="individual",
            first_name="Ana", last_name="Lopez", email="ana@example.org", organization="Springfield PD",
        )])  # fmt: skip
        one = (RequestedCode(code_hash="digest-1", issued_at=NOW),)
        two = (*one, RequestedCode(code_hash="digest-2", issued_at=NOW + timedelta(minutes=1)))

        # When codes are written over the list read, and over a list that is no longer there
        first = repository.set_requested_codes("att_1", one, expected=())
        second = repository.set_requested_codes("att_1", two, expected=one)
        stale = repository.set_requested_codes("att_1", one, expected=())
        missing = repository.set_requested_codes("att_nobody", one, expected=())

        # Then only the writes over what is stored happen, and the codes read back
        assert (first, second, stale, missing) == (True, True, False, False)
        stored = repository.attendee("att_1")
        assert stored is not None and stored.requested_codes == two
        assert stored.code_hashes(NOW + timedelta(minutes=2)) == ["digest-1", "digest-2"]
        # and the organiser's resend ends them with the new current code
        repository.set_access_code("att_1", "digest-new", NOW, replaces_all=True)
        stored = repository.attendee("att_1")
        assert stored is not None and stored.code_hashes(NOW) == ["digest-new"]

    def test_a_coin_changes_state_only_from_the_state_expected(self, clean_tables) -> None:
        # Given a coin on the mailing list
        repository = reactions(clean_tables)
        repository.add_shipment(coin("reg_1"))

        # When
        cancelled = repository.set_shipment_state("reg_1", ShipmentState.PENDING, ShipmentState.CANCELLED)
        again = repository.set_shipment_state("reg_1", ShipmentState.PENDING, ShipmentState.CANCELLED)
        flagged = repository.set_shipment_state("reg_1", ShipmentState.SHIPPED, ShipmentState.SHIPPED_THEN_REFUNDED)
        missing = repository.set_shipment_state("reg_2", ShipmentState.PENDING, ShipmentState.CANCELLED)

        # Then
        assert (cancelled, again, flagged, missing) == (True, False, False, False)
        assert repository.shipment("reg_1").shipment_state == "cancelled"
        assert repository.shipment("reg_2") is None


@contextmanager
def ses_answers(*codes: str) -> Iterator[list[str]]:
    """SES answers the next SendEmail calls with these error codes (then normally)."""
    pending, seen = list(codes), []

    def next_code(_: dict[str, Any]) -> str | None:
        if not pending:
            return None
        seen.append(pending.pop(0))
        return seen[-1]

    with failing(aws_clients.client("sesv2"), "sesv2.SendEmail", next_code):
        yield seen


class TestEmailFaults:
    def test_a_permanent_rejection_is_recorded_not_retried(
        self, api, stripe_standin, stream, mailbox, stack, capsys
    ) -> None:
        with ses_answers("MessageRejected") as seen:
            created = register_and_pay(api, stripe_standin, individual(email="bounces@example.org"))
            drain(stripe_standin, stream)
        assert seen == ["MessageRejected"]
        assert [m for m in mailbox.refresh() if "confirmed" in m["Subject"]] == []  # the receipt went out
        registration = reactions(stack).registration(created["registration_id"])
        outbox = reactions(stack).email(created["registration_id"], f"confirmation#{registration.seats[0].attendee_id}")
        assert outbox is not None and outbox.status == "failed" and outbox.attempts == 1
        assert '"EmailRejected"' in capsys.readouterr().out


class TestShipmentsExport:
    def test_the_mailing_list_needs_an_organiser_s_token(self, api) -> None:
        token = ADMIN["authorization"].removeprefix("Bearer ")
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {token}"}):
            response = api.request("GET", "/admin/exports/shipments.csv", headers=headers)
            assert response.status == 401
            assert response.json()["code"] == "unauthorized"
            assert token not in response.body.decode()

    def test_the_mailing_list_lists_coins_to_mail_oldest_first_and_safely_for_spreadsheets(self, api, stack) -> None:
        # Given coins in every state, one whose organization starts like a formula
        repository = reactions(stack)
        for number, (state, organization) in enumerate(
            [
                (ShipmentState.PENDING, "=HYPERLINK(1)"),
                (ShipmentState.CANCELLED, "Refunded PD"),
                (ShipmentState.SHIPPED_THEN_REFUNDED, "Refunded Late PD"),
                (ShipmentState.SHIPPED, "Shipped PD"),
            ]
        ):
            repository.add_shipment(
                coin(
                    f"reg_{number}",
                    organization=organization,
                    shipment_state=state,
                    created_at=NOW + timedelta(minutes=number),
                )
            )

        # When
        response = api.request("GET", "/admin/exports/shipments.csv", headers=ADMIN)

        # Then only the coins still to mail (or mailed), oldest first, the formula defused
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.body.startswith(b"\xef\xbb\xbf")
        lines = response.body.decode("utf-8-sig").splitlines()
        assert lines[0].startswith('"registration_id","name","organization"')
        assert len(lines) == 3
        assert lines[1].startswith('"reg_0","Ana Lopez","\'=HYPERLINK(1)","1 Main St"')
        assert lines[1].endswith('"pending"')
        assert lines[2].startswith('"reg_3"') and lines[2].endswith('"shipped"')


class TestBatches:
    def record(self, sequence: str, event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None):
        from boto3.dynamodb.types import TypeSerializer

        serialize = TypeSerializer().serialize
        image = lambda values: {k: serialize(v) for k, v in values.items()}  # noqa: E731
        dynamodb: dict[str, Any] = {"SequenceNumber": sequence, "StreamViewType": "NEW_AND_OLD_IMAGES", "Keys": {}}
        if new is not None:
            dynamodb["NewImage"] = image(new)
        if old is not None:
            dynamodb["OldImage"] = image(old)
        return {"eventID": sequence, "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}

    def test_a_batch_whose_every_record_fails_is_failed_whole(self, stack) -> None:
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        from functions.stream_dispatcher.handler import lambda_handler
        from infra.apigw import LambdaContext

        poison = self.record("100", "MODIFY", {"entity": "registration", "status": "paid"}, {"entity": "registration"})
        with pytest.raises(BatchProcessingError):  # T-31: the whole batch is retried
            lambda_handler({"Records": [poison]}, LambdaContext("StreamDispatcher"))

    def test_a_poison_record_fails_alone_and_the_rest_of_the_batch_is_processed(self, stack) -> None:
        from functions.stream_dispatcher.handler import lambda_handler
        from infra.apigw import LambdaContext

        # Given a batch whose second record is malformed (a registration without its id)
        batch = {
            "Records": [
                self.record("100", "INSERT", {"entity": "attendee", "attendee_id": "att_1"}),
                self.record(
                    "200",
                    "MODIFY",
                    {"entity": "registration", "status": "paid"},
                    {"entity": "registration", "status": "pending_payment"},
                ),
                self.record("300", "REMOVE", None, {"entity": "stripe_event"}),
            ]
        }

        # When
        response = lambda_handler(batch, LambdaContext("StreamDispatcher"))

        # Then only it is reported, so the mapping retries from it (and bisects, then the DLQ)
        assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}

    def test_an_email_whose_lease_another_sender_holds_is_retried_not_sent_twice(
        self, api, stripe_standin, mailbox, stack
    ) -> None:
        from functions.stream_dispatcher.handler import lambda_handler
        from infra.apigw import LambdaContext

        # Given a paid registration whose confirmation another sender has just claimed
        created = api.request(
            "POST", "/registrations", headers=JSON, body=encoded(individual(email="lease@example.org"))
        ).json()
        stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
        repository = reactions(stack)
        seat = repository.registration(created["registration_id"]).seats[0]
        entry = OutboxEmail(
            registration_id=created["registration_id"], kind=EmailKind.CONFIRMATION, attendee_id=seat.attendee_id
        )
        repository.add_emails([entry])
        now = datetime.now(UTC)
        assert repository.claim_email(entry, now, now + SEND_LEASE)

        # When the entry's INSERT record arrives (a replay, or a second consumer)
        insert = self.record(
            "400", "INSERT", {"entity": "outbox", "email_key": entry.key, **entry.model_dump(mode="json")}
        )
        other = self.record("500", "INSERT", {"entity": "attendee", "attendee_id": seat.attendee_id})
        response = lambda_handler({"Records": [insert, other]}, LambdaContext("StreamDispatcher"))

        # Then it is reported for a later retry and nothing is sent meanwhile (the lease rules: T-37)
        assert response == {"batchItemFailures": [{"itemIdentifier": "400"}]}
        assert mailbox.refresh() == []
        assert repository.email(created["registration_id"], entry.key).status == "sending"


class TestDeadLetters:
    def test_a_record_that_fails_every_retry_lands_in_the_dlq_and_the_redrive_finishes_its_work(
        self, api, stripe_standin, stream, mailbox, stack, aws, capsys
    ) -> None:
        from functions.stream_dispatcher import redrive

        # Given SES throttling every attempt the mapping makes (1 try + 5 retries) for the confirmation and receipt
        queue_url = stack.resources["StreamDeadLetterQueue"]
        sqs = aws.client("sqs")
        with ses_answers(*["TooManyRequestsException"] * 100):
            register_and_pay(api, stripe_standin, individual(email="dlq@example.org"))
            drain(stripe_standin, stream)

        # Then the record went to the queue as Lambda sends it (metadata only), and nothing was sent
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        for message in messages:
            body = json.loads(message["Body"])
            assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
            assert body["DDBStreamBatchInfo"]["batchSize"] >= 1  # the failing record and any after it
            assert "dlq@example.org" not in message["Body"]
        assert mailbox.refresh() == []

        # When the runbook's redrive runs once SES is back
        assert redrive.main(["--queue-url", queue_url]) == 0

        # Then the confirmation and the receipt went out once each, and the queue is empty
        sent = mailbox.refresh()
        assert [m["To"].addresses[0].addr_spec for m in sent] == ["dlq@example.org"] * 2
        assert sum("confirmed" in m["Subject"] for m in sent) == 1
        assert "2 email(s) sent" in capsys.readouterr().out
        assert sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []) == []
        assert redrive.main(["--queue-url", queue_url]) == 0
        assert len(mailbox.refresh()) == 2  # running it again sends nothing more
