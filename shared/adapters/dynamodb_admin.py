"""Everything the organiser's routes read and write, from the repositories that own each entity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository, registration_key, to_item, translated_errors
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository, certificate_key
from shared.adapters.dynamodb_reactions import DynamoReactionRepository, attendee_key, shipment_key
from shared.admin.privacy import ERASED
from shared.certificates.models import Certificate, CertificateStatus
from shared.payments.models import HistoryEntry
from shared.reactions.models import Attendee, OutboxEmail, Shipment, ShipmentState
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite
from shared.registration.status import RegistrationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoAdminRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)
        self._reactions = DynamoReactionRepository(table_name, self._client)
        self._certificates = DynamoCertificateRepository(table_name, self._client)

    def append_history(self, registration_id: str, entry: HistoryEntry) -> None:
        self._registrations.append_history(registration_id, entry)

    def seats_of(self, email_key: str) -> list[str]:
        return self._registrations.seats_of(email_key)

    def registrations_naming(self, email_key: str) -> list[str]:
        return self._registrations.registrations_naming(email_key)

    def forget_person(self, email_key: str, registration_id: str) -> None:
        self._registrations.forget_person(email_key, registration_id)

    def release_claim(self, event_id: str, resubmission: str, registration_id: str) -> None:
        self._registrations.release_claim(event_id, resubmission, registration_id)

    def shipment(self, registration_id: str) -> Shipment | None:
        return self._reactions.shipment(registration_id)

    def current_certificate(self, attendee_id: str) -> str | None:
        return self._certificates.current_certificate(attendee_id)

    def certificate(self, certificate_id: str) -> Certificate | None:
        return self._certificates.certificate(certificate_id)

    def release_email(self, event_id: str, email_key: str, registration_id: str) -> None:
        self._registrations.release_email(event_id, email_key, registration_id)

    def _set(
        self,
        key: dict[str, Any],
        values: dict[str, Any],
        *,
        remove: str = "",
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
    ) -> None:
        names = {f"#f{i}": name for i, name in enumerate(values)}
        expression = (
            "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))) + (f" REMOVE {remove}" if remove else "")
        )
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(
                {f":v{i}": v for i, v in enumerate(values.values())} | (condition_values or {})
            ),
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        with translated_errors():
            self._client.update_item(**kwargs)

    def replace_personal_data(self, registration: Registration, changes: dict[str, Any], entry: HistoryEntry) -> None:
        def dumped(value: Any) -> Any:
            return [dumped(item) for item in value] if isinstance(value, list) else value.model_dump(mode="json")

        values = {name: dumped(value) for name, value in changes.items()}
        values["history"] = [e.as_record() for e in [*registration.history, entry]]
        values["version"] = registration.version + 1
        self._set(
            registration_key(registration.registration_id),
            values,
            condition="version = :current",
            condition_values={":current": registration.version},
        )

    def erase_attendee(self, attendee_id: str) -> None:
        try:
            self._set(
                attendee_key(attendee_id),
                {
                    "first_name": ERASED,
                    "last_name": ERASED,
                    "email": f"{ERASED}+{attendee_id}@invalid",
                    "organization": ERASED,
                },
                # SES's diagnostic may quote the address; an erased person is on no mail-problem list (gsi1).
                remove="access_code_hash, requested_codes, current_session, session_expires_at, license_id, "
                "email_status_reason, gsi1pk, gsi1sk",
                condition="attribute_exists(pk)",
            )
        except StaleWrite:
            return  # no attendee item: the seat was never paid, so only the registration held the person

    def erase_shipment(self, registration_id: str) -> None:
        shipment = self._reactions.shipment(registration_id)
        if shipment is None:
            return
        state = ShipmentState.CANCELLED if shipment.shipment_state is ShipmentState.PENDING else shipment.shipment_state
        self._set(
            shipment_key(registration_id),
            {"name": ERASED, "organization": ERASED, "line1": ERASED, "city": ERASED, "state": ERASED,
             "postal_code": "00000", "country": "ZZ", "shipment_state": state.value},
            remove="line2",
        )  # fmt: skip

    def erase_certificate(self, certificate_id: str) -> None:
        self._set(
            certificate_key(certificate_id),
            {"attendee_name": ERASED, "organization": ERASED, "status": CertificateStatus.REVOKED.value},
            remove="license_id",
            condition="attribute_exists(pk)",
        )

    def registration(self, registration_id: str) -> Registration | None:
        return self._registrations.get(registration_id)

    def registration_page(
        self, event_id: str, status: RegistrationStatus, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Registration], dict[str, Any] | None]:
        return self._registrations.registration_page(event_id, status, start, limit)

    def registrations_with_status(self, event_id: str, status: RegistrationStatus) -> Iterator[Registration]:
        return self._registrations.registrations_with_status(event_id, status)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self._reactions.attendee(attendee_id)

    def emails(self, registration_id: str) -> list[OutboxEmail]:
        return self._reactions.emails(registration_id)

    def add_emails(self, emails: list[OutboxEmail]) -> None:
        self._reactions.add_emails(emails)
