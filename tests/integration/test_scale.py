"""The scale run's short version (make scale runs N = 1,000 to 20,000): the day's reminder job and the certificate
job over N attendees written straight into the table, while SES throttles a share of the sends; every attendee
gets one reminder and one certificate, none lost or doubled, in batches whose calls per attendee do not grow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scale_run import linear, measure


def test_the_bulk_sends_lose_and_double_nothing_under_ses_throttling(
    local_stack, clean_tables, conference_time
) -> None:
    # Given 30 attendees with a full attendance, When both jobs run while SES throttles a sixth of the sends
    run = measure(30, throttle_rate=1 / 6, running=local_stack)
    summary = run.summary()
    # Then SES did throttle, and each attendee got exactly one reminder and one certificate
    assert summary["ses_throttled"] >= 3
    assert (summary["lost"], summary["doubled"], summary["mails"]) == (0, 0, 60)
    # And each mail cost one SES send that went out (plus the throttled ones) and a few table calls: 10.6 per reminder
    # and 14.0 per certificate here, 9.6 and 12.3 unthrottled (a throttled batch comes back without the seats done)
    for phase, table_calls in (("reminder_per_attendee", 12), ("certificates_per_attendee", 16)):
        assert summary[phase]["dynamodb"] < table_calls, summary
        assert summary[phase]["invocations"] < 0.5, summary


@pytest.mark.runs  # two private stacks, each in a process of its own, as `make scale` runs its sizes
def test_make_scale_runs_each_size_in_its_own_process_and_compares_them(tmp_path: Path) -> None:
    output = tmp_path / "scale.json"
    command = [sys.executable, "-m", "bench.scale", "--sizes", "4,6", "--throttle", "0.2", "--output", str(output)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    result = json.loads(output.read_text())
    # Both sizes ran (a second stack in one process used to fail at its deploy) and lost or doubled nothing
    assert [(run["n"], run["lost"], run["doubled"]) for run in result["runs"]] == [(4, 0, 0), (6, 0, 0)], finished
    # And they are compared on growth only (per attendee, the worker's peak: at 4 and 6 a page's fixed cost shows)
    compared = ("reminder_", "certificates_", "the worker")
    assert all(problem.startswith(compared) for problem in result["problems"]), result
    assert finished.returncode == (1 if result["problems"] else 0), finished.stderr[-3000:]


def test_sizes_are_compared_on_cpu_time_counts_and_the_workers_peak_not_on_wall_time() -> None:
    def run(n: int, *, ms: float, cpu_ms: float, dynamodb: float, peak: float) -> dict[str, object]:
        figures = {"ms": ms, "cpu_ms": cpu_ms, "invocations": 0.1, "dynamodb": dynamodb}
        return {"n": n, "reminder_per_attendee": figures, "certificates_per_attendee": figures,
                "peak_invocation_kib": peak}  # fmt: skip

    small = run(1000, ms=90.0, cpu_ms=80.0, dynamodb=9.6, peak=10_000)
    # The wall time doubled beside another run: not compared; the rest within 15 %
    assert linear([run(20000, ms=180.0, cpu_ms=91.0, dynamodb=11.0, peak=11_400), small]) == []
    grown = linear([small, run(20000, ms=90.0, cpu_ms=93.0, dynamodb=11.1, peak=11_600)])
    assert grown == [
        "reminder_per_attendee cpu_ms: 80.0 at N=1000, 93.0 at N=20000",
        "reminder_per_attendee dynamodb: 9.6 at N=1000, 11.1 at N=20000",
        "certificates_per_attendee cpu_ms: 80.0 at N=1000, 93.0 at N=20000",
        "certificates_per_attendee dynamodb: 9.6 at N=1000, 11.1 at N=20000",
        "the worker's peak: 10000 KiB at N=1000, 11600 KiB at N=20000",
    ]
