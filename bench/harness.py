"""The functions in this process against a private moto server and the Stripe stand-in, as the integration
tests run them (tests/integration/conftest.py): the template deployed into moto, each handler imported once,
called with API Gateway v2 events built in-process. The stream's mapping is played on demand (`drain`), and
webhooks reach the functions over a loopback HTTP server, as Stripe's would."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

# Before anything creates a boto3 client: a fake account in one region, Powertools quiet.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_CLIENT_READ_TIMEOUT_SECONDS": "60",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "false",  # flushed on every invocation, as in Lambda (run them in `quiet()`)
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)

from infra.template import static_global_environment, translated_template  # noqa: E402

# The template's static Globals (service name, metrics namespace...), as Lambda sets them before a function's
# modules are imported: so import this module before anything of shared/ (the bench modules do, first).
os.environ.update(static_global_environment())

import boto3  # noqa: E402 - after the environment above

from infra.apigw import LocalHttpApi, apply_environment, load_handler  # noqa: E402
from infra.gateway import LocalGateway  # noqa: E402
from infra.local_aws import DeployedStack, OperatorValues, deploy, provide_operator_values  # noqa: E402
from infra.moto_server import LockedMotoServer  # noqa: E402
from infra.serving import BackgroundServer  # noqa: E402
from infra.stream_poller import StreamPoller, stream_mappings  # noqa: E402
from infra.stripe_standin import StripeStandIn, StripeStandInServer  # noqa: E402
from shared.conference import load_conference  # noqa: E402
from shared.observability import logger  # noqa: E402

# moto's CloudFormation warns about each resource it skips (the SES configuration set); the functions log
# every refused request at INFO and Powertools warns about empty metrics: none of it is the benchmark's.
warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
logging.getLogger("moto").setLevel(logging.ERROR)
logger.setLevel("WARNING")

STRIPE_SECRET_KEY = "sk_test_local"
STRIPE_WEBHOOK_SECRET = "whsec_local_development"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions print their metrics (EMF lines) on stdout, as in Lambda: kept out of the report."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@dataclass
class Harness:
    api: LocalHttpApi
    stack: DeployedStack
    standin: StripeStandIn
    pollers: list[StreamPoller]
    _servers: list[BackgroundServer | StripeStandInServer]

    @classmethod
    def start(cls) -> Harness:
        moto = LockedMotoServer().start()
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        standin = StripeStandIn(api_key=STRIPE_SECRET_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET)
        stripe_server = StripeStandInServer(standin).start()
        session = boto3.session.Session()
        stack = deploy(session, {"StripeApiBase": stripe_server.url})
        keys = json.dumps({"current": "1", "keys": {"1": secrets.token_hex(32)}})
        values = OperatorValues(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, "bench-admin-token", keys)
        provide_operator_values(session, stack, values)
        apply_environment(stack)
        api = LocalHttpApi(stack)
        api.preload()
        gateway = BackgroundServer(LocalGateway(LocalHttpApi(stack), load_conference().zone), name="api").start()
        standin.webhook_url = f"{gateway.url}/webhooks/stripe"
        pollers = []
        for mapping in stream_mappings(translated_template(), stack.resources, session):
            function = stack.functions[mapping.function_logical_id]
            pollers.append(StreamPoller(session, mapping, load_handler(function), function_name=function.name))
        return cls(api, stack, standin, pollers, [gateway, stripe_server, moto])

    def drain(self) -> None:
        """Until nothing is pending: webhooks, then every stream record (and what it causes)."""
        for _ in range(50):
            self.standin.wait_idle()
            if not any(poller.has_pending() for poller in self.pollers):
                return
            for poller in self.pollers:
                poller.poll_once()
        raise RuntimeError("the stream is still busy after 50 rounds")

    def stop(self) -> None:
        self.standin.close()
        for server in self._servers:
            server.stop()

    def __enter__(self) -> Harness:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
