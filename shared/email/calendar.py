"""The confirmation's calendar attachment: one event per conference day, in the event's own time zone.

Built with icalendar (RFC 5545), imported when the first invitation is made rather than at the stream
dispatcher's cold start: most records it handles send no confirmation (tests/infra/test_function_imports.py).
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import groupby
from urllib.parse import urlsplit

from shared.conference.models import Conference
from shared.email.mime import Attachment
from shared.email.render import time_range

INVITE_FILENAME = "invite.ics"


def attend_url(site_url: str) -> str:
    """The attendee's page, without anything personal (a calendar is often shared or synced)."""
    return f"{site_url.rstrip('/')}/attend"


def conference_invite(conference: Conference, *, attendee_id: str, site_url: str, sent_at: datetime) -> Attachment:
    """`invite.ics`: a VEVENT per conference day from its first session's start to its last session's end,
    with TZID the event's zone (and its VTIMEZONE), LOCATION and URL the attend page, and a UID per attendee and
    day that stays the same when the confirmation is sent again (so a calendar updates the event, not adds one)."""
    from icalendar import Calendar, Event  # kept out of the cold start (see the module docstring)

    zone, page = conference.zone, attend_url(site_url)
    host = urlsplit(site_url).hostname or "conference.invalid"
    calendar = Calendar()
    calendar.add("prodid", f"-//{conference.organizer}//{conference.name}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    days: list[date] = []
    for number, (day, of_the_day) in enumerate(groupby(conference.sessions, key=lambda s: s.day), start=1):
        sessions = list(of_the_day)
        days.append(day)
        event = Event()
        event.add("uid", f"{conference.id}-{day.isoformat()}-{attendee_id}@{host}")
        event.add("dtstamp", sent_at)
        event.add("summary", f"{conference.name}, day {number}")
        event.add("dtstart", min(s.starts_at for s in sessions).astimezone(zone))
        event.add("dtend", max(s.ends_at for s in sessions).astimezone(zone))
        event.add("location", page)
        event.add("url", page)
        agenda = "\n".join(f"{time_range(s.starts_at, s.ends_at, zone)}  {s.title}" for s in sessions)
        event.add("description", f"Sign in at {page} with your email and access code.\n\n{agenda}")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    # Only the transitions around the conference (an agenda has at least one session): a VTIMEZONE of a few lines,
    # not fifty years of them.
    calendar.add_missing_timezones(first_date=date(days[0].year, 1, 1), last_date=date(days[-1].year + 1, 1, 1))
    return Attachment(
        INVITE_FILENAME, calendar.to_ical(), "text", "calendar", params=(("method", "PUBLISH"), ("charset", "utf-8"))
    )
