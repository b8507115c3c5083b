"""Logins, sessions and attendance: the requests, what is stored, and the attendee's own view."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from shared.conference.models import SessionKind
from shared.models import Model
from shared.registration.models import Email


class LoginRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    access_code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 \-]+$")]


class HeartbeatRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: Annotated[str, Field(min_length=1, max_length=64)]


class AccessCodeRequest(Model):
    """POST /access-codes: a new access code for whoever holds a paid seat with this email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email


class AccessCodeAsked(Model):
    """An access-code request as stored: the stream, not the request, finds the seat and sends the email."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    email_key: str  # the email as the seats' guards key it (casefolded)
    requested_at: datetime


class LoginAnswer(Model):
    attendee_id: str
    session_token: str
    expires_at: datetime


class LoginSession(Model):
    """A session token's record, keyed by the token's digest (the token itself is never stored)."""

    model_config = ConfigDict(frozen=True)

    token_hash: str
    attendee_id: str
    created_at: datetime
    expires_at: datetime
    source: str  # a digest of the address and browser it came from: evidence, not personal data


class SessionAttendance(Model):
    session_id: str
    minutes_attended: int
    minutes_scheduled: int


class MyAttendance(Model):
    """GET /me/attendance."""

    attendee_id: str
    sessions: list[SessionAttendance]
    days_logged_in: int
    eligible: bool
    reasons: list[str]
    hours: float


class MyProfile(Model):
    """GET /me."""

    attendee_id: str
    first_name: str
    last_name: str
    organization: str
    registration_kind: Literal["individual", "group"]


class MySession(Model):
    """One session of GET /me/sessions: times in the event's zone; the stream link only around the session."""

    id: str
    title: str
    kind: SessionKind
    day: date
    starts_at: datetime
    ends_at: datetime
    speakers: list[str]
    live: bool = Field(description="The session is running now (conference time): starts_at <= now < ends_at.")
    join_url: str | None = Field(
        description="The session's stream link from 15 minutes before it starts until it ends; null otherwise."
    )


class CertificateFile(Model):
    """GET /me/certificate: the attendee's valid certificate as the PDF that was emailed."""

    model_config = ConfigDict(frozen=True)

    certificate_id: str
    pdf: bytes
