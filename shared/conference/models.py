"""The conference as data: what an organiser edits, validated when it is loaded."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SessionKind = Literal["opening", "keynote", "town_hall", "general_session", "workshop", "closing"]
CurrencyCode = Annotated[str, Field(pattern=r"^[a-z]{3}$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(Frozen):
    """Integer minor units plus an ISO 4217 currency code in lower case, as Stripe has it."""

    amount: Annotated[int, Field(ge=0)]
    currency: CurrencyCode

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)


class AgendaEntry(Frozen):
    """A session as the data file states it: a local date and local wall-clock times."""

    id: Slug
    title: Annotated[str, Field(min_length=1, max_length=200)]
    kind: SessionKind
    day: date
    starts: time
    ends: time
    speakers: list[Annotated[str, Field(min_length=1, max_length=200)]] = []


class AgendaSession(Frozen):
    """A session placed in time: what the API shows and attendance is measured against."""

    id: str
    title: str
    kind: SessionKind
    day: date
    starts_at: datetime
    ends_at: datetime
    speakers: list[str]

    @property
    def scheduled_minutes(self) -> int:
        return int((self.ends_at - self.starts_at) / timedelta(minutes=1))


class SharedLoginPolicy(Frozen):
    action: Literal["warn", "exclude"] = "warn"


class CertificatePolicy(Frozen):
    """Who earns a certificate of attendance ("only those who login individually")."""

    min_individual_logins: Annotated[int, Field(ge=1)] = 1
    min_attendance_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    hours_rounding_minutes: Literal[15] = 15
    shared_login: SharedLoginPolicy = SharedLoginPolicy()


class RegistrationRules(Frozen):
    max_group_attendees: Annotated[int, Field(ge=1, le=99)] = 50
    checkout_expires_after_minutes: Annotated[int, Field(ge=30, le=1440)] = 60
    checkout_item_name: Annotated[str, Field(min_length=1, max_length=200)]


class ConferenceFile(Frozen):
    """The file format; `Conference` is what the rest of the code works with."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    organizer: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str
    starts_on: date
    ends_on: date
    fee: Money
    sender: Annotated[str, Field(min_length=3, max_length=254)]
    registration: RegistrationRules
    certificate_policy: CertificatePolicy
    agenda: Annotated[list[AgendaEntry], Field(min_length=1)]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _agenda_fits_the_dates(self) -> ConferenceFile:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        ids = [entry.id for entry in self.agenda]
        if len(ids) != len(set(ids)):
            raise ValueError("session ids must be unique")
        for entry in self.agenda:
            if not self.starts_on <= entry.day <= self.ends_on:
                raise ValueError(f"session {entry.id} is outside the conference dates")
            if entry.ends <= entry.starts:
                raise ValueError(f"session {entry.id} ends before it starts")
        return self


class Conference(Frozen):
    id: str
    name: str
    organizer: str
    timezone: str
    starts_on: date
    ends_on: date
    fee: Money
    sender: str
    registration: RegistrationRules
    certificate_policy: CertificatePolicy
    sessions: list[AgendaSession]

    @classmethod
    def from_file(cls, data: ConferenceFile) -> Conference:
        zone = ZoneInfo(data.timezone)
        sessions = sorted(
            (
                AgendaSession(
                    id=entry.id,
                    title=entry.title,
                    kind=entry.kind,
                    day=entry.day,
                    starts_at=datetime.combine(entry.day, entry.starts, zone),
                    ends_at=datetime.combine(entry.day, entry.ends, zone),
                    speakers=entry.speakers,
                )
                for entry in data.agenda
            ),
            key=lambda session: session.starts_at,
        )
        for earlier, later in itertools.pairwise(sessions):
            if later.starts_at < earlier.ends_at:
                raise ValueError(f"sessions {earlier.id} and {later.id} overlap")
        return cls(
            sessions=sessions,
            **data.model_dump(exclude={"agenda"}),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ends_at(self) -> datetime:
        """The end of the last day, local time: registration is open until then."""
        return datetime.combine(self.ends_on + timedelta(days=1), time(0), self.zone)

    def is_registration_open(self, now: datetime) -> bool:
        return now < self.ends_at

    def session(self, session_id: str) -> AgendaSession | None:
        return next((session for session in self.sessions if session.id == session_id), None)


class SessionView(BaseModel):
    id: str
    title: str
    kind: SessionKind
    day: date
    starts_at: datetime
    ends_at: datetime


class ConferenceView(BaseModel):
    """The public view of GET /conference."""

    id: str
    name: str
    timezone: str
    starts_on: date
    ends_on: date
    fee: Money
    sessions: list[SessionView]
    certificate_policy: CertificatePolicy

    @classmethod
    def of(cls, conference: Conference) -> ConferenceView:
        return cls(
            sessions=[SessionView.model_validate(session, from_attributes=True) for session in conference.sessions],
            **conference.model_dump(
                include={"id", "name", "timezone", "starts_on", "ends_on", "fee", "certificate_policy"}
            ),
        )
