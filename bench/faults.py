"""`make faults`: the fault run against a private local stack (moto, the Stripe stand-in, the API in-process).

    python -m bench.faults [--attendees 36] [--seed 20200805]

Registers, pays, confirms, logs in, attends and certifies a few dozen attendees while SES, DynamoDB and
Stripe fail, webhooks arrive twice, late and out of order and poison records sit in the stream; then checks
that nothing was lost or done twice (bench/fault_run.py). Prints a table, writes bench/results/faults.json,
exits 1 on any violation.
"""

from __future__ import annotations

from infra.fake_account import use_fake_account

# Before Powertools is imported: the fake account (as the tests), metrics off (they would bury the table).
use_fake_account(POWERTOOLS_METRICS_DISABLED="true")

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.fault_run import Environment, FaultRun, table  # noqa: E402
from infra.local_stack import LocalSettings, LocalStack  # noqa: E402
from shared.observability import logger  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "faults.json"
CERTIFICATE_KEYS = json.dumps({"current": "1", "keys": {"1": "33" * 32}})


@contextmanager
def private_environment() -> Iterator[Environment]:
    settings = LocalSettings(certificate_keys=CERTIFICATE_KEYS)
    with LocalStack(settings).start(background=False).serve_in_background() as local:
        (poller,) = local.pollers
        token = local.organiser_token("admin")
        yield Environment(local.stack, local.api, local.standin, poller, local.session, token, local.queue_pollers)


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
