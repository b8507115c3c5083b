from __future__ import annotations

from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.clock import conference_clock
from shared.composition.common import event_catalog
from shared.reactions.reminders import ReminderService
from shared.settings import TableSettings


def reminder_service(settings: TableSettings) -> ReminderService:
    return ReminderService(
        events=event_catalog(settings),
        repository=DynamoReactionRepository(settings.table_name),
        conference_clock=conference_clock,
    )
