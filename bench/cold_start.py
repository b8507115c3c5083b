"""Cold-start proxy per function: the CPU time of importing its handler module in a fresh interpreter.

Median of N rounds (default 11), each importing every handler once (in a rotating order), next to a bare
Powertools + boto3 handler measured in the same rounds (`bench/baseline_handler.py`), as a ratio; and which
heavy packages each function loads at import (stripe only where Stripe is called, the PDF library only where
PDFs are made). CPU time rather than wall time: an import is CPU work, and on a shared machine wall time
mostly measures the neighbours (Lambda's init has its CPU to itself). Never asserted in tests.
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
start = time.process_time()
import {module}
elapsed = time.process_time() - start
print(elapsed, ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def handler_modules() -> dict[str, str]:
    template = load_template()
    modules = {"(baseline) Powertools + boto3": "bench.baseline_handler"}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            modules[name] = resource["Properties"]["Handler"].rpartition(".")[0]
    return modules


def _probe(module: str, environment: dict[str, str]) -> tuple[float, list[str]]:
    answer = subprocess.run(  # noqa: S603 - our own interpreter running our own probe
        [sys.executable, "-c", _PROBE.format(module=module, heavy=HEAVY)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(answer[0]), answer[1].split(",") if len(answer) > 1 else []


def measure(modules: dict[str, str], runs: int, environment: dict[str, str]) -> dict[str, tuple[float, list[str]]]:
    """Median import time per module over `runs` rounds; each round imports every module once, in an order
    that rotates from round to round, so that a noisy neighbour hits the baseline and the functions alike."""
    names = list(modules)
    times: dict[str, list[float]] = {name: [] for name in names}
    loaded: dict[str, list[str]] = {}
    for round_index in range(runs):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, loaded[name] = _probe(modules[name], environment)
            times[name].append(seconds)
    return {name: (statistics.median(times[name]), loaded[name]) for name in names}


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
    rows = measure(handler_modules(), args.runs, environment)
    baseline = rows["(baseline) Powertools + boto3"][0]
    print(f"Cold-start proxy: handler import CPU time, median of {args.runs} fresh interpreters")
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
