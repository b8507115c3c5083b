"""Certificates of attendance: what is issued, and what anyone verifying one sees."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.text import Name


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"  # replaced by a reissue, or the seat was refunded


class CertifiedSession(BaseModel):
    """One row of the certificate's table: a session attended, as the agenda named it when it was issued."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    title: str
    speakers: tuple[str, ...] = ()
    day: date
    minutes: int  # credited, at most the session's scheduled minutes


class Certificate(BaseModel):
    model_config = ConfigDict(frozen=True)

    certificate_id: str
    attendee_id: str
    registration_id: str
    attendee_name: str
    conference: str
    hours: float
    issued_at: date  # the conference-time date of issue
    created_at: datetime
    status: CertificateStatus = CertificateStatus.VALID
    replaced_by: str | None = None
    revoked_at: datetime | None = None  # unknown (None) for one revoked before this was recorded
    # What it certifies, fixed when issued (a later agenda edit or correction does not change a certificate); a
    # certificate issued before these were kept has none, and its PDF shows no table.
    organization: str = ""
    license_id: str | None = None
    sessions: tuple[CertifiedSession, ...] = ()
    # When the stream stored its PDF (rendered as it is emailed): until then GET /me/certificate has none to give.
    pdf_stored_at: datetime | None = None


class CertificateView(BaseModel):
    """GET /certificates/{certificate_id}: enough to verify, nothing more (no email, no address)."""

    certificate_id: str
    status: Literal["valid", "revoked"]
    attendee_name: str
    conference: str
    issued_at: date
    hours: float

    @classmethod
    def of(cls, certificate: Certificate) -> CertificateView:
        return cls(
            certificate_id=certificate.certificate_id,
            status=certificate.status.value,
            attendee_name=certificate.attendee_name,
            conference=certificate.conference,
            issued_at=certificate.issued_at,
            hours=certificate.hours,
        )


class IssueResult(BaseModel):
    """POST /admin/certificates/issue: 202 at once; the job (GET /admin/jobs/{job_id}) makes and mails them.

    `eligible` counts the eligible attendees and `queued` those of them with no certificate yet, whom the job will
    certify; over CertificateService.owed's bound (`complete` false) both count only the seats read before the
    answer. issue_all, the synchronous pass, answers what it did itself."""

    eligible: int
    queued: int
    complete: bool = True
    job_id: str | None = None


class ReissueRequest(BaseModel):
    """A corrected name (optional); the old certificate is revoked and a new one emailed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_name: Name | None = None
    last_name: Name | None = None


class ReissueResult(BaseModel):
    attendee_id: str
    revoked: str
    certificate_id: str
