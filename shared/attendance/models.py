"""Logins, sessions and attendance: the requests, what is stored, and the attendee's own view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.registration.models import Email


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    access_code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 \-]+$")]


class HeartbeatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: Annotated[str, Field(min_length=1, max_length=64)]


class LoginAnswer(BaseModel):
    attendee_id: str
    session_token: str
    expires_at: datetime


class LoginSession(BaseModel):
    """A session token's record, keyed by the token's digest (the token itself is never stored)."""

    model_config = ConfigDict(frozen=True)

    token_hash: str
    attendee_id: str
    created_at: datetime
    expires_at: datetime
    source: str  # a digest of the address and browser it came from: evidence, not personal data


class SessionAttendance(BaseModel):
    session_id: str
    minutes_attended: int
    minutes_scheduled: int


class MyAttendance(BaseModel):
    """GET /me/attendance."""

    attendee_id: str
    sessions: list[SessionAttendance]
    days_logged_in: int
    eligible: bool
    reasons: list[str]
    hours: float
