"""One seat's changes in one transaction each (shared/admin/group_changes.py).

A resend to one attendee: its outbox entry (the access-code email whose new code replaces this attendee's earlier
ones) and the history entry, conditional on the registration's version.

A substitution: the seat in the registration item replaced by the new person's (conditional on the version and on
the seat's attendee, with the history entry); the replaced attendee revoked, its codes, session and mail-problem
listing gone (conditional on it being active); the new attendee item; the email guard moved (`EMAIL#<old>/SEAT#<event>`
deleted if still this registration's, `EMAIL#<new>/SEAT#<event>` created if free or left by a registration holding no
seat for it); the new person indexed for erasure (`EMAIL#<new>/REG#<id>`; the replaced person's index entry stays,
so an erasure still finds the registration that named them); the new person's confirmation in the outbox."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb import email_guard_key, registration_key, to_item, translated_errors
from shared.adapters.dynamodb_corrections import DynamoCorrections, person_key
from shared.adapters.dynamodb_reactions import attendee_key, outbox_item
from shared.admin.group_changes import Resend, Substitution
from shared.reactions.models import AttendeeStatus


class DynamoGroupChanges(DynamoCorrections):
    """The corrections' reads (registration, attendee, guard holder, outbox), and the group changes' writes."""

    def resend(self, resend: Resend) -> None:
        registration = resend.registration
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": outbox_item(resend.email),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": registration_key(registration.registration_id),
                    "UpdateExpression": "SET version = version + :one, "
                    "history = list_append(if_not_exists(history, :none), :entry)",
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": to_item(
                        {
                            ":one": 1,
                            ":none": [],
                            ":entry": [resend.entry.as_record()],
                            ":version": registration.version,
                        }
                    ),
                }
            },
        ]
        with translated_errors():  # a failed condition is StaleWrite: the caller numbers the round again
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    def substitute(self, substitution: Substitution) -> None:
        registration, i = substitution.registration, substitution.seat_index
        event_id, registration_id = registration.event_id, registration.registration_id
        replaced, new = substitution.replaced, substitution.attendee
        old_key, new_key = registration.seats[i].email_key, substitution.seat.email_key
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": registration_key(registration_id),
                    "UpdateExpression": f"SET seats[{i}] = :seat, version = version + :one, "
                    "history = list_append(if_not_exists(history, :none), :entry)",
                    "ConditionExpression": f"version = :version AND seats[{i}].attendee_id = :replaced",
                    "ExpressionAttributeValues": to_item(
                        {
                            ":seat": substitution.seat.model_dump(mode="json"),
                            ":one": 1,
                            ":none": [],
                            ":entry": [substitution.entry.as_record()],
                            ":version": registration.version,
                            ":replaced": replaced.attendee_id,
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": attendee_key(replaced.attendee_id),
                    # Revoked: no sign-in, no heartbeat, no certificate; the codes and the session end now.
                    "UpdateExpression": "SET #status = :revoked REMOVE access_code_hash, requested_codes, "
                    "current_session, session_expires_at, gsi1pk, gsi1sk",
                    "ConditionExpression": "attribute_exists(pk) AND #status = :active",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_item(
                        {":revoked": AttendeeStatus.REVOKED.value, ":active": AttendeeStatus.ACTIVE.value}
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": attendee_key(new.attendee_id)
                    | to_item({"entity": "attendee", **new.model_dump(mode="json")}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": email_guard_key(event_id, old_key),
                    "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :registration",
                    "ExpressionAttributeValues": to_item({":registration": registration_id}),
                }
            },
        ]
        guard: dict[str, Any] = {
            "TableName": self._table,
            "Item": email_guard_key(event_id, new_key)
            | to_item({"entity": "email_guard", "registration_id": registration_id}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if substitution.take_guard_from is not None:
            guard["ConditionExpression"] = "attribute_not_exists(pk) OR registration_id = :stale"
            guard["ExpressionAttributeValues"] = to_item({":stale": substitution.take_guard_from})
        items.append({"Put": guard})
        index = {"entity": "person_index", "registration_id": registration_id}
        items.append({"Put": {"TableName": self._table, "Item": person_key(new_key, registration_id) | to_item(index)}})
        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": outbox_item(substitution.confirmation),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        with translated_errors():  # a failed condition is StaleWrite: the caller reads again
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
