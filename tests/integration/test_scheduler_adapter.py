"""Each event's schedules in EventBridge Scheduler, against a moto server over HTTP: the adapter places, moves
and deletes them, and the local stack's scheduler fires what was placed when conference time passes it.

moto's backends are shared by every moto server of this process (the session's local stack included), so each
test works in groups of its own prefix.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local_schedules import LocalScheduler, Schedule
from infra.moto_server import LockedMotoServer
from shared.adapters.scheduler import RETRY_POLICY, EventBridgeSchedules, at_expression
from shared.clock import FixedClock
from shared.errors import TemporarilyUnavailable
from shared.events.schedules import PlannedSchedule

CHICAGO = ZoneInfo("America/Chicago")
ISSUER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:conference-local-CertificateIssuerFunction-X"
ROLE_ARN = "arn:aws:iam::123456789012:role/conference-local-EventSchedulerRole-X"
END = datetime(2020, 8, 7, 17, 0, tzinfo=CHICAGO)


@pytest.fixture(scope="module")
def scheduler_client() -> Iterator[Any]:
    server = LockedMotoServer()
    server.start()
    try:
        yield boto3.client("scheduler", endpoint_url=server.url)
    finally:
        server.stop()


@pytest.fixture
def prefix(scheduler_client: Any) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:8]}-event"
    yield prefix
    for group in scheduler_client.list_schedule_groups(NamePrefix=prefix)["ScheduleGroups"]:
        EventBridgeSchedules(prefix, {}, ROLE_ARN, scheduler_client).remove(group["Name"][len(prefix) + 1 :])


def adapter(prefix: str, client: Any) -> EventBridgeSchedules:
    return EventBridgeSchedules(prefix, {"certificate_issuer": ISSUER_ARN}, ROLE_ARN, client)


def planned(name: str, at: datetime, event_id: str = "nasro-2020") -> PlannedSchedule:
    return PlannedSchedule(name=name, at=at, target="certificate_issuer", payload={"event_id": event_id})


def group_schedules(client: Any, group: str) -> dict[str, dict[str, Any]]:
    names = [s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]]
    return {name: client.get_schedule(GroupName=group, Name=name) for name in names}


def group_names(client: Any, prefix: str) -> list[str]:
    return [g["Name"] for g in client.list_schedule_groups(NamePrefix=prefix)["ScheduleGroups"]]


def test_an_event_s_schedules_are_placed_moved_trimmed_and_removed(scheduler_client, prefix) -> None:
    schedules = adapter(prefix, scheduler_client)
    group = f"{prefix}-nasro-2020"

    # Placed: the group is made, each schedule at its wall time in the event's zone, invoking the issuer
    schedules.place("nasro-2020", [planned("certificates", END), planned("reminder", END - timedelta(days=3))])
    placed = group_schedules(scheduler_client, group)
    assert group_names(scheduler_client, prefix) == [group]
    assert set(placed) == {"certificates", "reminder"}
    certificates = placed["certificates"]
    assert certificates["ScheduleExpression"] == "at(2020-08-07T17:00:00)"
    assert certificates["ScheduleExpressionTimezone"] == "America/Chicago"
    assert certificates["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert certificates["ActionAfterCompletion"] == "NONE"
    assert certificates["Target"]["Arn"] == ISSUER_ARN and certificates["Target"]["RoleArn"] == ROLE_ARN
    assert json.loads(certificates["Target"]["Input"]) == {"event_id": "nasro-2020"}
    assert certificates["Target"]["RetryPolicy"] == RETRY_POLICY
    assert placed["reminder"]["ScheduleExpression"] == "at(2020-08-04T17:00:00)"

    # Moved: the same name at a new time; placing the same plan again changes nothing and keeps the group
    later = END + timedelta(days=1, hours=2)
    schedules.place("nasro-2020", [planned("certificates", later), planned("reminder", END - timedelta(days=3))])
    schedules.place("nasro-2020", [planned("certificates", later), planned("reminder", END - timedelta(days=3))])
    moved = group_schedules(scheduler_client, group)
    assert moved["certificates"]["ScheduleExpression"] == "at(2020-08-08T19:00:00)"
    assert set(moved) == {"certificates", "reminder"}

    # Placed with one fewer: the one no longer planned is deleted
    schedules.place("nasro-2020", [planned("certificates", later)])
    assert set(group_schedules(scheduler_client, group)) == {"certificates"}

    # Another event's group is its own
    schedules.place("other-2021", [planned("certificates", END, "other-2021")])
    assert sorted(group_names(scheduler_client, prefix)) == [group, f"{prefix}-other-2021"]

    # Removed: schedules and group gone; removing again (or an event never placed) is fine
    schedules.remove("nasro-2020")
    schedules.remove("nasro-2020")
    schedules.remove("never-placed")
    assert group_names(scheduler_client, prefix) == [f"{prefix}-other-2021"]
    with pytest.raises(ClientError):
        scheduler_client.get_schedule(GroupName=group, Name="certificates")


def test_listing_is_paginated_so_every_unplanned_schedule_goes(scheduler_client, prefix) -> None:
    schedules = adapter(prefix, scheduler_client)
    many = [planned(f"run-{n:03d}", END + timedelta(hours=n)) for n in range(60)]  # moto pages by 50
    schedules.place("big-2020", many)
    assert len(group_schedules_all(scheduler_client, f"{prefix}-big-2020")) == 60

    schedules.place("big-2020", many[:1])

    assert set(group_schedules_all(scheduler_client, f"{prefix}-big-2020")) == {"run-000"}


def group_schedules_all(client: Any, group: str) -> set[str]:
    pages = client.get_paginator("list_schedules").paginate(GroupName=group)
    return {s["Name"] for page in pages for s in page["Schedules"]}


def test_names_times_and_targets_are_checked_before_any_call(scheduler_client, prefix) -> None:
    schedules = adapter(prefix, scheduler_client)
    with pytest.raises(ValueError, match="group name"):
        schedules.place("no spaces", [planned("certificates", END)])
    with pytest.raises(ValueError, match="group name"):
        schedules.remove("x" * 64)
    with pytest.raises(ValueError, match="schedule name"):
        schedules.place("nasro-2020", [planned("certificates/2", END)])
    with pytest.raises(ValueError, match="unique"):
        schedules.place("nasro-2020", [planned("certificates", END), planned("certificates", END)])
    with pytest.raises(ValueError, match="timezone-aware"):
        schedules.place("nasro-2020", [planned("certificates", datetime(2020, 8, 7, 17))])
    with pytest.raises(ValueError, match="target"):
        EventBridgeSchedules(prefix, {}, ROLE_ARN, scheduler_client).place("nasro-2020", [planned("c", END)])
    assert group_names(scheduler_client, prefix) == []


def test_a_moment_without_an_iana_zone_is_written_in_utc() -> None:
    assert at_expression(END) == ("at(2020-08-07T17:00:00)", "America/Chicago")
    assert at_expression(datetime(2020, 8, 7, 17, tzinfo=timezone(timedelta(hours=-5)))) == (
        "at(2020-08-07T22:00:00)",
        "UTC",
    )
    assert at_expression(datetime(2020, 8, 7, 22, 0, 30, tzinfo=UTC)) == ("at(2020-08-07T22:00:30)", "UTC")


def test_an_unreachable_scheduler_is_temporarily_unavailable() -> None:
    client = boto3.client(
        "scheduler",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    with pytest.raises(TemporarilyUnavailable):
        adapter("test-event", client).place("nasro-2020", [planned("certificates", END)])
    with pytest.raises(TemporarilyUnavailable):
        adapter("test-event", client).remove("nasro-2020")


def test_the_local_scheduler_fires_a_placed_schedule_once_and_again_after_it_is_moved(scheduler_client, prefix) -> None:
    clock = FixedClock(datetime(2020, 7, 22, 9, 0, tzinfo=CHICAGO))  # where the local stack starts
    runs: list[dict[str, Any]] = []
    reconciler_runs: list[dict[str, Any]] = []

    def resolve(arn: str):
        return ((lambda event, _context: runs.append(event)), "CertificateIssuer") if arn == ISSUER_ARN else None

    reconciler = Schedule("EveryQuarterHour", "PaymentReconcilerFunction", "rate(15 minutes)", "UTC", {})
    local = LocalScheduler(
        [(reconciler, lambda event, _context: reconciler_runs.append(event), "PaymentReconciler")],
        clock.now,
        client=scheduler_client,
        group_prefix=prefix,
        resolve_target=resolve,
    )
    schedules = adapter(prefix, scheduler_client)
    schedules.place("nasro-2020", [planned("certificates", END)])

    # Nothing is due two weeks before; a minute before the time, still nothing
    assert local.fire_due() == 0
    clock.moment = END - timedelta(minutes=1)
    assert local.fire_due() == 1 and runs == []  # the template's rate schedule, only
    clock.moment = END
    assert local.fire_due() == 1
    assert runs == [{"source": "aws.scheduler", "schedule": "certificates", "event_id": "nasro-2020"}]
    clock.advance(timedelta(minutes=5))
    assert local.fire_due() == 0  # once: a one-time schedule stays in its group after it ran

    # Moved a day later: it fires again at its new time, not before; placed again unchanged, it does not
    schedules.place("nasro-2020", [planned("certificates", END + timedelta(days=1))])
    assert local.fire_due() == 0
    clock.moment = END + timedelta(days=1)
    schedules.place("nasro-2020", [planned("certificates", END + timedelta(days=1))])
    assert local.fire_due() == 2 and len(runs) == 2  # the rate schedule's jump, and the moved run
    clock.advance(timedelta(days=1))
    assert local.fire_due() == 1 and len(runs) == 2
    assert local.fired_total == 5
    assert len(reconciler_runs) == 3


def test_a_run_already_past_when_first_seen_fires_once_and_unknown_targets_never(scheduler_client, prefix) -> None:
    clock = FixedClock(END + timedelta(days=3))  # the stack started after the event (LOCAL_CLOCK)
    runs: list[dict[str, Any]] = []
    local = LocalScheduler(
        [],
        clock.now,
        client=scheduler_client,
        group_prefix=prefix,
        resolve_target=lambda arn: ((lambda event, _c: runs.append(event)), "F") if arn == ISSUER_ARN else None,
    )
    adapter(prefix, scheduler_client).place("nasro-2020", [planned("certificates", END)])
    gone = {"certificate_issuer": "arn:aws:lambda:us-east-1:123456789012:function:not-of-this-stack"}
    EventBridgeSchedules(prefix, gone, ROLE_ARN, scheduler_client).place("other-2020", [planned("certificates", END)])

    assert local.fire_due() == 1
    assert runs == [{"source": "aws.scheduler", "schedule": "certificates", "event_id": "nasro-2020"}]
    assert local.fire_due() == 0
