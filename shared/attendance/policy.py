"""The certificate policy applied to one attendee: eligible or not, and why, in words a person understands."""

from __future__ import annotations

from dataclasses import dataclass

from shared.conference.models import Conference
from shared.registration.status import RegistrationStatus


@dataclass(frozen=True)
class AttendanceFacts:
    registration_status: RegistrationStatus
    revoked: bool
    logins: int
    days_logged_in: int
    minutes_by_session: dict[str, int]
    shared_login_signals: int


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

    if facts.logins < policy.min_individual_logins:
        eligible = False
        reasons.append("You have not logged in with your own access code yet; certificates go only to those who do.")
    else:
        days = "day" if facts.days_logged_in == 1 else "days"
        reasons.append(f"You logged in with your own access code on {facts.days_logged_in} {days}.")

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
