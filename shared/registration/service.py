"""Registration: a Checkout Session per registration, seats held by payment (one per person), no half-made records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.conference.models import Conference
from shared.conference.ports import Conferences
from shared.errors import (
    AlreadyRegistered,
    FieldError,
    InvalidRequest,
    NotFound,
    PaymentProviderUnavailable,
    RegistrationClosed,
    RegistrationInProgress,
)
from shared.ids import is_id, new_id
from shared.limits import ClientLimits, registrations_per_hour
from shared.registration.models import (
    Billing,
    GroupRegistrationRequest,
    IndividualRegistrationRequest,
    InvoicePayment,
    Registration,
    Seat,
    normalize_email,
    resubmission_key,
)
from shared.registration.ports import (
    CheckoutRequest,
    EmailsHeld,
    PaymentGateway,
    PaymentProviderError,
    RegistrationRepository,
    RequestPending,
    StaleWrite,
)
from shared.registration.status import RegistrationStatus

RegistrationRequestBody = IndividualRegistrationRequest | GroupRegistrationRequest

# A registration whose Checkout Session is still being created is left alone this long; after that a
# resubmission assumes its creator died and finishes the job (with the same Stripe idempotency key).
CHECKOUT_CREATION_LEASE = timedelta(seconds=60)
# A Checkout URL handed out must stay usable for at least this long, or a new session is made.
MIN_CHECKOUT_REMAINING = timedelta(minutes=5)
# Registrations one source address may submit per hour (the template's RegistrationsPerAddress): generous, since
# an agency behind one address registers its officers one by one.
REGISTRATIONS_PER_HOUR = 100
# Rounds of "create, find the request's claim stale, free it, create again" before giving up.
CREATE_ROUNDS = 3


@dataclass(frozen=True)
class RegistrationOutcome:
    registration: Registration
    created: bool


class RegistrationService:
    def __init__(
        self,
        *,
        events: Conferences,
        repository: RegistrationRepository,
        payments: PaymentGateway,
        conference_clock: Clock,
        wall_clock: Clock,
        site_url: str,
        limits: ClientLimits,
        per_client_hourly: int = REGISTRATIONS_PER_HOUR,
        new_registration_id: Callable[[], str] = lambda: new_id("reg"),
        new_attendee_id: Callable[[], str] = lambda: new_id("att"),
    ) -> None:
        self._events = events
        self._repository = repository
        self._payments = payments
        self._conference_clock = conference_clock
        self._wall_clock = wall_clock
        self._site_url = site_url.rstrip("/")
        self._limits = limits
        self._per_client = registrations_per_hour(per_client_hourly)
        self._new_registration_id = new_registration_id
        self._new_attendee_id = new_attendee_id

    def get(self, registration_id: str) -> Registration:
        registration = self._repository.get(registration_id) if is_id(registration_id, "reg") else None
        if registration is None:
            raise NotFound("No registration has this id.")
        return registration

    def register(self, request: RegistrationRequestBody, *, client: str) -> RegistrationOutcome:
        """A registration awaiting payment, with its Checkout URL. Seats are held by payment, not by submission: a
        request is refused only for an email whose seat is paid; an identical request (`resubmission_key`) gets its
        registration back; any other request naming the same people makes its own and learns nothing of theirs."""
        conference = self._event_of(request)
        now = self._conference_clock.now()
        if not conference.is_registration_open(now):
            opens = conference.registration.opens_at
            if opens is not None and now < opens:
                raise RegistrationClosed(f"Registration opens on {opens.astimezone(conference.zone):%B %-d, %Y}.")
            raise RegistrationClosed("Registration for this event has closed.")
        self._check_seats(conference, request)
        # Counted once the request is known to be a valid one: it is what creates a Checkout Session at Stripe.
        self._limits.take(self._per_client, client)
        resubmission, tolerated = resubmission_key(request), dict[str, str]()
        for _ in range(CREATE_ROUNDS):
            draft = self._draft(conference, request, resubmission)
            try:
                self._repository.create(draft, tolerated)
            except EmailsHeld as held:
                tolerated |= self._stale_guards(conference.id, request, held.email_keys)  # or 409 for a paid seat
                continue
            except RequestPending as pending:
                existing = self._repository.get(pending.registration_id)
                if existing is not None and existing.status is RegistrationStatus.INVOICE_REQUESTED:
                    return RegistrationOutcome(existing, created=False)  # awaits finance, as it was
                if existing is None or existing.status is not RegistrationStatus.PENDING_PAYMENT:
                    # Its registration expired, was cancelled or paid: the claim is stale, so this request starts
                    # afresh (a paid one's people were refused above, or got their seat refunded since).
                    self._repository.release_claim(conference.id, resubmission, pending.registration_id)
                    continue
                return RegistrationOutcome(self._usable_checkout(existing), created=False)
            if draft.pays_by_invoice:
                return RegistrationOutcome(draft, created=True)  # no Stripe call: finance approves it first
            try:
                return RegistrationOutcome(self._open_checkout(draft), created=True)
            except PaymentProviderUnavailable:
                self._repository.discard(draft)  # the registrant can submit again
                raise
        raise RegistrationInProgress("This request's registration keeps changing; try again in a moment.")

    def _stale_guards(self, event_id: str, request: RegistrationRequestBody, held: list[str]) -> dict[str, str]:
        """The guards among `held` that name a registration holding no paid seat for that person (email -> that
        registration), to be tolerated; 409 for the first seat whose person holds a paid seat (by position, never
        by email)."""
        seat_keys = [normalize_email(attendee.email) for attendee in request.seats]
        holders = self._repository.seat_holders(event_id, [key for key in seat_keys if key in held])
        read: dict[str, Registration | None] = {}
        stale: dict[str, str] = {}
        for position, key in enumerate(seat_keys):
            holder_id = holders.get(key)
            if holder_id is None:
                continue  # freed since: the next round finds it free
            if holder_id not in read:
                read[holder_id] = self._repository.get(holder_id)
            holder = read[holder_id]
            if holder is None or not holder.holds_paid_seat(key):
                stale[key] = holder_id  # left by a refunded seat: the next payment takes it over
                continue
            if isinstance(request, IndividualRegistrationRequest):
                raise AlreadyRegistered("This email already holds a seat at the conference.")
            raise AlreadyRegistered(f"Attendee {position + 1} already holds a seat at the conference.")
        return stale

    def _event_of(self, request: RegistrationRequestBody) -> Conference:
        if request.event_id is None:
            return self._events.published(self._events.featured_id())
        try:
            return self._events.published(request.event_id)
        except NotFound:
            raise InvalidRequest([FieldError("event_id", "No published event has this id.")]) from None

    @staticmethod
    def _check_seats(conference: Conference, request: RegistrationRequestBody) -> None:
        errors: list[FieldError] = []
        limit = conference.registration.max_group_attendees
        if isinstance(request, GroupRegistrationRequest) and len(request.attendees) > limit:
            errors.append(FieldError("attendees", f"A group registers at most {limit} attendees."))
        first_seen: dict[str, int] = {}
        for position, attendee in enumerate(request.seats):
            key = normalize_email(attendee.email)
            if key in first_seen:
                errors.append(
                    FieldError(
                        f"attendees[{position}].email",
                        f"Attendee {position + 1} has the same email as attendee {first_seen[key] + 1}; "
                        "each attendee is a distinct person.",
                    )
                )
            first_seen.setdefault(key, position)
        if errors:
            raise InvalidRequest(errors)

    def _draft(self, conference: Conference, request: RegistrationRequestBody, resubmission: str) -> Registration:
        now = self._wall_clock.now()
        seats = [Seat(attendee_id=self._new_attendee_id(), **attendee.model_dump()) for attendee in request.seats]
        invoice = request.payment if isinstance(request.payment, InvoicePayment) else None
        return Registration(
            registration_id=self._new_registration_id(),
            event_id=conference.id,
            kind=request.kind,
            status=RegistrationStatus.INVOICE_REQUESTED if invoice else RegistrationStatus.PENDING_PAYMENT,
            billing=Billing(**invoice.model_dump(exclude={"method"})) if invoice else None,
            seats=seats,
            purchaser=request.purchaser if isinstance(request, GroupRegistrationRequest) else None,
            shipping_address=(request.shipping_address if isinstance(request, IndividualRegistrationRequest) else None),
            amount=conference.fee.times(len(seats)),
            created_at=now,
            checkout_attempt=1,
            checkout_expires_at=self._checkout_expiry(conference),
            resubmission=resubmission,
        )

    def _checkout_expiry(self, conference: Conference) -> datetime:
        minutes = conference.registration.checkout_expires_after_minutes
        return self._wall_clock.now().replace(microsecond=0) + timedelta(minutes=minutes)

    def _usable_checkout(self, registration: Registration) -> Registration:
        now = self._wall_clock.now()
        if registration.checkout is None:
            if now - registration.created_at < CHECKOUT_CREATION_LEASE:
                raise RegistrationInProgress("This registration is still being created; try again in a moment.")
            return self._open_checkout(registration)  # its creator died: finish with the same key
        if registration.checkout.expires_at - now > MIN_CHECKOUT_REMAINING:
            return registration
        conference = self._events.conference(registration.event_id)
        attempt, expires_at = registration.checkout_attempt + 1, self._checkout_expiry(conference)
        try:
            self._repository.start_checkout_attempt(registration, attempt, expires_at)
        except StaleWrite as exc:
            raise RegistrationInProgress("This registration is being updated; try again in a moment.") from exc
        renewed = registration.model_copy(
            update={"checkout_attempt": attempt, "checkout_expires_at": expires_at, "checkout": None}
        )
        return self._open_checkout(renewed)

    def _open_checkout(self, registration: Registration) -> Registration:
        try:
            checkout = self._payments.create_checkout(self._checkout_request(registration))
        except PaymentProviderError as exc:
            raise PaymentProviderUnavailable(
                "The payment provider could not be reached. Nothing was charged; please try again."
            ) from exc
        try:
            self._repository.attach_checkout(registration, checkout)
        except StaleWrite:
            current = self._repository.get(registration.registration_id)
            if current is not None and current.checkout is not None:
                return current
            raise RegistrationInProgress("This registration is being updated; try again in a moment.") from None
        return registration.model_copy(update={"checkout": checkout})

    def _checkout_request(self, registration: Registration) -> CheckoutRequest:
        conference = self._events.conference(registration.event_id)
        payer = registration.purchaser.email if registration.purchaser else registration.seats[0].email
        return_url = f"{self._site_url}/?registration_id={registration.registration_id}"
        return CheckoutRequest(
            registration_id=registration.registration_id,
            attempt=registration.checkout_attempt,
            kind=registration.kind,
            seats=len(registration.seats),
            unit_price=registration.amount.divided(len(registration.seats)),
            item_name=conference.registration.checkout_item_name,
            customer_email=payer,
            expires_at=registration.checkout_expires_at,
            success_url=f"{return_url}&checkout=success",
            cancel_url=f"{return_url}&checkout=cancelled",
        )
