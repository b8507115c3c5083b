"""The OpenAPI document, derived from the same pydantic models the handlers validate and answer with."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from shared.admin.corrections import AttendeeCorrection, CorrectedAttendee, MailProblemPage
from shared.admin.detail import RegistrationDetail
from shared.admin.group_changes import ResentToAttendee, SubstitutedAttendee
from shared.admin.privacy import PersonRequest
from shared.admin.service import Accepted, RegistrationPage
from shared.attendance.models import (
    AccessCodeRequest,
    HeartbeatRequest,
    LoginAnswer,
    LoginRequest,
    MyAttendance,
    MyProfile,
    MySession,
)
from shared.attendance.platform import ImportResult
from shared.certificates.models import CertificateView, IssueResult, ReissueRequest, ReissueResult
from shared.conference.models import ConferenceView, EventDocument
from shared.events.models import EventDetail, EventList, EventSaved, PublicEvent
from shared.jobs.models import JobView
from shared.models import Model
from shared.payments.invoices import InvoiceSent
from shared.registration.models import (
    GroupRegistrationRequest,
    IndividualRegistrationRequest,
    RegistrationCreated,
    RegistrationSummary,
)


class ProblemFieldError(Model):
    field: str = Field(examples=["attendee.email"])
    message: str


class Problem(Model):
    """RFC 9457 problem details; `code` is stable and meant for clients to branch on."""

    type: str
    title: str
    status: int
    code: str = Field(examples=["validation_error", "already_registered", "not_found"])
    detail: str
    errors: list[ProblemFieldError] | None = Field(default=None, description="Only on 422.")


_REQUEST_MODELS: list[type[BaseModel]] = [
    IndividualRegistrationRequest,
    GroupRegistrationRequest,
    LoginRequest,
    HeartbeatRequest,
    AccessCodeRequest,
    ReissueRequest,
    AttendeeCorrection,
    PersonRequest,
    EventDocument,
]
_RESPONSE_MODELS: list[type[BaseModel]] = [
    ConferenceView,
    RegistrationCreated,
    RegistrationSummary,
    LoginAnswer,
    MyAttendance,
    MyProfile,
    MySession,
    CertificateView,
    IssueResult,
    JobView,
    ImportResult,
    ReissueResult,
    CorrectedAttendee,
    SubstitutedAttendee,
    ResentToAttendee,
    RegistrationDetail,
    MailProblemPage,
    RegistrationPage,
    Accepted,
    InvoiceSent,
    PublicEvent,
    EventList,
    EventDetail,
    EventSaved,
    Problem,
]


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_REGISTRATION_ID = {
    "name": "registration_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^reg_[a-z2-7]{24}$"},
}
_EVENT_ID = {
    "name": "event_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"},
}
_EVENT_QUERY = {
    "name": "event_id",
    "in": "query",
    "required": False,
    "description": "The event (default: the stack's featured event).",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"},
}
_ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]


def _event_action(operation_id: str, summary: str) -> dict[str, Any]:
    """POST /admin/events/{event_id}/<action>: publish, unpublish, feature all answer alike."""
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "security": _ADMIN,
            "parameters": [_EVENT_ID],
            "responses": {
                "200": _json("EventSaved", "Done (also when it already was)"),
                "401": _problem("unauthorized"),
                "404": _problem("No event has this id"),
                "409": _problem("change_refused"),
            },
        }
    }


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key and body gets the same answer.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

PATHS: dict[str, dict[str, Any]] = {
    "/conference": {
        "get": {
            "operationId": "getConference",
            "summary": "The conference: dates, fee, agenda and certificate policy",
            "responses": {"200": _json("ConferenceView", "The conference")},
        }
    },
    "/events": {
        "get": {
            "operationId": "listEvents",
            "summary": "The published events",
            "responses": {
                "200": {
                    "description": "Published events, earliest first",
                    "content": {"application/json": {"schema": {"type": "array", "items": _ref("PublicEvent")}}},
                }
            },
        }
    },
    "/events/{event_id}": {
        "get": {
            "operationId": "getEvent",
            "summary": "One published event: what GET /conference answers for the featured one",
            "parameters": [_EVENT_ID],
            "responses": {
                "200": _json("ConferenceView", "The event"),
                "404": _problem("No published event has this id"),
            },
        }
    },
    "/admin/events": {
        "get": {
            "operationId": "listEventsForOrganisers",
            "summary": "Every event, published or not, with its version",
            "security": _ADMIN,
            "responses": {"200": _json("EventList", "Every event"), "401": _problem("unauthorized")},
        },
        "post": {
            "operationId": "createEvent",
            "summary": "A new event (unpublished), its id made from its name",
            "security": _ADMIN,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EventDocument")}}},
            "responses": {
                "201": _json("EventSaved", "Created at version 1"),
                "401": _problem("unauthorized"),
                "413": _problem("The body is over 64 KiB"),
                "415": _problem("The body is not JSON"),
                "422": _problem("Invalid fields, named in `errors`"),
            },
        },
    },
    "/admin/events/{event_id}": {
        "get": {
            "operationId": "getEventDocument",
            "summary": "The whole event document, its version (also as ETag) and its change history",
            "security": _ADMIN,
            "parameters": [_EVENT_ID],
            "responses": {
                "200": _json("EventDetail", "The event"),
                "401": _problem("unauthorized"),
                "404": _problem("No event has this id"),
            },
        },
        "put": {
            "operationId": "replaceEvent",
            "summary": "The next version of the event: the whole document, against the version read (If-Match)",
            "security": _ADMIN,
            "parameters": [
                _EVENT_ID,
                {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}},
                {"name": "force", "in": "query", "required": False, "schema": {"type": "boolean"}},
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EventDocument")}}},
            "responses": {
                "200": _json("EventSaved", "Saved as the next version"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: only an administrator may force a change"),
                "404": _problem("No event has this id"),
                "409": _problem("change_refused: the change would invalidate what attendees hold"),
                "412": _problem("version_conflict: the event changed since it was read"),
                "422": _problem("Invalid fields, named in `errors`"),
                "428": _problem("precondition_required: If-Match is missing"),
            },
        },
    },
    "/admin/events/{event_id}/publish": _event_action(
        "publishEvent", "Publish the event (GET /events lists it, registrations open)"
    ),
    "/admin/events/{event_id}/unpublish": _event_action(
        "unpublishEvent", "Unpublish the event (hidden; its attendees keep working)"
    ),
    "/admin/events/{event_id}/feature": _event_action(
        "featureEvent", "Make this published event the one GET /conference answers"
    ),
    "/registrations": {
        "post": {
            "operationId": "createRegistration",
            "summary": "Register one person (with a coin) or a group of named attendees, and get a Checkout URL; or, "
            "with payment.method invoice, ask to pay by invoice (invoice_requested, no checkout_url, nothing held)",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [_ref("IndividualRegistrationRequest"), _ref("GroupRegistrationRequest")],
                            "discriminator": {"propertyName": "kind"},
                        }
                    }
                },
            },
            "responses": {
                "201": _json("RegistrationCreated", "Registration created, awaiting payment (or finance's approval)"),
                "200": _json("RegistrationCreated", "The same person's registration that still awaits payment"),
                "409": _problem("already_registered, registration_in_progress or registration_closed"),
                "413": _problem("The body is over 64 KiB"),
                "415": _problem("The body is not JSON"),
                "422": _problem("Invalid fields, named in `errors`"),
                "503": _problem("The payment provider or the database is unavailable; retry"),
            },
        }
    },
    "/registrations/{registration_id}": {
        "get": {
            "operationId": "getRegistration",
            "summary": "A registration's status (no personal data)",
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("RegistrationSummary", "The registration"),
                "404": _problem("No such registration"),
            },
        }
    },
    "/webhooks/stripe": {
        "post": {
            "operationId": "receiveStripeEvent",
            "summary": "Stripe's webhook: events are verified with Stripe-Signature, then re-read from Stripe",
            "parameters": [
                {
                    "name": "Stripe-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Verified over the raw body, within 300 s of now either way.",
                }
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "Received (also for duplicates and event types not acted on)"},
                "400": _problem("invalid_signature: the signature, its timestamp or the body does not verify"),
                "503": _problem("Stripe or a secret could not be read; Stripe delivers again later"),
            },
        }
    },
    "/admin/registrations": {
        "get": {
            "operationId": "listRegistrations",
            "summary": "Registrations with their attendees, oldest first, a page at a time",
            "security": [{"adminToken": []}],
            "parameters": [
                _EVENT_QUERY,
                {"name": "status", "in": "query", "required": False, "schema": _ref("RegistrationStatus")},
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": _json("RegistrationPage", "A page; pass next_cursor back for the next one"),
                "401": _problem("unauthorized"),
                "422": _problem("An unknown status or a cursor that is not one of ours"),
            },
        }
    },
    "/admin/exports/registrations.csv": {
        "get": {
            "operationId": "exportRegistrations",
            "summary": "One row per seat, with registration_id and attendee_id",
            "security": [{"adminToken": []}],
            "parameters": [_EVENT_QUERY],
            "responses": {
                "200": {"description": "CSV (UTF-8 with BOM)", "content": {"text/csv": {}}},
                "401": _problem("unauthorized"),
            },
        }
    },
    "/admin/exports/attendance.csv": {
        "get": {
            "operationId": "exportAttendance",
            "summary": "Per attendee: organization, licence id, minutes per session (and how many came from the page "
            "and from the platform's reports), days logged in, eligibility, shared-login signals, the certificate id "
            "and its status; one registration's attendees only with registration_id (an agency's roster)",
            "security": [{"adminToken": []}],
            "parameters": [
                _EVENT_QUERY,
                {
                    "name": "registration_id",
                    "in": "query",
                    "required": False,
                    "description": "Only this registration's attendees (404 if the event has no such registration).",
                    "schema": {"type": "string", "pattern": "^reg_[a-z2-7]{24}$"},
                },
            ],
            "responses": {
                "200": {"description": "CSV (UTF-8 with BOM)", "content": {"text/csv": {}}},
                "401": _problem("unauthorized"),
            },
        }
    },
    "/admin/registrations/{registration_id}/refund": {
        "post": {
            "operationId": "refundRegistration",
            "summary": "A full refund through Stripe (idempotent); the webhook then finishes the change",
            "security": [{"adminToken": []}],
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "202": _json("Accepted", "Refund requested"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found"),
                "409": _problem("not_refundable: not paid"),
                "503": _problem("Stripe did not answer; try again"),
            },
        }
    },
    "/admin/registrations/{registration_id}/seats/{attendee_id}/refund": {
        "post": {
            "operationId": "refundSeat",
            "summary": "One seat's fee back through Stripe (idempotent per seat): the seat is refunded, its code and "
            "certificate stop working, its person is told; the registration is refunded once every seat is",
            "security": [{"adminToken": []}],
            "parameters": [
                _REGISTRATION_ID,
                {"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "202": _json("Accepted", "Seat refunded"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: finance or admin only"),
                "404": _problem("not_found: no such registration or seat"),
                "409": _problem("not_refundable: not paid"),
                "503": _problem("Stripe did not answer; try again"),
            },
        }
    },
    "/admin/registrations/{registration_id}/invoice": {
        "post": {
            "operationId": "approveInvoice",
            "summary": "finance: approve a request to pay by invoice: Stripe sends the invoice (send_invoice, net the "
            "event's invoice_days_until_due, card, US bank account and bank transfer, the PO number on it); the "
            "registration becomes invoiced, its seats held, its attendees confirmed; one invoice however often asked",
            "security": [{"adminToken": []}],
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "202": _json("InvoiceSent", "Invoice sent"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: finance or admin only"),
                "404": _problem("not_found"),
                "409": _problem(
                    "invalid_transition: not invoice_requested; already_registered: every seat's person "
                    "holds a paid seat"
                ),
                "503": _problem("Stripe did not answer; try again"),
            },
        }
    },
    "/admin/registrations/{registration_id}/reject": {
        "post": {
            "operationId": "rejectInvoiceRequest",
            "summary": "finance: reject a request to pay by invoice: the registration is cancelled, nothing was held",
            "security": [{"adminToken": []}],
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("RegistrationSummary", "Rejected: cancelled"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: finance or admin only"),
                "404": _problem("not_found"),
                "409": _problem("invalid_transition: not invoice_requested"),
            },
        }
    },
    "/admin/registrations/{registration_id}": {
        "get": {
            "operationId": "getRegistration",
            "summary": "One registration: its seats (with email_status), payment (invoice if any), the people "
            "substitutions replaced, and its history oldest first",
            "security": [{"adminToken": []}],
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "200": _json("RegistrationDetail", "The registration"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found"),
            },
        }
    },
    "/admin/registrations/{registration_id}/resend-confirmation": {
        "post": {
            "operationId": "resendConfirmation",
            "summary": "A new access-code email per seat; each new code replaces every earlier one",
            "security": [{"adminToken": []}],
            "parameters": [_REGISTRATION_ID],
            "responses": {
                "202": _json("Accepted", "Queued"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found"),
                "409": _problem("not_refundable: not paid"),
            },
        }
    },
    "/admin/people/export": {
        "post": {
            "operationId": "exportPerson",
            "summary": "Everything held about one person (JSON), by the email in the body (never in the URL)",
            "security": [{"adminToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PersonRequest")}}},
            "responses": {
                "200": {"description": "The person's data", "content": {"application/json": {}}},
                "401": _problem("unauthorized"),
                "404": _problem("not_found: nothing is held about this email"),
                "422": _problem("Not an email address"),
            },
        }
    },
    "/admin/people/erase": {
        "post": {
            "operationId": "erasePerson",
            "summary": "Erase a person's data, keeping the financial record and revoking their certificate",
            "security": [{"adminToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PersonRequest")}}},
            "responses": {
                "200": {"description": "Erased", "content": {"application/json": {}}},
                "401": _problem("unauthorized"),
                "404": _problem("not_found: nothing is held about this email"),
            },
        }
    },
    "/admin/exports/shipments.csv": {
        "get": {
            "operationId": "exportShipments",
            "summary": "The coin mailing list: individual registrants, paid and not refunded, with address and state",
            "security": [{"adminToken": []}],
            "parameters": [_EVENT_QUERY],
            "responses": {
                "200": {
                    "description": "CSV, UTF-8 with a byte order mark, every field quoted",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "401": _problem("unauthorized: no or a wrong admin bearer token"),
            },
        }
    },
    "/logins": {
        "post": {
            "operationId": "logIn",
            "summary": "Log in with the email and the access code from the confirmation; ends any earlier session",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LoginRequest")}}},
            "responses": {
                "200": _json("LoginAnswer", "A session token (one active session per person)"),
                "401": _problem("invalid_credentials: any wrong pair, or a seat no longer held"),
                "422": _problem("Invalid fields"),
                "429": _problem("too_many_requests: too many failed sign-ins from this address (never per email)"),
            },
        }
    },
    "/attendance/heartbeats": {
        "post": {
            "operationId": "sendHeartbeat",
            "summary": "While watching a session: credits the current conference minute if it is in the session",
            "security": [{"sessionToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("HeartbeatRequest")}}},
            "responses": {
                "204": {"description": "Accepted (a minute outside the session's window counts nothing)"},
                "401": _problem("session_superseded (a newer login exists) or invalid_session"),
                "422": _problem("An unknown session_id"),
            },
        }
    },
    "/me/attendance": {
        "get": {
            "operationId": "getMyAttendance",
            "summary": "The attendee's minutes per session, days logged in, and certificate eligibility with reasons",
            "security": [{"sessionToken": []}],
            "responses": {
                "200": _json("MyAttendance", "Attendance so far"),
                "401": _problem("session_superseded or invalid_session"),
            },
        }
    },
    "/me": {
        "get": {
            "operationId": "getMe",
            "summary": "Who the session token signs in: the attendee's names, organization and kind of registration",
            "security": [{"sessionToken": []}],
            "responses": {
                "200": _json("MyProfile", "The attendee"),
                "401": _problem("session_superseded (a newer login exists) or invalid_session"),
            },
        }
    },
    "/me/sessions": {
        "get": {
            "operationId": "getMySessions",
            "summary": "The attendee's event's agenda, times in its zone; each session's stream link from 15 minutes "
            "before its start until its end (null otherwise), live while it runs (conference time)",
            "security": [{"sessionToken": []}],
            "responses": {
                "200": {
                    "description": "Every session, in start order",
                    "content": {"application/json": {"schema": {"type": "array", "items": _ref("MySession")}}},
                },
                "401": _problem("session_superseded or invalid_session"),
            },
        }
    },
    "/me/certificate": {
        "get": {
            "operationId": "getMyCertificate",
            "summary": "The attendee's valid certificate of attendance, as the PDF that was emailed",
            "security": [{"sessionToken": []}],
            "responses": {
                "200": {
                    "description": "The PDF, as an attachment named certificate-<certificate id>.pdf (not cached)",
                    "headers": {
                        "Content-Disposition": {"schema": {"type": "string"}},
                        "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
                    },
                    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                },
                "401": _problem("session_superseded or invalid_session"),
                "404": _problem("not_issued: no certificate yet (or its PDF is still being made), or it was revoked"),
            },
        }
    },
    "/me/session": {
        "delete": {
            "operationId": "signOut",
            "summary": "Sign out: the session token stops working (401 invalid_session from then on)",
            "security": [{"sessionToken": []}],
            "responses": {
                "204": {"description": "Signed out"},
                "401": _problem("session_superseded or invalid_session"),
            },
        }
    },
    "/access-codes": {
        "post": {
            "operationId": "requestAccessCode",
            "summary": "A new access code by email, for whoever holds a paid seat with this address; the answer is the "
            "same for every address (the seat is looked up and the email sent afterwards, at most 3 an hour per "
            "attendee); the new code works alongside the earlier ones",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AccessCodeRequest")}}},
            "responses": {
                "202": {
                    "description": "Received (also for an address without a seat, and beyond the hourly limit)",
                    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
                },
                "413": _problem("The body is over 64 KiB"),
                "415": _problem("The body is not JSON"),
                "422": _problem("Not an email address"),
            },
        }
    },
    "/verify/{certificate_id}": {
        "get": {
            "operationId": "verificationPage",
            "summary": "The page a person opens from the certificate's QR code or URL (HTML): valid or revoked and "
            "since when, the name, conference, hours and issue date",
            "parameters": [{"name": "certificate_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The verification page", "content": {"text/html": {}}},
                "404": {"description": "A page saying no certificate has this id", "content": {"text/html": {}}},
            },
        }
    },
    "/admin/sessions/{session_id}/attendance-import": {
        "post": {
            "operationId": "importSessionAttendance",
            "summary": "A Zoom participant report for one session (text/csv, Zoom's columns, times in the event's "
            "zone): rows matched to attendees by email, their minutes joined to the heartbeats' as a union; the same "
            "report again changes nothing",
            "security": [{"adminToken": []}],
            "parameters": [
                _EVENT_QUERY,
                {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {
                "200": _json("ImportResult", "Rows matched and not, minutes credited, the first unmatched rows"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: support or admin only"),
                "404": _problem("not_found: no such session in the event"),
                "413": _problem("The report is over 4 MiB"),
                "415": _problem("The body is not text/csv"),
                "422": _problem("Not a Zoom participant report (each bad line named); nothing was stored"),
            },
        }
    },
    "/certificates/{certificate_id}": {
        "get": {
            "operationId": "verifyCertificate",
            "summary": "Verify a certificate of attendance (the URL and QR code on the PDF lead here)",
            "parameters": [{"name": "certificate_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _json("CertificateView", "valid or revoked, with the name, conference, date and hours"),
                "404": _problem("not_found: no such certificate, or a forged or altered id"),
            },
        }
    },
    "/admin/certificates/issue": {
        "post": {
            "operationId": "issueCertificates",
            "summary": "A certificate for every eligible attendee who has none; emails follow in the background",
            "security": [{"adminToken": []}],
            "parameters": [_EVENT_QUERY],
            "responses": {
                "202": _json(
                    "IssueResult",
                    "The job that makes and mails them (job_id); eligible and queued count what was done before this"
                    " answer (0: the job's workers do it all)",
                ),
                "401": _problem("unauthorized"),
                "404": _problem("not_found: no such event"),
            },
        }
    },
    "/admin/jobs/{job_id}": {
        "get": {
            "operationId": "getJob",
            "summary": "A bulk send's progress (certificates, reminders): attendees queued, done, failed",
            "security": [{"adminToken": []}],
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _json("JobView", "queued, done (sent now or before, or owed nothing), failed, sent; state"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found: no such job"),
            },
        }
    },
    "/admin/attendees": {
        "get": {
            "operationId": "listMailProblems",
            "summary": "Attendees whose address bounced (or who complained), newest first, a page at a time",
            "security": [{"adminToken": []}],
            "parameters": [
                _EVENT_QUERY,
                {
                    "name": "email_status",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["bounced", "complained"], "default": "bounced"},
                },
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": _json("MailProblemPage", "A page; pass next_cursor back for the next one"),
                "401": _problem("unauthorized"),
                "422": _problem("An email_status other than bounced or complained, or a cursor of another list"),
            },
        }
    },
    "/admin/attendees/{attendee_id}": {
        "patch": {
            "operationId": "correctAttendee",
            "summary": "Correct an attendee's email or names; a new email gets the confirmation with a new code",
            "security": [{"adminToken": []}],
            "parameters": [{"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AttendeeCorrection")}}},
            "responses": {
                "200": _json("CorrectedAttendee", "The attendee as corrected"),
                "401": _problem("unauthorized"),
                "403": _problem("forbidden: the support or admin group corrects attendees"),
                "404": _problem("not_found: no attendee has this id"),
                "409": _problem("already_registered: the new email holds a paid seat; not_refundable: seat not held"),
                "422": _problem("An invalid email or name, or no field to correct"),
            },
        }
    },
    "/admin/attendees/{attendee_id}/resend-confirmation": {
        "post": {
            "operationId": "resendToAttendee",
            "summary": "A new access-code email to this attendee alone; its code replaces this attendee's earlier ones",
            "security": [{"adminToken": []}],
            "parameters": [{"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "202": _json("ResentToAttendee", "Queued"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found: no attendee has this id (a seat not paid yet has none)"),
                "409": _problem("not_refundable: the seat is not held (refunded, cancelled, revoked)"),
            },
        }
    },
    "/admin/attendees/{attendee_id}/substitute": {
        "post": {
            "operationId": "substituteAttendee",
            "summary": "Another person takes this paid group seat (until the conference starts): a new attendee id, "
            "code and confirmation; the old person's code and attendance stop counting",
            "security": [{"adminToken": []}],
            "parameters": [{"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "description": "The new person, as a registration names an attendee (phone and license_id optional)",
                "content": {"application/json": {"schema": _ref("Attendee")}},
            },
            "responses": {
                "200": _json("SubstitutedAttendee", "The seat's new person, and the attendee id they replaced"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found: no attendee has this id"),
                "409": _problem(
                    "not_a_group_seat: an individual's seat; conference_started: the first session has begun; "
                    "invalid_transition: the seat is not paid and active; already_registered: the email holds a "
                    "paid seat, or another seat of this group"
                ),
                "422": _problem("An invalid or missing field, or an unknown one"),
            },
        }
    },
    "/admin/attendees/{attendee_id}/certificate/reissue": {
        "post": {
            "operationId": "reissueCertificate",
            "summary": "Revoke the attendee's certificate and email a new one (optionally with a corrected name)",
            "security": [{"adminToken": []}],
            "parameters": [{"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("ReissueRequest")}}},
            "responses": {
                "202": _json("ReissueResult", "The revoked and the new certificate ids"),
                "401": _problem("unauthorized"),
                "404": _problem("not_found: no certificate to reissue"),
                "422": _problem("Invalid name fields"),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}},
        }
    },
}


def _with_group_refusals(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every organiser route may answer 403 `forbidden`: the caller's Cognito groups lack the action."""
    forbidden = _problem("forbidden: the organiser's groups do not allow this action (the contract's table)")
    return {
        path: {
            method: operation | {"responses": {"403": forbidden, **operation["responses"]}}
            if operation.get("security") == _ADMIN
            else operation
            for method, operation in operations.items()
        }
        for path, operations in paths.items()
    }


@cache
def openapi_document(title: str) -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(model, "validation") for model in _REQUEST_MODELS] + [(model, "serialization") for model in _RESPONSE_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{title} API", "version": "1.0.0"},
        "paths": _with_group_refusals(PATHS),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An organiser's Cognito access token, from the stack's organiser pool and the "
                    "organiser page's app client (verified by the HTTP API's JWT authorizer)",
                },
                "sessionToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
