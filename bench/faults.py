"""`make faults`: the fault run against a private local stack (moto, the Stripe stand-in, the API in-process).

    python -m bench.faults [--attendees 36] [--seed 20200805]

Registers, pays, confirms, logs in, attends and certifies a few dozen attendees while SES, DynamoDB and
Stripe fail, webhooks arrive twice, late and out of order and poison records sit in the stream; then checks
that nothing was lost or done twice (bench/fault_run.py). Prints a table, writes bench/results/faults.json,
exits 1 on any violation.
"""

from __future__ import annotations

import os

# Before boto3 or Powertools are imported: a fake account in one region, moto the only endpoint (as the tests).
os.environ.update(
    AWS_ACCESS_KEY_ID="local",
    AWS_SECRET_ACCESS_KEY="local",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    AWS_CLIENT_READ_TIMEOUT_SECONDS="60",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_DISABLED="true",
)
# The template's static Globals, as Lambda sets them before any module is imported (Powertools reads them then).
from infra.template import static_global_environment

os.environ.update(static_global_environment())

import argparse
import json
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3

from bench.fault_run import Environment, FaultRun, table
from infra.apigw import LocalHttpApi, apply_environment, load_handler
from infra.local_aws import OperatorValues, deploy, provide_operator_values
from infra.moto_server import LockedMotoServer
from infra.stream_poller import StreamPoller, stream_mappings
from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.template import translated_template
from shared.observability import logger

RESULTS = Path(__file__).parent / "results" / "faults.json"
STRIPE_SECRET_KEY = "sk_test_local"
STRIPE_WEBHOOK_SECRET = "whsec_local_development"
ADMIN_TOKEN = "fault-run-admin-token"
CERTIFICATE_KEYS = json.dumps({"current": "1", "keys": {"1": "33" * 32}})


@contextmanager
def private_environment() -> Iterator[Environment]:
    with LockedMotoServer() as moto:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        standin = StripeStandIn(api_key=STRIPE_SECRET_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET)
        stripe_server = StripeStandInServer(standin).start()
        try:
            session = boto3.session.Session(region_name="us-east-1")
            stack = deploy(session, {"StripeApiBase": standin.public_url})
            values = OperatorValues(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, ADMIN_TOKEN, CERTIFICATE_KEYS)
            provide_operator_values(session, stack, values)
            apply_environment(stack)
            (mapping,) = stream_mappings(translated_template(), stack.resources, session)
            function = stack.functions[mapping.function_logical_id]
            poller = StreamPoller(
                session,
                replace(mapping, starting_position="TRIM_HORIZON"),
                load_handler(function),
                function_name=function.name,
            )
            yield Environment(stack, LocalHttpApi(stack), standin, poller, session, ADMIN_TOKEN)
        finally:
            standin.close()
            stripe_server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make faults", description=__doc__)
    parser.add_argument("--attendees", type=int, default=36)
    parser.add_argument("--seed", type=int, default=20200805)
    args = parser.parse_args(argv)
    logger.setLevel("ERROR")  # the functions' request logs would bury the table
    with private_environment() as environment:
        report = FaultRun(environment, attendees=args.attendees, seed=args.seed).run()
    print(table(report))
    RESULTS.parent.mkdir(exist_ok=True)
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        **report.as_json(),
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
