"""The reduced fault run (make faults runs the long one): ten attendees through registration, payment,
confirmation, login, attendance and certificates while every kind of fault strikes at least once; nothing lost,
nothing done twice, no 5xx but a 503 to retry, only the poison records in the DLQ, the table consistent."""

from __future__ import annotations

import pytest

from bench.fault_run import KINDS, Environment, FaultRun, table
from tests.integration.conftest import ADMIN


@pytest.mark.runs
@pytest.mark.timeout(300)  # about 70 s here; a slower machine must not turn that into a failure
def test_ten_attendees_through_every_kind_of_fault_lose_nothing_and_duplicate_nothing(
    api, stripe_standin, stream, stack, aws, local_stack
) -> None:
    # When (the api fixture starts every test with empty tables and an empty dead-letter queue)
    token = ADMIN["authorization"].removeprefix("Bearer ")
    environment = Environment(stack, api, stripe_standin, stream, aws, token, local_stack.queue_pollers)
    attendance = ("eligible", "partial", "absent", "absent")  # two eligible attendees: heartbeats are the cost
    report = FaultRun(environment, attendees=10, seed=7, attendance=attendance).run()

    # Then
    print(table(report))
    assert {kind for kind in KINDS if report.injected[kind] == 0} == set()
    assert report.violations == []
    assert report.emails["confirmation"] >= 5 and report.emails["certificate"] >= 1
    # SES throttled during the reminders, and each paid seat still got each reminder once (the violations say if not)
    assert report.figures["ses_throttled_during_reminders"] >= 3
    assert min(report.emails[f"reminder ({which})"] for which in ("week", "day", "hour")) >= 5
