"""The latency bench's short version (make bench runs it with 300 rounds): every operation is invoked and answers
as it should (the bench raises on any other status), each timed once a round: a bench that no longer runs (its
scenario broken by a change of the product) fails here rather than in the next bench run. Times are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# bench.latency is not imported here: it sets the functions' environment for a bench process (bench/harness.py).
OPERATIONS = {"registration", "webhook checkout.session.completed", "heartbeat", "certificate verify"}
BASELINE = "bare handler, one PutItem"

pytestmark = pytest.mark.runs  # a private stack in its own process, as `make bench` starts it


def test_the_latency_bench_times_every_operation_and_checks_its_answers(tmp_path: Path) -> None:
    output = tmp_path / "latency.json"
    command = [sys.executable, "-m", "bench.latency", "--invocations", "4", "--warmup", "1", "--output", str(output)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    operations = json.loads(output.read_text())["operations"]
    assert set(operations) == {BASELINE, *OPERATIONS}
    assert {row["invocations"] for row in operations.values()} == {4}
    assert all(row["p50_ms"] > 0 and row["pass"] is not None for name, row in operations.items() if name != BASELINE)
