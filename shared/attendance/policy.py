"""The certificate policy applied to one attendee: eligible or not, and why, in words a person understands."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.conference.models import Conference
from shared.registration.status import RegistrationStatus


@dataclass(frozen=True)
class AttendanceFacts:
    registration_status: RegistrationStatus
    revoked: bool
    logins: int
    days_logged_in: int
    minutes_by_session: dict[str, int]  # every minute credited, from any evidence, each once
    shared_login_signals: int
    # Which evidence the minutes came from (a minute may be in both): the conference page's heartbeats (None: all of
    # them), and the streaming platform's participant reports; the sessions whose report has this attendee's email.
    page_minutes_by_session: dict[str, int] | None = None
    platform_minutes_by_session: dict[str, int] = field(default_factory=dict)
    platform_sessions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: list[str]
    minutes_attended: int
    minutes_scheduled: int
    hours: float  # attended time rounded to the nearest quarter hour


def quarter_hours(minutes: int) -> float:
    return round(minutes / 15) * 15 / 60


def evaluate(conference: Conference, facts: AttendanceFacts) -> Eligibility:
    policy = conference.certificate_policy
    scheduled = sum(session.scheduled_minutes for session in conference.sessions)
    attended = sum(min(facts.minutes_by_session.get(s.id, 0), s.scheduled_minutes) for s in conference.sessions)
    needed = policy.min_attendance_share * scheduled
    reasons: list[str] = []
    eligible = True

    if facts.revoked or facts.registration_status is RegistrationStatus.REFUNDED:
        eligible = False
        reasons.append("Your registration was refunded, so no certificate can be issued for it.")
    elif facts.registration_status is RegistrationStatus.DISPUTED:
        eligible = False
        reasons.append("Your payment is under dispute; a certificate can be issued once it is settled in your favour.")
    elif facts.registration_status is not RegistrationStatus.PAID:
        eligible = False
        reasons.append("Your seat is not paid.")

    # A participant report row under the attendee's own email is individual presence, as a login with their own code.
    reported = sum(1 for s in conference.sessions if s.id in facts.platform_sessions)
    if facts.logins >= policy.min_individual_logins:
        days = "day" if facts.days_logged_in == 1 else "days"
        reasons.append(f"You logged in with your own access code on {facts.days_logged_in} {days}.")
    elif reported:
        sessions = "session" if reported == 1 else "sessions"
        reasons.append(
            f"The streaming platform's participant report lists you under your own email for {reported} {sessions}, "
            "which counts as attending individually."
        )
    else:
        eligible = False
        reasons.append("You have not logged in with your own access code yet; certificates go only to those who do.")

    share = round(100 * attended / scheduled) if scheduled else 0
    requirement = f"at least {round(policy.min_attendance_share * 100)}% ({round(needed)} minutes) is needed"
    if attended >= needed:
        reasons.append(f"You attended {attended} of {scheduled} scheduled minutes ({share}%); {requirement}.")
    else:
        eligible = False
        reasons.append(
            f"You attended {attended} of {scheduled} scheduled minutes ({share}%); {requirement}, "
            f"so {round(needed) - attended} more minutes would qualify you."
        )

    evidence = _evidence(conference, facts)
    if evidence:
        reasons.append(evidence)

    if facts.shared_login_signals:
        times = "once" if facts.shared_login_signals == 1 else f"{facts.shared_login_signals} times"
        if policy.shared_login.action == "exclude":
            eligible = False
            reasons.append(
                f"Your access code was used from two places at once ({times}); the organiser's rule "
                "is that shared logins earn no certificate."
            )
        else:
            reasons.append(
                f"Your access code was used from two places at once ({times}); the organiser may review this."
            )

    return Eligibility(eligible, reasons, attended, scheduled, quarter_hours(attended))


def _evidence(conference: Conference, facts: AttendanceFacts) -> str | None:
    """Which evidence the minutes counted came from, each capped at the session's length as the total is."""

    def counted(by_session: dict[str, int]) -> int:
        return sum(min(by_session.get(s.id, 0), s.scheduled_minutes) for s in conference.sessions)

    page = counted(facts.minutes_by_session if facts.page_minutes_by_session is None else facts.page_minutes_by_session)
    platform = counted(facts.platform_minutes_by_session)
    if page and platform:
        return (
            f"Counted from this conference page while you were signed in ({page} minutes) and from the streaming "
            f"platform's participant reports ({platform} minutes); a minute in both counts once."
        )
    if platform:
        return f"Counted from the streaming platform's participant reports ({platform} minutes)."
    if page:
        return f"Counted from this conference page while you were signed in ({page} minutes)."
    return None
