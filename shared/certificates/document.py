"""What a certificate's PDF shows, from the stored certificate and its event: the one place that decides it, for the
emailed PDF and anything that renders it again."""

from __future__ import annotations

from shared.certificates.content import CertificateContent, SessionRow
from shared.certificates.formats import date_range, day_month_year, short_date
from shared.certificates.models import Certificate
from shared.conference.models import Conference


def verification_url(site_url: str, certificate_id: str) -> str:
    """The page a person opens (GET /verify/{id}); machines read GET /certificates/{id}."""
    return f"{site_url.rstrip('/')}/verify/{certificate_id}"


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
            SessionRow(date=short_date(s.day), title=s.title, speakers=", ".join(s.speakers), minutes=s.minutes)
            for s in certificate.sessions
        ),
        signatory_name=signatory.name if signatory else None,
        signatory_title=signatory.title if signatory else None,
    )
