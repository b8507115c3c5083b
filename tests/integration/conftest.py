"""Integration fixtures: one local stack per test process (infra/local_stack.py, as `make run` builds it, with
nothing running by itself), emptied before each test that uses it: moto with the template deployed, the Stripe
stand-in, and the HTTP API of the deployed stack served in-process exactly as API Gateway would call it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import boto3
import pytest

from infra.apigw import LocalHttpApi
from infra.local_aws import DeployedStack
from infra.local_stack import LocalSettings, LocalStack
from infra.local_stack import drain as drain_until_idle
from infra.stream_poller import StreamPoller
from infra.stripe_standin import StripeStandIn
from shared.clock import conference_clock

STRIPE_SECRET_KEY = "sk_test_local"
STRIPE_WEBHOOK_SECRET = "whsec_local_development"
CERTIFICATE_KEYS = json.dumps({"current": "2", "keys": {"1": "11" * 32, "2": "22" * 32}})
# The admin organiser's `Authorization` header: a Cognito access token of the local pool's admin@example.org,
# filled in once the stack is up (tokens last an hour; a test session, minutes). `organiser(group)` for others.
ADMIN: dict[str, str] = {}
# Two weeks before the conference, where the local stack starts too.
BEFORE_THE_CONFERENCE = datetime.fromisoformat("2020-07-22T09:00:00-05:00")
_RUNNING: list[LocalStack] = []  # the session's stack, for drain() (its queue pollers)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    settings = LocalSettings(
        stripe_secret_key=STRIPE_SECRET_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        certificate_keys=CERTIFICATE_KEYS,
    )
    with LocalStack(settings).start(background=False).serve_in_background() as stack:
        ADMIN["authorization"] = f"Bearer {stack.organiser_token('admin')}"
        _RUNNING.append(stack)
        yield stack
        _RUNNING.remove(stack)


@pytest.fixture
def organiser(local_stack: LocalStack) -> Callable[[str], dict[str, str]]:
    """The `Authorization` header of the local pool's organiser in `group` (viewer, support, finance, admin)."""
    return lambda group: {"authorization": f"Bearer {local_stack.organiser_token(group)}"}


@pytest.fixture(scope="session")
def stripe_standin(local_stack: LocalStack) -> StripeStandIn:
    return local_stack.standin


@pytest.fixture(scope="session")
def stripe_url(stripe_standin: StripeStandIn) -> str:
    return stripe_standin.public_url


@pytest.fixture(scope="session")
def aws(local_stack: LocalStack) -> boto3.session.Session:
    return local_stack.session


@pytest.fixture(scope="session")
def stack(local_stack: LocalStack) -> DeployedStack:
    return local_stack.stack


@pytest.fixture(scope="session")
def api_url(local_stack: LocalStack) -> str:
    """The HTTP API on a loopback port, where the Stripe stand-in delivers its webhooks."""
    return local_stack.api_url


@pytest.fixture
def clean_tables(local_stack: LocalStack) -> DeployedStack:
    """Each test starts from an empty stack: no items, stream records, emails, queued messages (the stream's
    dead-letter queue included) or Stripe objects; nothing of an earlier test can leak into it."""
    local_stack.reset()
    return local_stack.stack


@pytest.fixture
def conference_time() -> Iterator[None]:
    conference_clock.travel_to(BEFORE_THE_CONFERENCE)
    yield
    conference_clock.reset()


@pytest.fixture
def api(clean_tables: DeployedStack, conference_time: None, local_stack: LocalStack) -> LocalHttpApi:
    return local_stack.api


@pytest.fixture
def stream_poller(clean_tables: DeployedStack, local_stack: LocalStack) -> Callable[[str], StreamPoller]:
    """Pollers for the template's stream event source mapping, starting where asked."""
    return local_stack.poller


@pytest.fixture
def stream(clean_tables: DeployedStack, local_stack: LocalStack) -> StreamPoller:
    """The mapping, played on demand by `drain` (the stream is empty when the test starts)."""
    (poller,) = local_stack.pollers
    return poller


def drain(stripe_standin: StripeStandIn, *pollers: StreamPoller) -> None:
    """Until nothing is pending: background webhooks, then every stream record and every task of the bulk jobs'
    queue (and what they cause)."""
    queues = _RUNNING[0].queue_pollers if _RUNNING else []
    assert drain_until_idle(stripe_standin, pollers, queues=queues), "still busy after 60 s"
