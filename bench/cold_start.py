"""Cold-start proxy per function: the import time of its handler module in a fresh interpreter.

Median of N runs (default 11) per function, next to a bare Powertools + boto3 handler measured in the same
run (`bench/baseline_handler.py`), as a ratio; and which heavy packages each function loads at import
(stripe only where Stripe is called, the PDF library only where PDFs are made). Never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from infra.template import load_template

RESULTS = Path(__file__).parent / "results" / "cold_start.json"
HEAVY = ("stripe", "reportlab", "pypdf", "moto", "samtranslator", "requests")
_PROBE = """
import sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(elapsed, ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def handler_modules() -> dict[str, str]:
    template = load_template()
    modules = {"(baseline) Powertools + boto3": "bench.baseline_handler"}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            modules[name] = resource["Properties"]["Handler"].rpartition(".")[0]
    return modules


def measure(module: str, runs: int, environment: dict[str, str]) -> tuple[float, list[str]]:
    times, loaded = [], []
    for _ in range(runs):
        probe = _PROBE.format(module=module, heavy=HEAVY)
        answer = subprocess.run(  # noqa: S603 - our own interpreter running our own probe
            [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
        ).stdout.split()
        times.append(float(answer[0]))
        loaded = answer[1].split(",") if len(answer) > 1 else []
    return statistics.median(times), loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.cold_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args(argv)
    environment = dict(os.environ) | {
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "conference",
        "POWERTOOLS_METRICS_NAMESPACE": "Conference",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    rows = {name: measure(module, args.runs, environment) for name, module in handler_modules().items()}
    baseline = rows["(baseline) Powertools + boto3"][0]
    print(f"Cold-start proxy: handler import time, median of {args.runs} fresh interpreters")
    print(f"{'function':<32} {'import ms':>10} {'x baseline':>11}  heavy packages loaded")
    for name, (seconds, loaded) in rows.items():
        print(f"{name:<32} {seconds * 1000:>10.1f} {seconds / baseline:>10.2f}x  {', '.join(loaded) or '-'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {name: {"import_ms": s * 1000, "ratio": s / baseline, "heavy": h} for name, (s, h) in rows.items()},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
