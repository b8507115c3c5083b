"""The conference as data: what an organiser edits, validated when it is loaded."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.models import Model

SessionKind = Literal["opening", "keynote", "town_hall", "general_session", "workshop", "closing"]
CurrencyCode = Annotated[str, Field(pattern=r"^[a-z]{3}$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
# A session's stream (Zoom, Vimeo, YouTube live...): https only, no spaces or quotes, so it is safe in any page.
JoinUrl = Annotated[str, Field(pattern=r"^https://[^\s\"'<>]+$", max_length=2000)]


class Frozen(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(Frozen):
    """Integer minor units plus an ISO 4217 currency code in lower case, as Stripe has it."""

    amount: Annotated[int, Field(ge=0)]
    currency: CurrencyCode

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    def divided(self, parts: int) -> Money:
        """One of `parts` equal shares (a seat's price from a registration's amount)."""
        return Money(amount=self.amount // parts, currency=self.currency)


class AgendaEntry(Frozen):
    """A session as the data file states it: a local date and local wall-clock times."""

    id: Slug
    title: Annotated[str, Field(min_length=1, max_length=200)]
    kind: SessionKind
    day: date
    starts: time
    ends: time
    speakers: Annotated[list[Text], Field(max_length=20)] = []
    # Organisers paste it days before the event; attendees get it only around the session (GET /me/sessions).
    join_url: JoinUrl | None = None


class AgendaSession(Frozen):
    """A session placed in time: what the API shows and attendance is measured against."""

    id: str
    title: str
    kind: SessionKind
    day: date
    starts_at: datetime
    ends_at: datetime
    speakers: list[str]
    join_url: str | None = None

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
    checkout_item_name: Text
    # Paying by invoice: net this many days from the invoice's sending (Stripe's days_until_due).
    invoice_days_until_due: Annotated[int, Field(ge=1, le=365)] = 30
    # The registration window; without `closes_at` registration stays open until the conference ends.
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None


class Signatory(Frozen):
    """Who signs the certificates."""

    name: Text
    title: Text


# Who gets the commemorative coin mailed: the announcement's rule is "only those who register individually".
CoinRule = Literal["individual_registrants", "none"]


class EventDocument(Frozen):
    """An event as organisers write it (POST/PUT /admin/events); `Conference` is what the code works with."""

    name: Text
    organizer: Text
    organizer_address: Text | None = None
    organizer_tax_id: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    signatory: Signatory | None = None
    timezone: str
    starts_on: date
    ends_on: date
    fee: Money
    sender: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s,<>]+@[^@\s,<>]+$")]
    coin: CoinRule = "individual_registrants"
    registration: RegistrationRules
    certificate_policy: CertificatePolicy
    agenda: Annotated[list[AgendaEntry], Field(min_length=1, max_length=200)]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _agenda_fits_the_dates(self) -> EventDocument:
        """Checks across fields, each reported at the field to correct (`agenda[3].ends`), all at once: an
        organiser's editor shows each next to its input."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.ends_on < self.starts_on:
            problems.append((("ends_on",), "The event ends before it starts."))
        window = self.registration
        if window.opens_at and window.closes_at and window.closes_at <= window.opens_at:
            problems.append((("registration", "closes_at"), "Registration closes before it opens."))
        first_of: dict[str, int] = {}
        for position, entry in enumerate(self.agenda):
            if entry.id in first_of:
                problems.append(
                    (("agenda", position, "id"), f"Session ids must be unique: {entry.id} is also session "
                     f"{first_of[entry.id] + 1}.")
                )  # fmt: skip
            first_of.setdefault(entry.id, position)
            if not self.starts_on <= entry.day <= self.ends_on:
                problems.append((("agenda", position, "day"), f"Session {entry.id} is outside the conference dates."))
            if entry.ends <= entry.starts:
                problems.append((("agenda", position, "ends"), f"Session {entry.id} ends before it starts."))
        if not problems:
            zone = ZoneInfo(self.timezone)
            placed = sorted(
                (datetime.combine(e.day, e.starts, zone), datetime.combine(e.day, e.ends, zone), i)
                for i, e in enumerate(self.agenda)
            )
            for (_, earlier_end, earlier), (later_start, _, later) in itertools.pairwise(placed):
                if later_start < earlier_end:
                    message = f"Sessions {self.agenda[earlier].id} and {self.agenda[later].id} overlap."
                    problems.append((("agenda", later, "starts"), message))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(type=PydanticCustomError("event_document", message), loc=location, input=None)
                    for location, message in problems
                ],
            )
        return self


class ConferenceFile(EventDocument):
    """The seed file (nasro-2020.json): a document with its event id."""

    id: Slug

    def document(self) -> EventDocument:
        return EventDocument.model_validate(self.model_dump(exclude={"id"}))


class Conference(Frozen):
    id: str
    name: str
    organizer: str
    organizer_address: str | None = None
    organizer_tax_id: str | None = None
    signatory: Signatory | None = None
    coin: CoinRule = "individual_registrants"
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
        return cls.of(data.id, data)

    @classmethod
    def of(cls, event_id: str, document: EventDocument) -> Conference:
        return cls(
            id=event_id,
            sessions=cls.placed_sessions(document),
            **document.model_dump(exclude={"agenda", "id"}),
        )

    @staticmethod
    def placed_sessions(document: EventDocument) -> list[AgendaSession]:
        """The agenda placed in the event's time zone, in start order; ValueError when two overlap."""
        zone = ZoneInfo(document.timezone)
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
                    join_url=entry.join_url,
                )
                for entry in document.agenda
            ),
            key=lambda session: session.starts_at,
        )
        for earlier, later in itertools.pairwise(sessions):
            if later.starts_at < earlier.ends_at:
                raise ValueError(f"sessions {earlier.id} and {later.id} overlap")
        return sessions

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ends_at(self) -> datetime:
        """The end of the last day, local time: registration is open until then unless it closes earlier."""
        return datetime.combine(self.ends_on + timedelta(days=1), time(0), self.zone)

    def is_registration_open(self, now: datetime) -> bool:
        opens, closes = self.registration.opens_at, self.registration.closes_at or self.ends_at
        return (opens is None or opens <= now) and now < min(closes, self.ends_at)

    @property
    def mails_coin_to_individuals(self) -> bool:
        return self.coin == "individual_registrants"

    def session(self, session_id: str) -> AgendaSession | None:
        return next((session for session in self.sessions if session.id == session_id), None)


class SessionView(Model):
    id: str
    title: str
    kind: SessionKind
    day: date
    starts_at: datetime
    ends_at: datetime


class ConferenceView(Model):
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
