"""An event's timed runs in EventBridge Scheduler: one schedule group per event, one `at(...)` schedule per run.

The group is `<group_prefix>-<event_id>` (the template's SCHEDULE_GROUP_PREFIX is `<stack name>-event`, so that
the admin function's policy can name every group of its stack and no other). A schedule's time is written in the
event's own zone (`at(2020-08-07T19:00:00)` in America/Chicago), so EventBridge Scheduler keeps it on local wall
time, as the organiser wrote it. Schedules are kept after they run (ActionAfterCompletion NONE): placing again
with the same plan changes nothing, and the group still shows what ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.errors import TemporarilyUnavailable
from shared.events.schedules import PlannedSchedule

# EventBridge Scheduler's rule for group and schedule names.
_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")
# Retries of a failed invocation (throttled, Lambda unavailable): the runs are idempotent (the certificate
# issuer queues nothing twice), so retry for hours rather than drop the run.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 6 * 3600, "MaximumRetryAttempts": 20}


def at_expression(moment: datetime) -> tuple[str, str]:
    """`(ScheduleExpression, ScheduleExpressionTimezone)` for a one-time run: the moment's wall time in its own
    IANA zone, or in UTC when its zone has no IANA name (a fixed offset, `datetime.timezone.utc`)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a schedule's time must be timezone-aware, not {moment.isoformat()}")
    zone = moment.tzinfo
    if isinstance(zone, ZoneInfo) and zone.key:
        key = zone.key
    else:
        moment, key = moment.astimezone(UTC), "UTC"
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})", key


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_errors() -> Iterator[None]:
    """EventBridge Scheduler's errors as domain errors (the expected ones, ResourceNotFound and Conflict, are
    handled where they are expected)."""
    try:
        yield
    except ClientError as exc:
        raise TemporarilyUnavailable("The scheduler is busy; please try again.") from exc
    except BotoCoreError as exc:
        raise TemporarilyUnavailable("The scheduler could not be reached; please try again.") from exc


class EventBridgeSchedules:
    """The `EventSchedules` port on EventBridge Scheduler.

    `targets`: each planned target's Lambda function ARN; `role_arn`: the role the scheduler assumes to invoke
    them (the template's EventSchedulerRole).
    """

    def __init__(self, group_prefix: str, targets: Mapping[str, str], role_arn: str, client: Any | None = None) -> None:
        self._prefix = group_prefix
        self._targets = dict(targets)
        self._role_arn = role_arn
        self._client = client or aws.scheduler()

    def group_name(self, event_id: str) -> str:
        name = f"{self._prefix}-{event_id}"
        if not _NAME.match(name):
            raise ValueError(f"schedule group name {name!r} must be 1-64 of 0-9, a-z, A-Z, '-', '_', '.'")
        return name

    def place(self, event_id: str, schedules: Sequence[PlannedSchedule]) -> None:
        group = self.group_name(event_id)
        requests = [self._request(group, schedule) for schedule in schedules]  # every ValueError before a call
        names = [request["Name"] for request in requests]
        if len(set(names)) != len(names):
            raise ValueError(f"schedule names must be unique within an event: {names}")
        with translated_errors():
            self._ensure_group(group)
            for request in requests:
                self._put(request)
            for name in self._schedule_names(group) - set(names):
                self._delete_schedule(group, name)

    def remove(self, event_id: str) -> None:
        group = self.group_name(event_id)
        with translated_errors():
            if not self._group_exists(group):
                return
            for name in self._schedule_names(group):
                self._delete_schedule(group, name)
            try:
                self._client.delete_schedule_group(Name=group)
            except ClientError as exc:
                if _error_code(exc) != "ResourceNotFoundException":
                    raise

    def _request(self, group: str, schedule: PlannedSchedule) -> dict[str, Any]:
        if not _NAME.match(schedule.name):
            raise ValueError(f"schedule name {schedule.name!r} must be 1-64 of 0-9, a-z, A-Z, '-', '_', '.'")
        if schedule.target not in self._targets:
            raise ValueError(f"no function is configured for the schedule target {schedule.target!r}")
        expression, timezone = at_expression(schedule.at)
        return {
            "GroupName": group,
            "Name": schedule.name,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": self._targets[schedule.target],
                "RoleArn": self._role_arn,
                "Input": json.dumps(schedule.payload, sort_keys=True),
                "RetryPolicy": dict(RETRY_POLICY),
            },
            "ActionAfterCompletion": "NONE",
        }

    def _group_exists(self, group: str) -> bool:
        try:
            self._client.get_schedule_group(Name=group)
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def _ensure_group(self, group: str) -> None:
        # Looked up first: creating an existing group is a ConflictException on AWS, but moto replaces the
        # group (and drops its schedules).
        if self._group_exists(group):
            return
        try:
            self._client.create_schedule_group(Name=group)
        except ClientError as exc:
            if _error_code(exc) != "ConflictException":  # created meanwhile by another call: it exists
                raise

    def _put(self, request: dict[str, Any]) -> None:
        try:
            self._client.create_schedule(**request)
        except ClientError as exc:
            if _error_code(exc) != "ConflictException":
                raise
            self._client.update_schedule(**request)  # the same name: moved (or unchanged)

    def _schedule_names(self, group: str) -> set[str]:
        names: set[str] = set()
        try:
            for page in self._client.get_paginator("list_schedules").paginate(GroupName=group):
                names |= {schedule["Name"] for schedule in page.get("Schedules", [])}
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":  # the group went meanwhile: nothing is in it
                raise
        return names

    def _delete_schedule(self, group: str, name: str) -> None:
        try:
            self._client.delete_schedule(GroupName=group, Name=name)
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":  # deleted meanwhile
                raise
