"""Domain errors. Each has a stable `code`; `shared.api.problems` alone maps them to HTTP.

Details are written for the person reading them and never carry secrets or another person's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Request failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidRequest(DomainError):
    code = "validation_error"
    title = "The request is not valid"

    def __init__(self, errors: list[FieldError], detail: str = "Some fields are missing or invalid.") -> None:
        super().__init__(detail)
        self.errors = errors


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    title = "The request body must be JSON"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class AlreadyRegistered(DomainError):
    code = "already_registered"
    title = "Already registered"


class RegistrationInProgress(DomainError):
    code = "registration_in_progress"
    title = "A registration for this person is being created"


class RegistrationClosed(DomainError):
    code = "registration_closed"
    title = "Registration is closed"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "The Idempotency-Key was used with a different request"


class RequestInProgress(DomainError):
    code = "request_in_progress"
    title = "A request with this Idempotency-Key is still being processed"


class PaymentProviderUnavailable(DomainError):
    """Stripe did not answer usefully; nothing is kept that would block a new attempt."""

    code = "payment_provider_unavailable"
    title = "Payments are temporarily unavailable"


class TemporarilyUnavailable(DomainError):
    """A dependency (the database, the secret store) is throttling or down; the client may retry."""

    code = "temporarily_unavailable"
    title = "The service is temporarily unavailable"


class InvalidSignature(DomainError):
    """A Stripe webhook whose signature, timestamp or shape does not verify: nothing is done with it."""

    code = "invalid_signature"
    title = "The webhook signature does not verify"


class Unauthorized(DomainError):
    """No bearer token, or not the organiser's."""

    code = "unauthorized"
    title = "Authentication required"


class InvalidCredentials(DomainError):
    """Any wrong email / access code pair, or a seat no longer held: one answer, revealing nothing."""

    code = "invalid_credentials"
    title = "The email and access code do not match"


class InvalidSession(DomainError):
    code = "invalid_session"
    title = "The session is not valid"


class SessionSuperseded(DomainError):
    """A newer login of the same attendee ended this session (one active session per person)."""

    code = "session_superseded"
    title = "This session was ended by a newer login"


class NotIssued(DomainError):
    """The attendee has no valid certificate (yet, or any more): GET /me/certificate."""

    code = "not_issued"
    title = "No certificate has been issued"


class TooManyRequests(DomainError):
    """One client (source address) over a per-client limit (shared/limits.py)."""

    code = "too_many_requests"
    title = "Too many requests from this address"

    def __init__(self, detail: str, *, retry_after: int = 900) -> None:
        super().__init__(detail)
        self.retry_after = retry_after  # seconds until the client's window ends


class NotRefundable(DomainError):
    """Refunds and resends are for paid (or disputed) registrations only."""

    code = "not_refundable"
    title = "This registration has no payment to act on"


class InvalidTransition(DomainError):
    """An organiser's action the registration's status does not allow (approving what is not invoice_requested)."""

    code = "invalid_transition"
    title = "The registration's status does not allow this"


class NotAGroupSeat(DomainError):
    """A substitution asked for an individual's seat: an individual registrant's seat is theirs (a correction fixes
    its details)."""

    code = "not_a_group_seat"
    title = "Only a group's seat passes to another person"


class ConferenceStarted(DomainError):
    """A change allowed only before the conference starts (a substitution), asked for after."""

    code = "conference_started"
    title = "The conference has started"


class Forbidden(DomainError):
    """The organiser is known but their role does not allow this action."""

    code = "forbidden"
    title = "Not allowed for your role"


class VersionConflict(DomainError):
    """An edit made against a version that is no longer the current one (If-Match)."""

    code = "version_conflict"
    title = "The event changed since you read it"


class PreconditionRequired(DomainError):
    code = "precondition_required"
    title = "Send If-Match with the version you edited"


class ChangeRefused(DomainError):
    """An edit that would invalidate what attendees already hold (a fee after payments, a session with minutes)."""

    code = "change_refused"
    title = "This change would invalidate what attendees hold"
