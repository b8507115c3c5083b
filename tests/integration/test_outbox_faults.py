"""The table failing around an email's send: the claim is given back, the outcome recorded, nothing sent twice.

Found by the fault run (make faults): a throttled write between claiming an outbox entry and sending it left
the entry `sending` under its 90-second lease, so every retry of the record met its own lease and the record
went to the dead-letter queue with its email unsent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from infra.apigw import LocalHttpApi
from infra.local_aws import DeployedStack
from infra.local_mailbox import LocalMailbox
from infra.samples import JSON, encoded, individual
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.adapters import aws as aws_clients
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from tests.integration.conftest import drain
from tests.support.aws_faults import failing


@contextmanager
def table_throttles_update(marker: str, times: int) -> Iterator[list[str]]:
    """DynamoDB answers the next `times` UpdateItem calls whose expression mentions `marker` with a throttling
    error, as after the SDK's own retries."""
    hits: list[str] = []

    def throttled(params: dict[str, Any]) -> str | None:
        if len(hits) >= times or marker not in json.loads(params["body"]).get("UpdateExpression", ""):
            return None
        hits.append(marker)
        return "ProvisionedThroughputExceededException"

    with failing(aws_clients.dynamodb(), "dynamodb.UpdateItem", throttled):
        yield hits


@pytest.fixture
def empty_dead_letter_queue(clean_tables: DeployedStack) -> str:
    return str(clean_tables.resources["StreamDeadLetterQueue"])  # emptied with the tables


def dead_letters(aws, url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def pay(api: LocalHttpApi, stripe_standin: StripeStandIn, email: str) -> str:
    created = api.request("POST", "/registrations", headers=JSON, body=encoded(individual(email=email))).json()
    stripe_standin.pay(created["checkout_url"].rsplit("/", 1)[-1])
    return str(created["registration_id"])


def confirmations_to(address: str, before: int) -> int:
    return sum(address in e.to and "confirmed" in e.subject for e in LocalMailbox().emails()[before:])


@pytest.mark.parametrize(
    ("marker", "when"),
    [
        ("access_code_hash", "storing the new access code's digest, before the send"),
        ("message_id", "recording `sent`, after SES accepted the message"),
    ],
)
def test_a_throttled_table_around_the_send_still_sends_one_confirmation(
    api, stripe_standin, stream: StreamPoller, stack, aws, empty_dead_letter_queue, marker, when
) -> None:
    # Given a paid registration, and the table throttling one write while its confirmation is sent
    before = len(LocalMailbox().emails())
    registration_id = pay(api, stripe_standin, "ivy.throttled@example.org")

    # When the stream is processed
    with table_throttles_update(marker, times=1) as hits:
        drain(stripe_standin, stream)

    # Then the fault happened, and still: one confirmation, its entry `sent`, nothing in the DLQ
    assert hits == [marker], when
    assert confirmations_to("ivy.throttled@example.org", before) == 1
    (entry,) = [
        e
        for e in DynamoReactionRepository(stack.resources["MainTable"]).emails(registration_id)
        if e.kind == "confirmation"
    ]
    assert entry.status == "sent"
    assert dead_letters(aws, empty_dead_letter_queue) == 0


def test_a_table_throttled_through_every_retry_of_the_record_leaves_the_email_pending_for_the_redrive(
    api, stripe_standin, stream: StreamPoller, stack, aws, empty_dead_letter_queue
) -> None:
    # Given a paid registration whose access-code write fails on every delivery of the record
    before = len(LocalMailbox().emails())
    registration_id = pay(api, stripe_standin, "jon.outage@example.org")

    # When the stream is processed: the record exhausts its retries
    with table_throttles_update("access_code_hash", times=1_000):
        drain(stripe_standin, stream)

    # Then nothing went out, the entry is back to `pending` (no lease to wait for), the batch is in the DLQ...
    assert confirmations_to("jon.outage@example.org", before) == 0
    repository = DynamoReactionRepository(stack.resources["MainTable"])
    (entry,) = [e for e in repository.emails(registration_id) if e.kind == "confirmation"]
    assert entry.status == "pending"
    assert dead_letters(aws, empty_dead_letter_queue) == 1

    # ...and the runbook's redrive sends it at once, once
    from shared.composition.reactions import reaction_service
    from shared.settings import ReactionSettings

    assert reaction_service(ReactionSettings.from_environment()).repair()["emails sent"] == 1
    assert confirmations_to("jon.outage@example.org", before) == 1
