"""The reminders before an event (a week, a day and an hour before its first session): one outbox entry per
attendee and reminder, so the stream sends each exactly once however often the schedule runs.

The schedule's run only queues; the outbox entry (`reminder#<attendee>#<which>`) is created only if new, and its
send is leased and recorded as every email's is (shared/reactions/service.py), so a retried or redriven run, a
replayed stream record or a sender that crashed mid-batch never sends a second reminder of the same kind.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from shared.clock import Clock
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.errors import FieldError, InvalidRequest
from shared.events.schedules import REMINDERS, reminder_time
from shared.jobs.models import Claimed
from shared.reactions.models import AttendeeStatus, EmailKind, OutboxEmail
from shared.reactions.ports import ReactionRepository
from shared.registration.status import RegistrationStatus

# Paid, disputed (access stays until the dispute is decided) or invoiced: as the stream's reactions count seats
# (shared/reactions/service.py STILL_HOLDS_SEATS, not imported: it brings the PDF renderer into this function).
HOLDS_SEAT = (RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.INVOICED)
# How late each reminder may still go out and still say the truth (and never once the conference has begun).
REMINDER_GRACE = {"week": timedelta(days=1), "day": timedelta(hours=6), "hour": timedelta(minutes=15)}


class RemindersQueued(BaseModel):
    event_id: str
    reminder: str
    queued: int  # entries owed now (created by this run or an earlier one)
    skipped: str | None = None  # why nothing was queued


class ReminderService:
    def __init__(self, *, events: Conferences, repository: ReactionRepository, conference_clock: Clock) -> None:
        self._events = events
        self._repository = repository
        self._conference_clock = conference_clock

    def queue(self, event_id: str, reminder: str) -> RemindersQueued:
        """Queue the named reminder for every paid (or disputed, access kept), not refunded attendee of the event."""
        if reminder not in REMINDERS:
            raise InvalidRequest([FieldError("reminder", f"Use one of: {', '.join(REMINDERS)}.")])
        conference = self._events.conference(event_id)  # NotFound for an unknown event
        late = self._too_late(conference, reminder)
        if late is not None:
            return RemindersQueued(event_id=event_id, reminder=reminder, queued=0, skipped=late)
        queued = 0
        for status in HOLDS_SEAT:
            for registration in self._repository.registrations_with_status(event_id, status):
                owed = []
                for seat in registration.seats:
                    attendee = self._repository.attendee(seat.attendee_id)
                    if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
                        continue  # refunded or revoked: no reminder (the send checks again)
                    owed.append(
                        OutboxEmail(
                            registration_id=registration.registration_id,
                            kind=EmailKind.REMINDER,
                            attendee_id=seat.attendee_id,
                            reminder=reminder,
                        )
                    )
                self._repository.add_emails(owed)
                queued += len(owed)
        return RemindersQueued(event_id=event_id, reminder=reminder, queued=queued)

    def start(self, event_id: str, reminder: str) -> RemindersQueued | None:
        """Before a bulk job queues the reminder (shared/jobs): None if it is owed now, else why nothing is queued."""
        if reminder not in REMINDERS:
            raise InvalidRequest([FieldError("reminder", f"Use one of: {', '.join(REMINDERS)}.")])
        late = self._too_late(self._events.conference(event_id), reminder)  # NotFound for an unknown event
        return None if late is None else RemindersQueued(event_id=event_id, reminder=reminder, queued=0, skipped=late)

    def claim(self, job_id: str, registration_id: str, attendee_id: str, reminder: str) -> Claimed | None:
        """A bulk job's claim of one attendee: the reminder's outbox entry, created unless it exists (one per
        attendee and reminder however often the job runs); None for a seat refunded or revoked."""
        attendee = self._repository.attendee(attendee_id)
        if attendee is None or attendee.status is not AttendeeStatus.ACTIVE:
            return None  # the send checks again
        entry = OutboxEmail(
            registration_id=registration_id,
            kind=EmailKind.REMINDER,
            attendee_id=attendee_id,
            reminder=reminder,
            job_id=job_id,
        )
        return Claimed(entry, new=self._repository.add_emails([entry]) == 1)

    def _too_late(self, conference: Conference, reminder: str) -> str | None:
        """A reminder goes out within its grace after its time, so that what it says still holds ("in a week",
        "tomorrow", "in an hour"): a run that comes later (an event created or moved after its time, a clock set
        ahead) sends nothing rather than a stale reminder."""
        due = reminder_time(conference, reminder)
        deadline = min(due + REMINDER_GRACE[reminder], conference.sessions[0].starts_at)
        if self._conference_clock.now() >= deadline:
            return f"too late: the {reminder} reminder was due at {due.isoformat()}"
        return None
