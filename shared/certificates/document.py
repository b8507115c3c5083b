"""What a certificate's PDF shows, from the stored certificate and its event: the one place that decides it, for the
emailed PDF and anything that renders it again."""

from __future__ import annotations

from datetime import date

from shared.certificates.models import Certificate
from shared.certificates.pdf import CertificateContent, SessionRow
from shared.conference.models import Conference

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip


def verification_url(site_url: str, certificate_id: str) -> str:
    """The page a person opens (GET /verify/{id}); machines read GET /certificates/{id}."""
    return f"{site_url.rstrip('/')}/verify/{certificate_id}"


def day_month_year(day: date) -> str:
    """7 August 2020: no weekday, unambiguous in every English-speaking country."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _short(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1][:3]} {day.year}"


def date_range(starts_on: date, ends_on: date) -> str:
    """5\u20137 August 2020, 31 July \u2013 2 August 2020, 30 December 2020 \u2013 1 January 2021, 5 August 2020."""
    if starts_on == ends_on:
        return day_month_year(starts_on)
    if (starts_on.year, starts_on.month) == (ends_on.year, ends_on.month):
        return f"{starts_on.day}\u2013{day_month_year(ends_on)}"
    if starts_on.year == ends_on.year:
        return f"{starts_on.day} {_MONTHS[starts_on.month - 1]} \u2013 {day_month_year(ends_on)}"
    return f"{day_month_year(starts_on)} \u2013 {day_month_year(ends_on)}"


def certificate_content(certificate: Certificate, conference: Conference, *, site_url: str) -> CertificateContent:
    """The certified facts come from the certificate as issued (name, hours, sessions, organization, licence id); the
    organiser, its signatory and the dates from the event."""
    signatory = conference.signatory
    return CertificateContent(
        attendee_name=certificate.attendee_name,
        conference_name=certificate.conference,
        organizer=conference.organizer,
        dates=date_range(conference.starts_on, conference.ends_on),
        hours=certificate.hours,
        issued_on=day_month_year(certificate.issued_at),
        certificate_id=certificate.certificate_id,
        verification_url=verification_url(site_url, certificate.certificate_id),
        organization=certificate.organization,
        license_id=certificate.license_id,
        sessions=tuple(
            SessionRow(date=_short(s.day), title=s.title, speakers=", ".join(s.speakers), minutes=s.minutes)
            for s in certificate.sessions
        ),
        signatory_name=signatory.name if signatory else None,
        signatory_title=signatory.title if signatory else None,
    )
