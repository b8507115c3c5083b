"""EventBridge Scheduler's schedules, fired in conference time by the local stack: the template's, and those the
backend creates at run time in moto (each event's schedule group, shared/adapters/scheduler.py).

A rate schedule of the template fires once whenever conference time has moved past its next due time (setting
the clock three days ahead fires it once, not 288 times); an `at(...)` schedule fires once when conference
time passes it. Cron expressions are not played locally (the template has none).

A run-time schedule is read back from moto on every `fire_due` (the groups whose name starts with the stack's
SCHEDULE_GROUP_PREFIX, then each schedule's expression, zone, target and input) and fires once when conference
time is at or past its `at(...)`, even if that was already past when it was first seen (the run is owed: an
event whose certificates are due gets them). It is remembered by (group, name, expression, zone): a schedule
moved to a new time fires again at that time, and one placed again unchanged does not. Run-time rate and cron
schedules are not played (the backend creates none).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import BotoCoreError, ClientError

from infra.apigw import LambdaContext

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")

Handler = Callable[[dict[str, Any], Any], Any]
# A target's ARN (a Lambda function's) -> its handler and function name; None: not a function of this stack.
TargetResolver = Callable[[str], tuple[Handler, str] | None]


def _at(expression: str, timezone: str) -> datetime | None:
    found = _AT.match(expression)
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=ZoneInfo(timezone)) if found else None


@dataclass(frozen=True)
class Schedule:
    name: str
    function_logical_id: str
    expression: str
    timezone: str
    payload: dict[str, Any]

    def interval(self) -> timedelta | None:
        found = _RATE.match(self.expression)
        if not found:
            return None
        amount, unit = int(found.group(1)), found.group(2).rstrip("s")
        return timedelta(**{f"{unit}s": amount})

    def at(self) -> datetime | None:
        return _at(self.expression, self.timezone)


@dataclass(frozen=True)
class RunTimeSchedule:
    """A schedule created at run time in moto's EventBridge Scheduler, as get_schedule returns it."""

    group: str
    name: str
    expression: str
    timezone: str
    target_arn: str
    payload: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What a run is remembered by: moving the schedule (a new expression or zone) makes a new run."""
        return self.group, self.name, self.expression, self.timezone

    def at(self) -> datetime | None:
        return _at(self.expression, self.timezone)


def run_time_schedules(client: Any, group_prefix: str) -> list[RunTimeSchedule]:
    """The enabled schedules of every group whose name starts with `<group_prefix>-`."""
    prefix = f"{group_prefix}-"
    groups = [
        group["Name"]
        for page in client.get_paginator("list_schedule_groups").paginate(NamePrefix=prefix)
        for group in page.get("ScheduleGroups", [])
        if group["Name"].startswith(prefix)
    ]
    found = []
    for group in groups:
        for page in client.get_paginator("list_schedules").paginate(GroupName=group):
            for summary in page.get("Schedules", []):
                try:
                    schedule = client.get_schedule(GroupName=group, Name=summary["Name"])
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                        continue  # deleted since it was listed
                    raise
                if schedule.get("State", "ENABLED") != "ENABLED":
                    continue
                target = schedule.get("Target", {})
                found.append(
                    RunTimeSchedule(
                        group=group,
                        name=schedule["Name"],
                        expression=schedule["ScheduleExpression"],
                        timezone=schedule.get("ScheduleExpressionTimezone") or "UTC",
                        target_arn=target.get("Arn", ""),
                        payload=json.loads(target.get("Input") or "{}"),
                    )
                )
    return found


def _parameter_value(value: Any, parameters: dict[str, str]) -> Any:
    """Resolve the two forms schedules use: `Ref` to a parameter and `Fn::Sub` over parameters."""
    if isinstance(value, dict) and "Ref" in value:
        return parameters[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{(\w+)\}", lambda m: parameters[m.group(1)], value["Fn::Sub"])
    return value


def schedules(template: dict[str, Any], parameters: dict[str, str] | None = None) -> list[Schedule]:
    """The template's schedules, with parameters resolved (the given values, else the defaults)."""
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    values |= parameters or {}
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Scheduler::Schedule":
            continue
        properties = resource["Properties"]
        target = properties["Target"]
        arn = target["Arn"]
        if not (isinstance(arn, dict) and "Fn::GetAtt" in arn):
            raise ValueError(f"schedule {name}: only a function of this template can be its target")
        found.append(
            Schedule(
                name=name,
                function_logical_id=arn["Fn::GetAtt"][0],
                expression=_parameter_value(properties["ScheduleExpression"], values),
                timezone=_parameter_value(properties.get("ScheduleExpressionTimezone", "UTC"), values),
                payload=json.loads(target.get("Input", "{}")),
            )
        )
    return found


