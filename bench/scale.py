"""make scale: the bulk sends at N attendees (issue 22), against a private local stack.

For each N: N paid individuals, each with a full attendance, are written straight into the local stack's table
(BatchWriteItem, not through HTTP: the run measures the sends, not registration); then the day's reminder job and
the certificate job run to their end through the jobs queue (the worker played by the local SQS mapping, paced),
while SES throttles a share of the sends (TooManyRequestsException, injected where botocore makes the call). It
reports per attendee the time, the worker's invocations and the AWS calls (counted where botocore makes them, as
bench/call_counts.py counts them), the worker's peak memory in an invocation (tracemalloc, every 10th invocation
traced alone), and what reached the mailbox: every attendee one reminder and one certificate, none lost or doubled.

`python -m bench.scale --sizes 1000,5000,20000` writes bench/results/scale.json and exits 1 if a mail was lost or
doubled, or the cost per attendee (calls; time) grew by more than 15 % from the smallest N to the largest. The file
keeps the runs of other sizes made on the same commit (their N not run again), so that sizes can be run apart, one
process per core (`--sizes 20000` beside `--sizes 5000`), and compared as one. Each N runs in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import bench.harness  # noqa: F401 - first: the functions' environment, before any of their modules loads
from bench.scale_run import RESULTS, linear, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--throttle", type=float, default=0.05, help="share of SES sends throttled")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    output: Path = arguments.output
    commit = _commit()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if len(sizes) == 1:
        run = measure(sizes[0], arguments.throttle).summary() | {"commit": commit}
        print(json.dumps(run), flush=True)
        fresh = [run]
    else:
        # One process per N: moto's state is the process's own, so a second stack in it would meet the first's
        # resources (and its memory); each child adds its run to the file.
        for n in sizes:
            child = [sys.executable, "-m", "bench.scale", "--sizes", str(n), "--throttle", str(arguments.throttle)]
            child += ["--output", str(output)]
            subprocess.run(child, check=False)  # noqa: S603 - this module again, with our own arguments
        fresh = [run for run in _earlier_runs(output) if run.get("commit") == commit and run["n"] in sizes]
        if len(fresh) < len(sizes):
            print(f"PROBLEM: runs missing: {sorted(set(sizes) - {run['n'] for run in fresh})}")
            return 1
    ran = {run["n"] for run in fresh}
    earlier = [run for run in _earlier_runs(output) if run.get("commit") == commit and run["n"] not in ran]
    runs = sorted(earlier + fresh, key=lambda run: run["n"])
    problems = linear(runs) + [
        f"N={run['n']}: {run['lost']} lost, {run['doubled']} doubled" for run in runs if run["lost"] or run["doubled"]
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"runs": runs, "problems": problems}, indent=2))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


def _commit() -> str:
    """The checked-out commit, and whether the tree differs from it (runs of different code are not compared)."""

    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "-uno") else "")


def _earlier_runs(output: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads(output.read_text())["runs"])
    except (OSError, ValueError, KeyError):
        return []


if __name__ == "__main__":
    sys.exit(main())
