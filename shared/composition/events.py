from __future__ import annotations

from shared.adapters.dynamodb_events import DynamoEventRepository, DynamoEventUsage
from shared.adapters.scheduler import EventBridgeSchedules
from shared.clock import wall_clock
from shared.composition.common import event_catalog
from shared.events.service import EventService
from shared.settings import EventScheduleSettings


def event_service(settings: EventScheduleSettings) -> EventService:
    return EventService(
        repository=DynamoEventRepository(settings.table_name),
        usage=DynamoEventUsage(settings.table_name),
        schedules=EventBridgeSchedules(
            settings.schedule_group_prefix,
            {"certificate_issuer": settings.certificate_issuer_arn, "reminders": settings.reminders_arn},
            settings.scheduler_role_arn,
        ),
        catalog=event_catalog(settings),
        wall_clock=wall_clock,
    )
