"""Registration: the request a registrant submits, the stored registration, and the answers."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from shared.conference.models import Money
from shared.models import Model
from shared.payments.models import HistoryEntry, PaymentFacts
from shared.registration.status import RegistrationStatus
from shared.text import CountryCode, Name, Phone, Text


class _EmailAddress:
    """pydantic's EmailStr (the same check, the same errors, the same JSON schema), except that email-validator
    is imported when the first address is validated rather than when a model using it is defined, so it leaves
    the cold start (Init) and is paid, once, by the first request that reads or writes an address."""

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: object, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls._validate, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        field_schema = handler(schema)
        field_schema.update(type="string", format="email")
        return field_schema

    @staticmethod
    def _validate(value: str) -> str:
        """An address SES can deliver to and our MIME builder can encode: an ASCII local part (no SMTPUTF8), and an
        internationalised domain kept in its ASCII (IDNA) form, so that the address stored is the one mailed."""
        import email_validator

        try:
            checked = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except email_validator.EmailNotValidError as exc:
            raise ValueError(f"value is not a valid email address: {exc}") from None
        return str(checked.ascii_email)


Email = Annotated[str, _EmailAddress, Field(max_length=254)]
# Letters and digits, with spaces, dots, dashes, slashes or # between them: "IL-12345", "PSID 0012/7", "A.123#4".
LicenseId = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9 .#/\-]*[A-Za-z0-9])?$")
]


class Strict(Model):
    """Request models: unknown fields are rejected, so no client can set status, price or the like."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Attendee(Strict):
    first_name: Name
    last_name: Name
    email: Email
    organization: Text
    job_title: Text | None = None
    phone: Phone | None = None
    # A state training board's licence number or the agency's officer id, printed on the certificate if given.
    license_id: LicenseId | None = None


class ShippingAddress(Strict):
    line1: Text
    line2: Text | None = None
    city: Text
    state: Text
    postal_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,14}$")]
    country: CountryCode


class Purchaser(Strict):
    name: Name
    email: Email
    organization: Text


class InvoicePayment(Strict):
    """To pay by invoice (agencies: purchase order, check, bank transfer): who the invoice goes to, and the PO
    number it carries. `checkout` (the default) pays at once on Stripe Checkout."""

    method: Literal["invoice"]
    po_number: Annotated[str, Field(min_length=1, max_length=30)] | None = None  # Stripe's custom field value limit
    billing_email: Email
    billing_name: Name


class CheckoutPayment(Strict):
    method: Literal["checkout"]


PaymentChoice = Annotated[CheckoutPayment | InvoicePayment, Field(discriminator="method")]


# An event id as the events' data has it; a registration without one joins the stack's featured event.
EventId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class IndividualRegistrationRequest(Strict):
    kind: Literal["individual"]
    event_id: EventId | None = None
    attendee: Attendee
    shipping_address: ShippingAddress
    payment: PaymentChoice | None = None

    @property
    def seats(self) -> list[Attendee]:
        return [self.attendee]


class GroupRegistrationRequest(Strict):
    kind: Literal["group"]
    event_id: EventId | None = None
    purchaser: Purchaser
    # The upper bound is the conference's rule; this one only stops absurd bodies early.
    attendees: Annotated[list[Attendee], Field(min_length=1, max_length=99)]
    payment: PaymentChoice | None = None

    @property
    def seats(self) -> list[Attendee]:
        return list(self.attendees)


RegistrationRequest = Annotated[IndividualRegistrationRequest | GroupRegistrationRequest, Field(discriminator="kind")]
# Built with the first request it validates, like the models (shared/models.py).
registration_request_adapter: TypeAdapter[IndividualRegistrationRequest | GroupRegistrationRequest] = TypeAdapter(
    RegistrationRequest, config=ConfigDict(defer_build=True)
)


def normalize_email(email: str) -> str:
    """The comparison key for "one seat per person": addresses compared case-insensitively."""
    return email.strip().casefold()


