"""Everything the organiser's routes read and write, from the repositories that own each entity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.reactions.models import Attendee, OutboxEmail
from shared.registration.models import Registration
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoAdminRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, client)
        self._reactions = DynamoReactionRepository(table_name, client)
        self._attendance = DynamoAttendanceRepository(table_name, client)

    def registration(self, registration_id: str) -> Registration | None:
        return self._registrations.get(registration_id)

    def registration_page(
        self, status: RegistrationStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Registration], dict[str, Any] | None]:
        return self._registrations.registration_page(status, start, limit)

    def registrations_with_status(self, status: RegistrationStatus) -> Iterator[Registration]:
        return self._registrations.registrations_with_status(status)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self._reactions.attendee(attendee_id)

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return self._reactions.emails(registration_id)

    def add_emails(self, emails: list[OutboxEmail]) -> None:
        self._reactions.add_emails(emails)

    def minutes(self, attendee_id: str) -> dict[str, int]:
        return self._attendance.minutes(attendee_id)

    def login_days(self, attendee_id: str) -> tuple[int, int]:
        return self._attendance.login_days(attendee_id)

    def signals(self, attendee_id: str) -> int:
        return self._attendance.signals(attendee_id)
