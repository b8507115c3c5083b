"""The template's EventBridge Scheduler schedules, fired in conference time by the local stack.

A rate schedule fires once whenever conference time has moved past its next due time (setting the
clock three days ahead fires it once, not 288 times); an `at(...)` schedule fires once when conference
time passes it. Cron expressions are not played locally (the template has none).
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
from zoneinfo import ZoneInfo

from infra.apigw import LambdaContext

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")


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
        found = _AT.match(self.expression)
        return datetime.fromisoformat(found.group(1)).replace(tzinfo=ZoneInfo(self.timezone)) if found else None


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
        entries: list[tuple[Schedule, Callable[[dict[str, Any], Any], Any], str]],
        now: Callable[[], datetime],
    ) -> None:
        """`entries`: each schedule with its function's handler and name; `now`: conference time."""
        self._entries = entries
        self._now = now
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
            self.fired_total += fired
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
