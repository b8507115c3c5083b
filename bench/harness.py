"""The functions in this process against a private local stack (infra/local_stack.py, as the integration tests
run it): the template deployed into moto, each handler imported once, called with API Gateway v2 events built
in-process. The stream's mapping is played on demand (`settle`), and webhooks reach the functions over a loopback
HTTP server, as Stripe's would. Import this module before anything of shared/ (the bench modules do, first)."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

from infra.fake_account import use_fake_account

# Metrics are flushed on every invocation, as in Lambda (run the functions in `quiet()`); logs only from WARNING.
use_fake_account(POWERTOOLS_METRICS_DISABLED="false", POWERTOOLS_LOG_LEVEL="WARNING")

from infra.local_stack import LocalStack  # noqa: E402 - after the environment above
from shared.observability import logger  # noqa: E402

# moto's CloudFormation warns about each resource it skips (the SES configuration set); the functions log
# every refused request at INFO and Powertools warns about empty metrics: none of it is the benchmark's.
warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
logging.getLogger("moto").setLevel(logging.ERROR)
logger.setLevel("WARNING")


def private_stack() -> LocalStack:
    """A local stack on free ports with nothing running by itself; `with private_stack() as stack:`."""
    return LocalStack().start(background=False).serve_in_background()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions print their metrics (EMF lines) on stdout, as in Lambda: kept out of the report."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
