"""EventSeed: a CloudFormation custom resource that every deploy runs. It loads the packaged conference
(shared/conference/nasro-2020.json, or CONFERENCE_FILE's) as the first event when the stack has none, makes it
the featured event and places its schedules. A stack that has events is left as it is; deleting the resource
deletes nothing (the events are the organisers' data). The local stack calls `seed()` at start.

crhelper answers CloudFormation (the signed response URL, the failure reason, the physical id).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from crhelper import CfnResource

from shared.observability import logger

if TYPE_CHECKING:
    from shared.settings import EventScheduleSettings

helper = CfnResource(json_logging=False, log_level="INFO", boto_level="CRITICAL")


@cache
def settings() -> EventScheduleSettings:
    from shared.settings import EventScheduleSettings

    return EventScheduleSettings.from_environment()


def seed() -> bool:
    """True when the seed was loaded (the stack had no event)."""
    # The seed's models, adapters and schedules are imported here, with the deploy's one invocation: the import
    # is crhelper's helper and its clients (docs/performance.md).
    from shared.composition.common import seed_conference
    from shared.composition.events import event_service

    conference = seed_conference(settings())
    loaded = event_service(settings()).seed(conference)
    logger.info("seed event", extra={"event_id": conference.id, "loaded": loaded})
    return loaded


@helper.create
@helper.update
def seed_on_deploy(event: dict[str, Any], context: Any) -> str:
    helper.Data["Loaded"] = "true" if seed() else "false"
    return "event-seed"  # the physical id: the same on every update, so CloudFormation never replaces it


@helper.delete
def keep_on_delete(event: dict[str, Any], context: Any) -> None:
    """The events outlive the resource (and the table is retained): nothing to undo."""


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)
