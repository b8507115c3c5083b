"""Integration fixtures: a locked moto server with the template deployed, the Stripe stand-in, and the
HTTP API of the deployed stack served in-process exactly as API Gateway would call it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import boto3
import pytest

from infra.apigw import LocalHttpApi, apply_environment, load_handler
from infra.gateway import LocalGateway
from infra.local_aws import DeployedStack, OperatorValues, deploy, provide_operator_values
from infra.moto_server import LockedMotoServer
from infra.serving import BackgroundServer
from infra.stream_poller import StreamPoller, stream_mappings
from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.template import translated_template
from shared.clock import conference_clock
from shared.conference import load_conference
from tests.support.tables import wipe_table

STRIPE_SECRET_KEY = "sk_test_local"
STRIPE_WEBHOOK_SECRET = "whsec_local_development"
ADMIN_TOKEN = "test-admin-token-0123456789"
CERTIFICATE_KEYS = json.dumps({"current": "2", "keys": {"1": "11" * 32, "2": "22" * 32}})
# Two weeks before the conference, where the local stack starts too.
BEFORE_THE_CONFERENCE = datetime.fromisoformat("2020-07-22T09:00:00-05:00")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LockedMotoServer]:
    with LockedMotoServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        yield server


@pytest.fixture(scope="session")
def stripe_standin() -> Iterator[StripeStandIn]:
    standin = StripeStandIn(api_key=STRIPE_SECRET_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET)
    server = StripeStandInServer(standin).start()
    try:
        yield standin
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stripe_url(stripe_standin: StripeStandIn) -> str:
    return stripe_standin.public_url


@pytest.fixture(scope="session")
def aws(moto_server: LockedMotoServer) -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1")


@pytest.fixture(scope="session")
def stack(aws: boto3.session.Session, stripe_url: str) -> DeployedStack:
    deployed = deploy(aws, {"StripeApiBase": stripe_url})
    values = OperatorValues(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, ADMIN_TOKEN, CERTIFICATE_KEYS)
    provide_operator_values(aws, deployed, values)
    apply_environment(deployed)
    return deployed


@pytest.fixture(scope="session")
def api_url(stack: DeployedStack, stripe_standin: StripeStandIn) -> Iterator[str]:
    """The HTTP API on a loopback port, where the Stripe stand-in delivers its webhooks."""
    with BackgroundServer(LocalGateway(LocalHttpApi(stack), load_conference().zone), name="api") as server:
        stripe_standin.webhook_url = f"{server.url}/webhooks/stripe"
        yield server.url


@pytest.fixture
def clean_tables(stack: DeployedStack, aws: boto3.session.Session) -> DeployedStack:
    """Each test starts from an empty stack: no items, and nothing in the stream's dead-letter queue."""
    for table in ("MainTable", "IdempotencyTable"):
        wipe_table(aws.client("dynamodb"), stack.resources[table])
    sqs, queue = aws.client("sqs"), stack.resources["StreamDeadLetterQueue"]
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:  # (PurgeQueue is allowed once a minute)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return stack


@pytest.fixture
def conference_time() -> Iterator[None]:
    conference_clock.travel_to(BEFORE_THE_CONFERENCE)
    yield
    conference_clock.reset()


@pytest.fixture
def api(clean_tables: DeployedStack, conference_time: None, api_url: str) -> LocalHttpApi:
    return LocalHttpApi(clean_tables)


@pytest.fixture
def stream_poller(clean_tables: DeployedStack, aws: boto3.session.Session) -> Callable[[str], StreamPoller]:
    """Pollers for the template's stream event source mapping, starting where asked."""
    (mapping,) = stream_mappings(translated_template(), clean_tables.resources, aws)
    function = clean_tables.functions[mapping.function_logical_id]

    def poller(starting_position: str) -> StreamPoller:
        return StreamPoller(
            aws,
            replace(mapping, starting_position=starting_position),
            load_handler(function),
            function_name=function.name,
        )

    return poller


@pytest.fixture
def stream(stream_poller: Callable[[str], StreamPoller]) -> StreamPoller:
    """The mapping played from now on (earlier tests' records excluded)."""
    return stream_poller("LATEST")


def drain(stripe_standin: StripeStandIn, *pollers: StreamPoller) -> None:
    """Until nothing is pending: background webhooks, then every stream record (and what it causes)."""
    for _ in range(50):
        assert stripe_standin.wait_idle()
        if not any(poller.has_pending() for poller in pollers):
            return
        for poller in pollers:
            poller.poll_once()
    raise AssertionError("still busy after 50 rounds")
