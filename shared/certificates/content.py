"""What a certificate's page shows, as plain values: what the reactions build and the PDF module draws. Apart from
shared/certificates/pdf.py so that a function can build it without loading reportlab (the PDF library loads with the
first certificate drawn, not at every cold start of the functions that send mostly other mail)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SessionRow:
    """One session attended, as the table prints it."""

    date: str  # e.g. "5 Aug 2020"
    title: str
    speakers: str  # "" when the agenda names none
    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 0:
            raise ValueError("minutes must not be negative")


@dataclass(frozen=True)
class CertificateContent:
    attendee_name: str  # any Latin script
    conference_name: str
    organizer: str
    dates: str  # e.g. "5\u20137 August 2020" (an en dash)
    hours: float  # quarter hours, e.g. 15.5 -> "15.5 hours", 0.25 -> "0.25 hours"
    issued_on: str  # e.g. "7 August 2020"
    certificate_id: str
    verification_url: str  # printed and encoded in the QR code
    organization: str = ""
    license_id: str | None = None  # the licence or officer id given at registration
    sessions: tuple[SessionRow, ...] = ()  # no table when empty (a certificate issued before they were kept)
    signatory_name: str | None = None
    signatory_title: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.hours) or self.hours < 0:
            raise ValueError("hours must be a finite, non-negative number")
