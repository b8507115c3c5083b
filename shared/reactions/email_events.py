"""What SES reports about mail after it left (bounce, complaint, delivery), recorded on the person it was to.

SES publishes each event of the configuration set to EventBridge (the template's destination); the event's
`mail.tags` carry back the ids every email is tagged with (kind, registration_id and, for mail to a seat,
attendee_id). The status is recorded on the attendee, or for mail to the purchaser (a receipt) on the registration,
only while the address is still the one the mail went to: a late bounce of an address the organiser has corrected
changes nothing. Events come at least once and in any order: one about older mail than what is recorded changes
nothing, and a delivery does not undo a complaint (the person asked for no more). Suppression stays SES's (the
configuration set's suppression list); nothing here stops a send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.reactions.models import EmailStatus
from shared.registration.models import normalize_email

MailEventKind = Literal["bounce", "complaint", "delivery"]
# Reasons are shown to organisers; SES's diagnostic codes are short, but nothing unbounded is stored.
REASON_LENGTH = 500
WRITE_ATTEMPTS = 3


class MailEvent(BaseModel):
    """One SES event, reduced to what is recorded."""

    model_config = ConfigDict(frozen=True)

    kind: MailEventKind
    sent_at: datetime  # mail.timestamp: when SES accepted the message
    recipients: tuple[str, ...]  # the addresses this event is about
    registration_id: str | None = None
    attendee_id: str | None = None
    permanent: bool = True  # a bounce: Permanent; Transient and Undetermined ones SES retries itself
    reason: str = ""


class RecordedStatus(BaseModel):
    """A recipient's current address and what is recorded about mail to it."""

    model_config = ConfigDict(frozen=True)

    email: str
    status: EmailStatus = EmailStatus.OK
    reason: str | None = None
    at: datetime | None = None
    event_id: str | None = None  # the attendee's event: a bounced or complaining one is listed for its organisers


class EmailStatusRepository(Protocol):
    def recorded(self, registration_id: str, attendee_id: str | None) -> RecordedStatus | None:
        """The attendee's (or, without one, the registration's purchaser's) address and recorded status."""

    def record(
        self, registration_id: str, attendee_id: str | None, new: RecordedStatus, *, expected: RecordedStatus
    ) -> bool:
        """Write `new` if the address and status are still `expected`; False (nothing written) if not."""


def parse_ses_event(detail: dict[str, Any]) -> MailEvent | None:
    """An SES event record (EventBridge's `detail`, the same record SNS would carry); None for one of another type
    or without the tags (mail this backend did not send)."""
    kind = str(detail.get("eventType") or detail.get("notificationType") or "").lower()
    mail = detail.get("mail") or {}
    tags = mail.get("tags") or {}

    def tag(name: str) -> str | None:
        values = tags.get(name) or []
        return str(values[0]) if values else None

    try:
        if kind == "bounce":
            bounce = detail["bounce"]
            found = bounce.get("bouncedRecipients") or []
            recipients = tuple(str(r["emailAddress"]) for r in found)
            reason = "; ".join(str(r.get("diagnosticCode") or r.get("status") or "") for r in found).strip("; ")
            reason = reason or f"{bounce.get('bounceType')} bounce ({bounce.get('bounceSubType')})"
            permanent = bounce.get("bounceType") == "Permanent"
        elif kind == "complaint":
            complaint = detail["complaint"]
            recipients = tuple(str(r["emailAddress"]) for r in complaint.get("complainedRecipients") or [])
            reason = f"complaint: {complaint.get('complaintFeedbackType') or 'marked as spam'}"
            permanent = True
        elif kind == "delivery":
            recipients = tuple(str(r) for r in detail["delivery"].get("recipients") or [])
            reason, permanent = "", True
        else:
            return None
        if tag("registration_id") is None:
            return None
        return MailEvent(
            kind=kind,  # one of the three, checked above
            sent_at=mail["timestamp"],
            recipients=recipients,
            registration_id=tag("registration_id"),
            attendee_id=tag("attendee_id"),
            permanent=permanent,
            reason=reason[:REASON_LENGTH],
        )
    except (KeyError, TypeError, ValidationError):
        return None


def status_after(event: MailEvent, current: RecordedStatus) -> RecordedStatus | None:
    """What to record after this event, or None to leave the record as it is (pure)."""
    if normalize_email(current.email) not in {normalize_email(r) for r in event.recipients}:
        return None  # about another address: an earlier one, since corrected (or another recipient's)
    if current.at is not None and event.sent_at < current.at:
        return None  # about older mail than what is recorded
    if event.kind == "bounce":
        if not event.permanent:
            return None  # SES retries a transient bounce; only a permanent one says the address is bad
        status = EmailStatus.BOUNCED
    elif event.kind == "complaint":
        status = EmailStatus.COMPLAINED
    else:
        if current.status is not EmailStatus.BOUNCED:
            return None  # ok already, or complained: a delivery does not undo a complaint
        status = EmailStatus.OK
    new = RecordedStatus(
        email=current.email, status=status, reason=event.reason or None, at=event.sent_at, event_id=current.event_id
    )
    return None if new == current else new


class EmailEventService:
    def __init__(self, repository: EmailStatusRepository) -> None:
        self._repository = repository

    def record(self, event: MailEvent) -> EmailStatus | None:
        """Record the event on its recipient; the status written, or None when nothing changed."""
        if event.registration_id is None:
            return None
        for _ in range(WRITE_ATTEMPTS):
            current = self._repository.recorded(event.registration_id, event.attendee_id)
            if current is None:
                return None  # erased, or never ours
            new = status_after(event, current)
            if new is None:
                return None
            if self._repository.record(event.registration_id, event.attendee_id, new, expected=current):
                return new.status
        # Changed under us each time (another event for the same person): the next delivery of this one retries.
        raise RecordRaced("The recipient's mail status kept changing; the event will be retried.")


class RecordRaced(Exception):
    """Another writer changed the recipient between each read and write."""