class LocalScheduler:
    def __init__(
        self,
        entries: list[tuple[Schedule, Handler, str]],
        now: Callable[[], datetime],
        *,
        client: Any | None = None,
        group_prefix: str | None = None,
        resolve_target: TargetResolver | None = None,
    ) -> None:
        """`entries`: each template schedule with its function's handler and name; `now`: conference time.

        With `client` (moto's scheduler), `group_prefix` and `resolve_target`, the schedules created at run time
        in the groups `<group_prefix>-*` are played too, their target ARNs resolved to handlers.
        """
        self._entries = entries
        self._now = now
        self._client = client
        self._group_prefix = group_prefix
        self._resolve_target = resolve_target
        self._fired_runs: set[tuple[str, str, str, str]] = set()
        self._warned: set[tuple[str, str, str, str]] = set()
        started = now()
        self._due = {schedule.name: self._first_due(schedule, started) for schedule, _, _ in entries}
        self._lock = threading.Lock()
        self.fired_total = 0  # by fire_due from any thread: a drain notices a run its own call waited for
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _first_due(schedule: Schedule, started: datetime) -> datetime | None:
        interval = schedule.interval()
        if interval is not None:
            return started + interval
        at = schedule.at()
        if at is None:
            log.warning("schedule %s (%s) is not played locally", schedule.name, schedule.expression)
        return at if at is not None and at > started else None

    def fire_due(self) -> int:
        """Fire every schedule whose time conference time has passed; returns how many fired."""
        fired = 0
        with self._lock:
            now = self._now()
            for schedule, handler, function_name in self._entries:
                due = self._due[schedule.name]
                if due is None or now < due:
                    continue
                interval = schedule.interval()
                self._due[schedule.name] = now + interval if interval is not None else None
                event = {"source": "aws.scheduler", "schedule": schedule.name, **schedule.payload}
                try:
                    handler(event, LambdaContext(function_name=function_name, timeout_seconds=900))
                except Exception:  # a failing run is retried by its next due time, as on AWS (no DLQ here)
                    log.exception("schedule %s failed", schedule.name)
                fired += 1
            fired += self._fire_run_time(now)
            self.fired_total += fired
        return fired

    def _fire_run_time(self, now: datetime) -> int:
        if self._client is None or self._group_prefix is None or self._resolve_target is None:
            return 0
        try:
            found = run_time_schedules(self._client, self._group_prefix)
        except (BotoCoreError, ClientError, ValueError):  # moto stopping, or an Input that is not JSON
            log.warning("the run-time schedules could not be read", exc_info=True)
            return 0
        fired = 0
        for schedule in found:
            if schedule.key in self._fired_runs or schedule.key in self._warned:
                continue
            try:
                at = schedule.at()
            except (ZoneInfoNotFoundError, ValueError):
                at = None
            resolved = self._resolve_target(schedule.target_arn) if at is not None else None
            if at is None or resolved is None:
                self._warned.add(schedule.key)
                log.warning(
                    "schedule %s/%s (%s %s, target %s) is not played locally",
                    *(schedule.group, schedule.name, schedule.expression, schedule.timezone, schedule.target_arn),
                )
                continue
            if now < at:
                continue
            self._fired_runs.add(schedule.key)
            handler, function_name = resolved
            event = {"source": "aws.scheduler", "schedule": schedule.name, **schedule.payload}
            try:
                handler(event, LambdaContext(function_name=function_name, timeout_seconds=900))
            except Exception:  # fired once, as a one-time schedule is (AWS's retries are not played here)
                log.exception("schedule %s/%s failed", schedule.group, schedule.name)
            fired += 1
        return fired

    def start(self, interval: float = 1.0) -> None:
        self._thread = threading.Thread(target=self._run, args=(interval,), name="schedules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.fire_due()
