"""Login sessions, attendance minutes and shared-login signals in the main table (failed sign-ins are counted per
address by shared/adapters/dynamodb_limits.py).

Keys (see the README's table):
  LOGIN#<token digest> / SESSION                      a session token's record (expires via `ttl`)
  ATTENDEE#<attendee_id> / META                       + current_session, session_expires_at (epoch seconds),
                                                      logins, login_days, and `minutes#<agenda session id>`:
                                                      the set of credited conference minutes per agenda session
                                                      (heartbeats); `platform#<agenda session id>`: the set the
                                                      streaming platform's participant reports credited, and
                                                      `platform_sessions`: the sessions whose report lists them
                                                      (a minute in both sets counts once)
  ATTENDEE#<attendee_id> / SIGNAL#<kind>#<minute>     shared-login evidence
  ACCESS_CODE_REQUEST#<request_id> / REQUEST          an access-code request (POST /access-codes), for the stream
                                                      to answer; the email as keyed, expires via `ttl` (a day)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.adapters import aws
from shared.adapters.dynamodb import DynamoRegistrationRepository, from_item, to_item, translated_errors
from shared.adapters.dynamodb_reactions import DynamoReactionRepository, attendee_key
from shared.attendance.evidence import MinuteEvidence
from shared.attendance.facts import AttendanceRecord
from shared.attendance.models import AccessCodeAsked, LoginSession
from shared.reactions.models import Attendee, AttendeeStatus
from shared.registration.models import Registration
from shared.registration.ports import StaleWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


MINUTES_PREFIX = "minutes#"  # + an agenda session id: an attribute of the attendee's item
PLATFORM_PREFIX = "platform#"  # + an agenda session id: the minutes a participant report credited
PLATFORM_SESSIONS = "platform_sessions"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return to_item({"pk": pk, "sk": sk})


class DynamoAttendanceRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or aws.dynamodb()
        self._registrations = DynamoRegistrationRepository(table_name, self._client)
        self._attendees = DynamoReactionRepository(table_name, self._client)

    def seats_of(self, email_key: str) -> list[str]:
        return self._registrations.seats_of(email_key)

    def registration(self, registration_id: str) -> Registration | None:
        return self._registrations.get(registration_id)

    def attendee(self, attendee_id: str) -> Attendee | None:
        return self._attendees.attendee(attendee_id)

    def start_session(self, session: LoginSession, day: str | None) -> LoginSession | None:
        with translated_errors():
            self._client.put_item(
                TableName=self._table,
                Item=_key(f"LOGIN#{session.token_hash}", "SESSION")
                | to_item(
                    {
                        "entity": "login_session",
                        "ttl": int(session.expires_at.timestamp()),
                        **session.model_dump(mode="json"),
                    }
                ),
            )
            answer = self._client.update_item(
                TableName=self._table,
                Key=attendee_key(session.attendee_id),
                UpdateExpression="SET current_session = :session, session_expires_at = :expires ADD logins :one"
                + (", login_days :day" if day else ""),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item(
                    {":session": session.token_hash, ":expires": int(session.expires_at.timestamp()), ":one": 1}
                    | ({":day": {day}} if day else {})
                ),
                ReturnValues="UPDATED_OLD",
            )
        previous = from_item(answer.get("Attributes", {})).get("current_session")
        return self.session(str(previous)) if previous else None

    def session(self, token_hash: str) -> LoginSession | None:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table, Key=_key(f"LOGIN#{token_hash}", "SESSION"), ConsistentRead=True
            )
        if "Item" not in answer:
            return None
        fields = {k: v for k, v in from_item(answer["Item"]).items() if k not in {"pk", "sk", "entity", "ttl"}}
        return LoginSession.model_validate(fields)

    def end_session(self, attendee_id: str, token_hash: str) -> None:
        session = _key(f"LOGIN#{token_hash}", "SESSION")
        try:
            with translated_errors():
                # Together, so that no moment has the record gone but the attendee's item still crediting minutes
                # to it, or the item cleared but the record there (which would read as a superseded session).
                self._client.transact_write_items(
                    TransactItems=[
                        {"Delete": {"TableName": self._table, "Key": session}},
                        {
                            "Update": {
                                "TableName": self._table,
                                "Key": attendee_key(attendee_id),
                                "UpdateExpression": "REMOVE current_session, session_expires_at",
                                "ConditionExpression": "current_session = :session",
                                "ExpressionAttributeValues": to_item({":session": token_hash}),
                            }
                        },
                    ]
                )
        except StaleWrite:
            # A newer login made another session current meanwhile: leave it, end this one's record.
            with translated_errors():
                self._client.delete_item(TableName=self._table, Key=session)

    def add_access_code_request(self, request: AccessCodeAsked, expires: datetime) -> None:
        with translated_errors():
            self._client.put_item(
                TableName=self._table,
                Item=_key(f"ACCESS_CODE_REQUEST#{request.request_id}", "REQUEST")
                | to_item(
                    {
                        "entity": "access_code_request",
                        "ttl": int(expires.timestamp()),
                        **request.model_dump(mode="json"),
                    }
                ),
            )

    def credit_minute(self, attendee_id: str, token_hash: str, session_id: str, minute: int, now: datetime) -> bool:
        try:
            with translated_errors():
                # A set: the same minute credited twice (a repeated or concurrent heartbeat) counts once. The
                # minutes live on the attendee's item so that the session check is this write's condition.
                self._client.update_item(
                    TableName=self._table,
                    Key=attendee_key(attendee_id),
                    UpdateExpression="ADD #minutes :minute",
                    ConditionExpression=(
                        "current_session = :session AND session_expires_at > :now AND #status = :active"
                    ),
                    ExpressionAttributeNames={"#minutes": f"{MINUTES_PREFIX}{session_id}", "#status": "status"},
                    ExpressionAttributeValues=to_item(
                        {
                            ":minute": {minute},
                            ":session": token_hash,
                            ":now": int(now.timestamp()),
                            ":active": AttendeeStatus.ACTIVE.value,
                        }
                    ),
                )
        except StaleWrite:
            return False  # not this attendee's current, live session, or no longer an active seat
        return True

    def minutes(self, attendee_id: str) -> dict[str, int]:
        return self.evidence(attendee_id).by_session

    def evidence(self, attendee_id: str) -> MinuteEvidence:
        return self.record(attendee_id).evidence

    def record(self, attendee_id: str) -> AttendanceRecord:
        with translated_errors():
            answer = self._client.get_item(TableName=self._table, Key=attendee_key(attendee_id), ConsistentRead=True)
        item = from_item(answer.get("Item", {}))

        def sets(prefix: str) -> dict[str, frozenset[int]]:
            found = {
                n.removeprefix(prefix): frozenset(int(m) for m in v) for n, v in item.items() if n.startswith(prefix)
            }
            return dict(sorted(found.items()))

        evidence = MinuteEvidence(
            page=sets(MINUTES_PREFIX),
            platform=sets(PLATFORM_PREFIX),
            platform_sessions=frozenset(str(s) for s in item.get(PLATFORM_SESSIONS, set())),
        )
        return AttendanceRecord(int(item.get("logins", 0)), len(item.get("login_days", set())), evidence)

    def credit_platform_minutes(self, attendee_id: str, session_id: str, minutes: frozenset[int]) -> bool:
        """Add a participant report's minutes and presence for the session (sets: a re-import adds nothing), in one
        write, to an attendee who exists. False (nothing written) when there is no such attendee."""
        update = "ADD #sessions :session" + (", #minutes :minutes" if minutes else "")
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=attendee_key(attendee_id),
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={"#sessions": PLATFORM_SESSIONS}
                    | ({"#minutes": f"{PLATFORM_PREFIX}{session_id}"} if minutes else {}),
                    ExpressionAttributeValues=to_item(
                        {":session": {session_id}} | ({":minutes": set(minutes)} if minutes else {})
                    ),
                )
        except StaleWrite:
            return False
        return True

    def login_days(self, attendee_id: str) -> tuple[int, int]:
        with translated_errors():
            answer = self._client.get_item(
                TableName=self._table,
                Key=attendee_key(attendee_id),
                ProjectionExpression="logins, login_days",
                ConsistentRead=True,
            )
        item = from_item(answer.get("Item", {}))
        return int(item.get("logins", 0)), len(item.get("login_days", set()))

    def record_signal(self, attendee_id: str, kind: str, at: datetime, detail: str) -> None:
        minute = at.replace(second=0, microsecond=0).isoformat()
        try:
            with translated_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=_key(f"ATTENDEE#{attendee_id}", f"SIGNAL#{kind}#{minute}")
                    | to_item({"entity": "shared_login_signal", "kind": kind, "at": at.isoformat(), "source": detail}),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except StaleWrite:
            pass  # this kind of evidence is already recorded for this minute

    def signals(self, attendee_id: str) -> int:
        with translated_errors():
            answer = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :attendee AND begins_with(sk, :signal)",
                ExpressionAttributeValues=to_item({":attendee": f"ATTENDEE#{attendee_id}", ":signal": "SIGNAL#"}),
                Select="COUNT",
                ConsistentRead=True,
            )
        return int(answer.get("Count", 0))
