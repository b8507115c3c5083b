"""The conference and load runs of `make bench` / `make load`, small, through the same code: each in a fresh
local stack process over HTTP, with their musts asserted."""

from __future__ import annotations

import pytest

from bench.conference_run import run_size
from bench.load import run_load

pytestmark = [pytest.mark.e2e, pytest.mark.runs, pytest.mark.timeout(180)]


def test_a_small_conference_ends_with_one_certificate_per_eligible_attendee() -> None:
    result = run_size(20, threads=4, issue_again=True, say=lambda _line: None)

    assert result["failures"] == []
    assert result["server_errors"] == {}
    assert result["emails"]["confirmation"] == 20
    # 16 of every 20 attendees watch enough (PLAN_CYCLE); issuing again found them all and queued nothing.
    assert result["eligible"] == result["emails"]["certificate"] == 16
    assert result["heartbeats"] > 0
    assert result["stack_peak_rss_mib"] > 0


def test_concurrent_duplicate_registrations_and_payments_make_one_confirmation_per_seat() -> None:
    result = run_load(40, threads=8, say=lambda _line: None)

    assert result["failures"] == []
    assert result["server_errors"] == 0
    assert result["submissions"] > result["registrants"]  # duplicates and Idempotency-Key retries were sent
    assert result["registrations_created"] == result["registrants"]
    assert result["paid_seats"] == result["seats"] == 40
    assert result["confirmations"] == result["paid_seats"]
