"""The table failing around an email's send, as moto answers a throttled write through the real adapter.

Found by the fault run (make faults): a throttled write between claiming an outbox entry and sending it left
the entry `sending` under its 90-second lease, so every retry of the record met its own lease and the record
went to the dead-letter queue with its email unsent. What the service does about each fault (the claim given
back, recording `sent` retried in place, the one duplicate a lost `sent` allows) is pinned with fakes in
tests/unit/test_reaction_service.py; here, once, the whole chain: DynamoDB's throttling code, the adapter's
mapping, the claim given back in the table, the stream record failed and retried, one email.
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


def test_a_write_throttled_before_the_send_gives_the_claim_back_and_the_retried_record_sends_one_email(
    api, stripe_standin, stream: StreamPoller, stack, aws, empty_dead_letter_queue
) -> None:
    # Given a paid registration, and the table throttling the write of its new access code's digest once
    before = len(LocalMailbox().emails())
    registration_id = pay(api, stripe_standin, "ivy.throttled@example.org")

    # When the stream is processed
    with table_throttles_update("access_code_hash", times=1) as hits:
        drain(stripe_standin, stream)

    # Then the fault happened, and still: one confirmation, its entry `sent`, nothing in the DLQ
    assert hits == ["access_code_hash"]
    assert confirmations_to("ivy.throttled@example.org", before) == 1
    (entry,) = [
        e
        for e in DynamoReactionRepository(stack.resources["MainTable"]).emails(registration_id)
        if e.kind == "confirmation"
    ]
    assert entry.status == "sent" and entry.attempts == 2  # claimed again at once: no lease to wait for
    assert dead_letters(aws, empty_dead_letter_queue) == 0
