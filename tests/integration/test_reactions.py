"""What a registrant experiences after paying, driven by the table's stream, exactly once per change."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from infra.apigw import LocalHttpApi
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, group, individual
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.access import access_code_matches
from shared.adapters import aws as aws_clients
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from tests.integration.conftest import ADMIN_TOKEN, drain
from tests.support.aws_faults import failing
from tests.support.stripe_events import refund_at_stripe as refund


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


class TestPaidSeats:
    def test_an_individual_gets_a_confirmation_with_a_working_code_and_a_coin(
        self, api, stripe_standin, stream: StreamPoller, mailbox, stack
    ) -> None:
        # Given
        created = register_and_pay(api, stripe_standin, individual(email="ana.lopez@example.org"))

        # When the stream is processed
        drain(stripe_standin, stream)

        # Then one confirmation, whose code is the one stored (as a digest only)
        (email,) = mailbox.refresh()
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

    def test_a_group_of_three_gets_three_distinct_codes_and_the_purchaser_a_receipt(
        self, api, stripe_standin, stream, mailbox, stack
    ) -> None:
        # Given
        people = ["avery@example.org", "blake@example.org", "casey@example.org"]
        created = register_and_pay(api, stripe_standin, group(people, purchaser_email="chief@example.org"))

        # When
        drain(stripe_standin, stream)

        # Then
        sent = mailbox.refresh()
        confirmations = [m for m in sent if "confirmed" in m["Subject"]]
        receipts = [m for m in sent if "confirmed" not in m["Subject"]]
        assert sorted(m["To"].addresses[0].addr_spec for m in confirmations) == people
        assert len({access_code_in(m) for m in confirmations}) == 3
        (receipt,) = receipts
        assert receipt["To"].addresses[0].addr_spec == "chief@example.org"
        assert all(person in text_of(receipt) for person in people)
        assert reactions(stack).shipment(created["registration_id"]) is None  # no coin for a group

    def test_replaying_every_record_and_webhook_sends_nothing_new(
        self, api, stripe_standin, stream, stream_poller, mailbox, stack
    ) -> None:
        # Given a paid group and a paid individual, all reactions done
        created = register_and_pay(api, stripe_standin, group(["a@example.org", "b@example.org"]))
        register_and_pay(api, stripe_standin, individual(email="solo@example.org"))
        drain(stripe_standin, stream)
        before = len(mailbox.refresh())

        # When every webhook is delivered again and the stream is read again from its start
        for event in requests.get(
            f"{stripe_standin.public_url}/v1/events", params={"limit": 100}, auth=("sk_test_local", ""), timeout=5
        ).json()["data"]:
            stripe_standin.resend(event["id"])
        drain(stripe_standin, stream_poller("TRIM_HORIZON"))

        # Then
        assert len(mailbox.refresh()) == before == 4
        assert reactions(stack).registration(created["registration_id"]).status == "paid"


class TestRefundsAndDisputes:
    def test_a_refund_revokes_access_cancels_the_coin_and_sends_one_notice(
        self, api, stripe_standin, stream, mailbox, stack
    ) -> None:
        # Given a paid individual, confirmed
        created = register_and_pay(api, stripe_standin, individual(email="eve@example.org"))
        drain(stripe_standin, stream)

        # When refunded (as from Stripe's dashboard)
        refund(stripe_standin, created["checkout_url"].rsplit("/", 1)[-1])
        drain(stripe_standin, stream)

        # Then
        sent = mailbox.refresh()
        notices = [m for m in sent if "refund" in m["Subject"].lower()]
        assert len(notices) == 1 and len(sent) == 2
        registration = reactions(stack).registration(created["registration_id"])
        attendee = reactions(stack).attendee(registration.seats[0].attendee_id)
        assert attendee is not None and attendee.status == "revoked"
        assert reactions(stack).shipment(created["registration_id"]).shipment_state == "cancelled"

    def test_a_refund_before_the_confirmation_went_out_sends_only_the_notice(
        self, api, stripe_standin, stream, mailbox, stack
    ) -> None:
        # Given paid then refunded before the stream was processed
        created = register_and_pay(api, stripe_standin, individual(email="quick@example.org"))
        refund(stripe_standin, created["checkout_url"].rsplit("/", 1)[-1])
        assert stripe_standin.wait_idle()

        # When
        drain(stripe_standin, stream)

        # Then no confirmation or coin; one refund notice
        subjects = [m["Subject"] for m in mailbox.refresh()]
        assert len(subjects) == 1 and "refund" in subjects[0].lower()
        assert reactions(stack).shipment(created["registration_id"]) is None

    def test_a_dispute_keeps_access_and_sends_nothing(self, api, stripe_standin, stream, mailbox, stack) -> None:
        created = register_and_pay(api, stripe_standin, individual(email="fay@example.org"))
        drain(stripe_standin, stream)
        stripe_standin.dispute(created["checkout_url"].rsplit("/", 1)[-1])
        drain(stripe_standin, stream)
        assert len(mailbox.refresh()) == 1
        registration = reactions(stack).registration(created["registration_id"])
        assert registration.status == "disputed"
        assert reactions(stack).attendee(registration.seats[0].attendee_id).status == "active"


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
    def test_throttling_on_the_first_try_still_ends_with_exactly_one_email(
        self, api, stripe_standin, stream, mailbox, stack
    ) -> None:
        # Given SES throttles three sends in a row (each fails the stream record, which is retried)
        with ses_answers(*["TooManyRequestsException"] * 3) as seen:
            created = register_and_pay(api, stripe_standin, individual(email="throttled@example.org"))
            drain(stripe_standin, stream)

        # Then the record was retried until one email went out, its outbox entry claimed once per try
        assert seen == ["TooManyRequestsException"] * 3
        assert len(mailbox.refresh()) == 1
        registration = reactions(stack).registration(created["registration_id"])
        outbox = reactions(stack).email(created["registration_id"], f"confirmation#{registration.seats[0].attendee_id}")
        assert outbox is not None and outbox.status == "sent" and outbox.attempts == 4

    def test_a_permanent_rejection_is_recorded_not_retried(
        self, api, stripe_standin, stream, mailbox, stack, capsys
    ) -> None:
        with ses_answers("MessageRejected") as seen:
            created = register_and_pay(api, stripe_standin, individual(email="bounces@example.org"))
            drain(stripe_standin, stream)
        assert seen == ["MessageRejected"]
        assert mailbox.refresh() == []
        registration = reactions(stack).registration(created["registration_id"])
        outbox = reactions(stack).email(created["registration_id"], f"confirmation#{registration.seats[0].attendee_id}")
        assert outbox is not None and outbox.status == "failed" and outbox.attempts == 1
        assert '"EmailRejected"' in capsys.readouterr().out


class TestNoPersonalDataInLogs:
    def test_a_paid_flow_logs_ids_but_no_names_emails_codes_or_addresses(
        self, api, stripe_standin, stream, mailbox, caplog, capsys
    ) -> None:
        register_and_pay(api, stripe_standin, individual(email="private.person@example.org", first_name="Zanzibar"))
        drain(stripe_standin, stream)
        code = access_code_in(mailbox.refresh()[0])
        logged = "\n".join(str(record.__dict__) for record in caplog.records) + capsys.readouterr().out
        assert "reacted" in logged
        for personal in ("private.person", "Zanzibar", "Lopez", "1 Main St", "62701", code):
            assert personal not in logged


class TestShipmentsExport:
    def test_the_mailing_list_needs_the_admin_token(self, api) -> None:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {ADMIN_TOKEN}"}):
            response = api.request("GET", "/admin/exports/shipments.csv", headers=headers)
            assert response.status == 401
            assert response.json()["code"] == "unauthorized"
            assert ADMIN_TOKEN not in response.body.decode()

    def test_paid_individuals_not_refunded_are_listed_safely_for_spreadsheets(
        self, api, stripe_standin, stream
    ) -> None:
        # Given one paid individual whose organization starts like a formula, one refunded, one group
        register_and_pay(api, stripe_standin, individual(email="kept@example.org", organization="=HYPERLINK(1)"))
        refunded = register_and_pay(api, stripe_standin, individual(email="gone@example.org", last_name="Gone"))
        register_and_pay(api, stripe_standin, group(["g1@example.org"]))
        drain(stripe_standin, stream)
        refund(stripe_standin, refunded["checkout_url"].rsplit("/", 1)[-1])
        drain(stripe_standin, stream)

        # When
        response = api.request(
            "GET", "/admin/exports/shipments.csv", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )

        # Then
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.body.startswith(b"\xef\xbb\xbf")
        lines = response.body.decode("utf-8-sig").splitlines()
        assert lines[0].startswith('"registration_id","name","organization"')
        assert len(lines) == 2
        assert '"Ana Lopez","\'=HYPERLINK(1)","1 Main St"' in lines[1]
        assert lines[1].endswith('"pending"')


def test_the_email_parses_as_one_multipart_message(api, stripe_standin, stream, mailbox) -> None:
    register_and_pay(api, stripe_standin, individual(first_name="Łukasz", last_name="Nguyễn"))
    drain(stripe_standin, stream)
    (email,) = mailbox.refresh()
    reparsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert reparsed["To"].addresses[0].display_name == "Łukasz Nguyễn"
    assert len(reparsed.get_all("To") or []) == 1 and reparsed["Bcc"] is None
    assert {part.get_content_type() for part in reparsed.walk()} >= {"text/plain", "text/html"}


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
        from datetime import UTC, datetime, timedelta

        from functions.stream_dispatcher.handler import lambda_handler
        from infra.apigw import LambdaContext
        from shared.reactions.models import EmailKind, OutboxEmail

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
        assert repository.claim_email(entry, now, now + timedelta(seconds=90))

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

        # Given SES throttling every attempt the mapping makes (1 try + 5 retries) for one confirmation
        queue_url = stack.resources["StreamDeadLetterQueue"]
        sqs = aws.client("sqs")
        with ses_answers(*["TooManyRequestsException"] * 6):
            register_and_pay(api, stripe_standin, individual(email="dlq@example.org"))
            drain(stripe_standin, stream)

        # Then the record went to the queue as Lambda sends it (metadata only), and nothing was sent
        (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        body = json.loads(message["Body"])
        assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert body["DDBStreamBatchInfo"]["batchSize"] >= 1  # the failing record and any after it
        assert "dlq@example.org" not in message["Body"]
        assert mailbox.refresh() == []

        # When the runbook's redrive runs once SES is back
        assert redrive.main(["--queue-url", queue_url]) == 0

        # Then the confirmation went out once, and the queue is empty
        assert [m["To"].addresses[0].addr_spec for m in mailbox.refresh()] == ["dlq@example.org"]
        assert "1 email(s) sent" in capsys.readouterr().out
        assert sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []) == []
        assert redrive.main(["--queue-url", queue_url]) == 0
        assert len(mailbox.refresh()) == 1  # running it again sends nothing more
