"""Exact external calls per operation, against their budgets (bench/call_budgets.py): AWS API calls counted
where botocore makes them, Stripe API requests where the Stripe stand-in receives them, for each operation run
by the functions in this process against moto (bench/harness.py).

Counts are exact and repeatable (unlike times): a change that adds a call shows up here, and exceeds its budget.
`python -m bench.call_counts` prints them and exits 1 when a budget is exceeded; `make bench` reports them in its
one table (bench/report.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import bench.harness  # noqa: F401 - first: the functions' environment, before any of their modules loads
from bench.call_budgets import BUDGETS, counting_calls, over_budget, run_operations
from bench.harness import private_stack, quiet
from infra.local_stack import LocalStack

RESULTS = Path(__file__).parent / "results" / "call_counts.json"


def measure(harness: LocalStack) -> dict[str, Any]:
    with counting_calls():
        counted = run_operations(harness.api, harness.standin, harness.settle)
    return {
        name: calls.as_json()
        | {"budget": vars(BUDGETS[name]) if name in BUDGETS else None, "over_budget": over_budget(name, calls)}
        for name, calls in counted.items()
    }


def main() -> int:
    with private_stack() as harness, quiet():
        results = measure(harness)
    print("Exact external calls per operation (functions in-process against moto and the Stripe stand-in)")
    for name, result in results.items():
        calls = ", ".join(f"{op} x{n}" for op, n in result["aws"].items()) or "none"
        print(f"  {name:<58} {result['status']}  DynamoDB {result['dynamodb']:>2}  Stripe {len(result['stripe'])}")
        print(f"      {calls}" + (f"; Stripe: {', '.join(result['stripe'])}" if result["stripe"] else ""))
        for problem in result["over_budget"]:
            print(f"      OVER BUDGET: {problem}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 1 if any(result["over_budget"] for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