def request_fingerprint(request: IndividualRegistrationRequest | GroupRegistrationRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def resubmission_key(request: IndividualRegistrationRequest | GroupRegistrationRequest) -> str:
    """What makes two requests "the same request" (API.md): the same kind, the same people and the same address,
    emails compared case-insensitively and a group's attendees in any order. The event is in the claim's key."""
    body = request.model_dump(mode="json", exclude={"event_id"})
    if body.get("payment") in (None, {"method": "checkout"}):
        body.pop("payment", None)  # checkout is the default: saying so makes the same request
    elif body["payment"].get("billing_email"):
        body["payment"]["billing_email"] = normalize_email(body["payment"]["billing_email"])
    people = [body["attendee"]] if "attendee" in body else body["attendees"]
    for person in [*people, body.get("purchaser") or {}]:
        if "email" in person:
            person["email"] = normalize_email(person["email"])
    if "attendees" in body:
        body["attendees"] = sorted(body["attendees"], key=lambda person: person["email"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class SeatStatus(StrEnum):
    ACTIVE = "active"  # the seat counts once its registration is paid
    # The person already held a paid seat when this registration was paid: this seat's fee goes back to the payer.
    REFUND_DUE = "refund_due"
    REFUNDED = "refunded"  # its fee went back through Stripe: its code and certificate stop counting
    # The person already held a paid seat when this registration's invoice was made: the seat is not on it.
    NOT_BILLED = "not_billed"


class Seat(Model):
    """One attendee's place in a registration; the attendee id is fixed when the seat is made."""

    model_config = ConfigDict(frozen=True)

    attendee_id: str
    first_name: str
    last_name: str
    email: str
    organization: str
    job_title: str | None = None
    phone: str | None = None
    license_id: str | None = None
    status: SeatStatus = SeatStatus.ACTIVE
    refund_id: str | None = None  # the Stripe refund of this seat's fee alone

    @property
    def email_key(self) -> str:
        return normalize_email(self.email)


class Checkout(Model):
    """The Stripe Checkout Session that currently lets the registrant pay."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    url: str
    expires_at: datetime


class Billing(Model):
    """Who an invoice goes to (a registration paid by invoice)."""

    model_config = ConfigDict(frozen=True)

    billing_email: str
    billing_name: str
    po_number: str | None = None


class Registration(Model):
    model_config = ConfigDict(frozen=True)

    registration_id: str
    event_id: str
    kind: Literal["individual", "group"]
    status: RegistrationStatus
    seats: list[Seat]
    purchaser: Purchaser | None = None
    shipping_address: ShippingAddress | None = None
    amount: Money
    created_at: datetime
    # The n-th Checkout Session attempt; the Stripe idempotency key is derived from it, and its
    # expiry is fixed before Stripe is called so that a retried call sends identical parameters.
    checkout_attempt: int
    checkout_expires_at: datetime
    checkout: Checkout | None = None
    # The request's `resubmission_key`: an identical request while this awaits payment gets this registration back.
    resubmission: str | None = None
    payment: PaymentFacts = PaymentFacts()
    # Set when the registrant asked to pay by invoice; None pays through Checkout.
    billing: Billing | None = None
    history: list[HistoryEntry] = []
    # Bumped by every write after creation; payment settlements are conditional on it.
    version: int = 0

    @property
    def email_keys(self) -> list[str]:
        return [seat.email_key for seat in self.seats]

    @property
    def active_seats(self) -> list[Seat]:
        return [seat for seat in self.seats if seat.status is SeatStatus.ACTIVE]

    @property
    def seat_fee(self) -> Money:
        return self.amount.divided(len(self.seats))

    @property
    def pays_by_invoice(self) -> bool:
        return self.billing is not None

    @property
    def amount_due(self) -> Money:
        """What the payment must be: the whole amount, less the seats left off an invoice (their person held one)."""
        unbilled = sum(seat.status is SeatStatus.NOT_BILLED for seat in self.seats)
        if not unbilled:
            return self.amount
        return Money(amount=self.amount.amount - self.seat_fee.amount * unbilled, currency=self.amount.currency)

    def holds_paid_seat(self, email_key: str) -> bool:
        """Whether this registration holds the person's one paid seat: paid (or paid and disputed, or invoiced: its
        seats are held while the invoice is open) and that person's seat neither refunded nor due a refund. A
        refunded, expired or cancelled registration holds nobody's."""
        if self.status not in SEAT_HOLDING_STATUSES:
            return False
        return any(seat.email_key == email_key for seat in self.active_seats)

    def with_seats(self, statuses: dict[str, SeatStatus], refund_ids: dict[str, str] | None = None) -> list[Seat]:
        """The seats with these attendees' statuses (and refund ids) changed."""
        refund_ids = refund_ids or {}
        return [
            seat.model_copy(
                update={
                    "status": statuses.get(seat.attendee_id, seat.status),
                    "refund_id": refund_ids.get(seat.attendee_id, seat.refund_id),
                }
            )
            for seat in self.seats
        ]


SEAT_HOLDING_STATUSES = frozenset({RegistrationStatus.PAID, RegistrationStatus.DISPUTED, RegistrationStatus.INVOICED})


class RegistrationCreated(Model):
    """The answer to POST /registrations: a Checkout URL, or none for a request to pay by invoice."""

    registration_id: str
    status: RegistrationStatus
    kind: Literal["individual", "group"]
    amount: Money
    seats: int
    checkout_url: str | None = None
    expires_at: datetime | None = None

    def as_answer(self) -> dict[str, object]:
        """The JSON body: an invoice request's has no `checkout_url` or `expires_at` (nothing to pay yet)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def of(cls, registration: Registration) -> RegistrationCreated:
        if registration.checkout is None:
            assert registration.pays_by_invoice, "only a registration with a checkout or an invoice is answered"
            return cls(
                registration_id=registration.registration_id,
                status=registration.status,
                kind=registration.kind,
                amount=registration.amount,
                seats=len(registration.seats),
            )
        return cls(
            registration_id=registration.registration_id,
            status=registration.status,
            kind=registration.kind,
            amount=registration.amount,
            seats=len(registration.seats),
            checkout_url=registration.checkout.url,
            expires_at=registration.checkout.expires_at,
        )


class RegistrationSummary(Model):
    """The public view of GET /registrations/{id}: no personal data."""

    registration_id: str
    kind: Literal["individual", "group"]
    status: RegistrationStatus
    seats: int

    @classmethod
    def of(cls, registration: Registration) -> RegistrationSummary:
        return cls(
            registration_id=registration.registration_id,
            kind=registration.kind,
            status=registration.status,
            seats=len(registration.seats),
        )
