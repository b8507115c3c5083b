"""`make fuzz`: thousands of requests generated from GET /openapi.json against a private local stack.

    python -m bench.fuzz [--examples 120] [--seed 2020]

`--examples` cases per operation, valid and invalid (schemathesis), each admin route with the organiser's token
and without it. Prints the answers by status and code, writes bench/results/fuzz.json, exits 1 on any 5xx or
any error that is not application/problem+json with a documented code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time as timer
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.faults import private_environment  # sets up a fake AWS account first
from bench.fuzz_api import fuzz
from infra.gateway import LocalGateway
from shared.clock import conference_clock
from shared.conference import load_conference
from shared.observability import logger

RESULTS = Path(__file__).parent / "results" / "fuzz.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args(argv)
    logger.setLevel("ERROR")
    conference = load_conference()
    with private_environment() as environment:
        # Registration is open: the generated registrations go as far as Stripe Checkout.
        conference_clock.travel_to(
            datetime.combine(conference.starts_on - timedelta(days=14), datetime.min.time(), conference.zone)
        )
        started = timer.monotonic()
        report = fuzz(
            LocalGateway(environment.api, conference.zone),
            admin_token=environment.admin_token,
            examples=args.examples,
            random_seed=args.seed,
        )
        seconds = timer.monotonic() - started
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "examples_per_operation_and_mode": args.examples,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        **report.as_json(),
    }
    print(f"{report.requests} requests in {seconds:.0f} s, {result['server_errors']} server errors (5xx)")
    print("by status: " + ", ".join(f"{s}: {n}" for s, n in result["by_status"].items()))
    print("error codes: " + ", ".join(f"{c}: {n}" for c, n in result["codes"].items()))
    for violation in report.violations[:30]:
        print(f"VIOLATION {violation}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
