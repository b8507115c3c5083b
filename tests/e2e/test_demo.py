"""`make demo` tells its story to the end, and every registration ends where the script expects."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.runs]

DEMO_SECONDS = 300  # about 2,800 requests: under a minute alone, over two beside the suite on a 2-core CI machine


@pytest.mark.timeout(DEMO_SECONDS + 10)
def test_the_demo_runs_through_and_every_registration_ends_as_expected() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    finished = subprocess.run(
        [sys.executable, "-m", "infra.demo"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = finished.stdout.split("Summary", 1)[1].split("Emails", 1)[0]
    assert summary.count(" ok") == 8
    assert "8 confirmations for 8 paid seats, 6 receipts for 6 payers, 1 refund notice" in finished.stdout
    assert "EXPECTED" not in summary
    assert "Springfield PD (3 officers)        group      3 seat(s)  paid" in summary
    eligibility = finished.stdout.split("Attendance and certificate eligibility", 1)[1]
    assert eligibility.count(" ok") == 4 and "UNEXPECTED" not in eligibility
    assert "ana.lopez@example.org       930 min, 3 day(s), eligible" in eligibility
    assert "used from two places at once" in eligibility
    certificates = finished.stdout.split("Certificates of attendance", 1)[1]
    assert "-> 202 eligible 2, queued 2, job job_" in certificates
    assert certificates.count("verifies as valid") == 2
    assert "2 certificate email(s), one per eligible attendee" in certificates
