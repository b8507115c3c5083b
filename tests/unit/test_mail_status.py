"""What SES reports after mail left, recorded on the person it was to (shared/reactions/email_events.py), and the
mail the MIME builder cannot encode, recorded the same way instead of retried into the dead-letter queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.reactions.email_events import (
    EmailEventService,
    MailEvent,
    RecordedStatus,
    RecordRaced,
    parse_ses_event,
    status_after,
)
from shared.reactions.models import EmailKind, EmailStatus, OutboxStatus
from shared.reactions.routing import Reaction, ReactionKind
from shared.reactions.service import ReactionService
from tests.support.fakes_events import catalog_of
from tests.support.fakes_reactions import (
    CONFERENCE,
    InMemoryCertificateFiles,
    InMemoryCertificates,
    InMemoryTable,
    RecordingMailer,
    individual,
)

SENT = datetime(2020, 7, 22, 14, tzinfo=UTC)
TAGS = {"kind": ["confirmation"], "registration_id": ["reg_1"], "attendee_id": ["att_1"]}


def ses(kind: str, body: dict[str, Any], *, tags: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """An SES event record as EventBridge's `detail` carries it."""
    mail = {"timestamp": SENT.isoformat(), "messageId": "m-1", "destination": ["ana@example.org"], "tags": tags or TAGS}
    return {"eventType": kind, "mail": mail, **body}


BOUNCE = ses(
    "Bounce",
    {
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "Ana@Example.org", "diagnosticCode": "smtp; 550 5.1.1 unknown"}],
        }
    },
)
COMPLAINT = ses("Complaint", {"complaint": {"complainedRecipients": [{"emailAddress": "ana@example.org"}]}})
DELIVERY = ses("Delivery", {"delivery": {"recipients": ["ana@example.org"]}})


def event(detail: dict[str, Any]) -> MailEvent:
    parsed = parse_ses_event(detail)
    assert parsed is not None
    return parsed


def test_ses_records_become_events_about_their_recipients() -> None:
    bounce = event(BOUNCE)
    assert (bounce.kind, bounce.permanent, bounce.reason) == ("bounce", True, "smtp; 550 5.1.1 unknown")
    assert (bounce.registration_id, bounce.attendee_id, bounce.recipients) == ("reg_1", "att_1", ("Ana@Example.org",))
    assert event(COMPLAINT).kind == "complaint" and event(COMPLAINT).reason == "complaint: marked as spam"
    assert event(DELIVERY).kind == "delivery" and event(DELIVERY).sent_at == SENT


@pytest.mark.parametrize(
    "detail",
    [
        {"eventType": "Send", "mail": {"timestamp": SENT.isoformat(), "tags": TAGS}},  # not recorded
        ses("Bounce", {"bounce": {}}, tags={"kind": ["confirmation"]}),  # not ours: no registration tag
        {"eventType": "Bounce", "mail": {"tags": TAGS}},  # no timestamp
        {"eventType": "Bounce"},
        {},
    ],
)
def test_what_is_not_an_event_of_ours_is_ignored(detail: dict[str, Any]) -> None:
    assert parse_ses_event(detail) is None


OK = RecordedStatus(email="ana@example.org")


def test_a_permanent_bounce_and_a_complaint_are_recorded_a_transient_bounce_is_not() -> None:
    bounced = status_after(event(BOUNCE), OK)
    assert bounced == RecordedStatus(
        email="ana@example.org", status=EmailStatus.BOUNCED, reason="smtp; 550 5.1.1 unknown", at=SENT
    )
    complained = status_after(event(COMPLAINT), OK)
    assert complained is not None and complained.status is EmailStatus.COMPLAINED
    transient = event(BOUNCE).model_copy(update={"permanent": False})
    assert status_after(transient, OK) is None


def test_a_delivery_clears_a_bounce_but_never_a_complaint_and_changes_nothing_when_ok() -> None:
    bounced = RecordedStatus(email="ana@example.org", status=EmailStatus.BOUNCED, at=SENT - timedelta(hours=1))
    cleared = status_after(event(DELIVERY), bounced)
    assert cleared is not None and cleared.status is EmailStatus.OK and cleared.at == SENT
    complained = bounced.model_copy(update={"status": EmailStatus.COMPLAINED})
    assert status_after(event(DELIVERY), complained) is None
    assert status_after(event(DELIVERY), OK) is None


def test_an_event_about_older_mail_or_another_address_changes_nothing() -> None:
    newer = RecordedStatus(email="ana@example.org", status=EmailStatus.OK, at=SENT + timedelta(minutes=1))
    assert status_after(event(BOUNCE), newer) is None  # out of order: the later mail's outcome stands
    corrected = RecordedStatus(email="ana.lopez@example.org")
    assert status_after(event(BOUNCE), corrected) is None  # the organiser corrected the address since


class InMemoryStatuses:
    def __init__(self, current: RecordedStatus | None, races: int = 0) -> None:
        self.current = current
        self.races = races
        self.writes: list[RecordedStatus] = []

    def recorded(self, registration_id: str, attendee_id: str | None) -> RecordedStatus | None:
        return self.current

    def record(
        self, registration_id: str, attendee_id: str | None, new: RecordedStatus, *, expected: RecordedStatus
    ) -> bool:
        if self.races:
            self.races -= 1
            return False
        if self.current != expected:
            return False
        self.current = new
        self.writes.append(new)
        return True


def test_the_service_records_once_and_reads_again_after_a_race() -> None:
    statuses = InMemoryStatuses(OK, races=1)
    assert EmailEventService(statuses).record(event(BOUNCE)) is EmailStatus.BOUNCED
    assert EmailEventService(statuses).record(event(BOUNCE)) is None  # a duplicate delivery of the event
    assert len(statuses.writes) == 1
    with pytest.raises(RecordRaced):
        EmailEventService(InMemoryStatuses(OK, races=5)).record(event(COMPLAINT))
    assert EmailEventService(InMemoryStatuses(None)).record(event(BOUNCE)) is None  # nobody to record it on


def test_a_mail_the_mime_builder_cannot_encode_fails_for_good_and_is_recorded_as_bounced() -> None:
    # Given a seat whose name reads as an RFC 2047 encoded-word (the builder refuses it: it could show as another)
    table, mailer = InMemoryTable(FixedClock(SENT)), RecordingMailer()
    reactions = ReactionService(
        events=catalog_of(CONFERENCE),
        repository=table,
        mailer=mailer,
        wall_clock=FixedClock(SENT),
        site_url="https://conference.example.org/",
        certificates=InMemoryCertificateFiles(InMemoryCertificates(table)),
    )
    registration = table.save(individual(first_name="=?utf-8?q?Chief?="))
    reactions.react(Reaction(ReactionKind.SEATS_PAID, registration.registration_id))
    (key,) = [k for (_, k), e in table.outbox.items() if e.kind is EmailKind.CONFIRMATION]
    # When its confirmation's record is processed: no exception for the stream to retry into the DLQ
    done = reactions.react(Reaction(ReactionKind.SEND_EMAIL, registration.registration_id, key)).done
    # Then it failed for good, and the attendee shows why
    assert done == ["rejected for good"] and mailer.sent == []
    assert table.outbox[(registration.registration_id, key)].status is OutboxStatus.FAILED
    attendee = table.attendees[registration.seats[0].attendee_id]
    assert attendee.email_status is EmailStatus.BOUNCED
    assert "encoded-word" in (attendee.email_status_reason or "")
