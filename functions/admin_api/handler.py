"""AdminApi: the organiser's routes, for Cognito organisers whose groups allow each (shared/api/admin_auth.py).

Lists, exports and certificate issue take `?event_id=` (default: the stack's featured event)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from shared.api.admin_auth import Organiser, organisers_only
from shared.api.problems import install_problem_responses
from shared.api.requests import header, json_body, raw_body
from shared.api.responses import json_response
from shared.composition.common import event_catalog
from shared.errors import (
    FieldError,
    InvalidRequest,
    PayloadTooLarge,
    PreconditionRequired,
    UnsupportedMediaType,
)
from shared.exports.csv_document import csv_chunks
from shared.exports.shipments import HEADER, shipment_rows
from shared.observability import logger, metrics, tracer
from shared.settings import AdminEventSettings

# Each route's services, adapters and models are imported where they are first built or used: a cold start pays
# for the routes it serves, not for all of them (tests/infra/test_function_imports.py holds what the import loads).
if TYPE_CHECKING:
    from shared.adapters.cognito_organisers import CognitoOrganisers
    from shared.adapters.dynamodb_corrections import DynamoCorrections
    from shared.adapters.dynamodb_reactions import DynamoReactionRepository
    from shared.adapters.s3_exports import S3ExportStore
    from shared.admin.corrections import CorrectionService
    from shared.admin.group_changes import GroupChangeService
    from shared.admin.privacy import PrivacyService
    from shared.admin.service import AdminService
    from shared.attendance.platform import PlatformImportService
    from shared.attendance.roster import AttendanceRoster
    from shared.certificates.service import CertificateService
    from shared.events.service import EventService
    from shared.jobs.service import JobService
    from shared.payments.invoices import InvoiceService

app = APIGatewayHttpResolver()
install_problem_responses(app)


@cache
def settings() -> AdminEventSettings:
    return AdminEventSettings.from_environment()


@cache
def organisers() -> CognitoOrganisers:
    from shared.adapters.cognito_organisers import CognitoOrganisers

    return CognitoOrganisers(settings().organiser_pool_id)


# Every route of this function is the organiser's: one check for all of them, before any route runs.
app.use(middlewares=[organisers_only(organisers, lambda: settings().mfa_groups)])


@cache
def repository() -> DynamoReactionRepository:
    from shared.adapters.dynamodb_reactions import DynamoReactionRepository

    return DynamoReactionRepository(settings().table_name)


@cache
def certificates() -> CertificateService:
    from shared.composition.certificates import certificate_service

    return certificate_service(settings())


@cache
def admin() -> AdminService:
    from shared.composition.admin import admin_service

    return admin_service(settings())


@cache
def corrections_repository() -> DynamoCorrections:
    from shared.adapters.dynamodb_corrections import DynamoCorrections

    return DynamoCorrections(settings().table_name)


@cache
def corrections() -> CorrectionService:
    from shared.admin.corrections import CorrectionService
    from shared.clock import wall_clock

    return CorrectionService(repository=corrections_repository(), wall_clock=wall_clock)


@cache
def privacy() -> PrivacyService:
    from shared.composition.admin import privacy_service

    return privacy_service(settings())


@cache
def events() -> EventService:
    from shared.composition.events import event_service

    return event_service(settings())


def organiser() -> Organiser:
    """Who is calling: set by the middleware before any route runs; the audit's actor."""
    found: Organiser = app.context["organiser"]
    return found


def actor() -> str:
    return organiser().actor


def selected_event() -> str:
    """The event a list, export or issue is about: `?event_id=`, else the stack's featured event."""
    return (app.current_event.query_string_parameters or {}).get("event_id") or event_catalog(settings()).featured_id()


@app.get("/admin/exports/shipments.csv")
def export_shipments() -> Response[bytes]:
    event = selected_event()
    event_catalog(settings()).conference(event)  # 404 for an unknown event
    return csv_answer(f"shipments-{event}", csv_chunks(HEADER, shipment_rows(repository().shipments(event))))


# Lambda answers are capped at 6 MB (base64 makes bytes a third bigger): larger exports go to S3.
LARGE_EXPORT_BYTES = 4 * 1024 * 1024


@cache
def exports() -> S3ExportStore:
    from shared.adapters.s3_exports import S3ExportStore

    return S3ExportStore(settings().exports_bucket)


def csv_answer(name: str, pieces: Iterable[bytes]) -> Response[bytes]:
    """The CSV in the answer while it is small; past LARGE_EXPORT_BYTES, the pieces read so far and the rest go to
    S3 in parts as they are made (memory holds a part, whatever the size) and the answer is a 303 to the link."""
    rest = iter(pieces)
    head: list[bytes] = []
    size = 0
    for piece in rest:
        head.append(piece)
        size += len(piece)
        if size > LARGE_EXPORT_BYTES:
            link = exports().publish_parts(f"{name}.csv", itertools.chain(head, rest), "text/csv; charset=utf-8")
            logger.info("export", extra={"export": name, "bytes": "over the answer's limit", "actor": actor()})
            return Response(
                HTTPStatus.SEE_OTHER, "text/plain", b"", headers={"Location": link, "Cache-Control": "no-store"}
            )
    document = b"".join(head)
    logger.info("export", extra={"export": name, "bytes": len(document), "actor": actor()})
    return Response(
        200,
        "text/csv; charset=utf-8",
        document,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"},
    )


@app.get("/admin/registrations")
def list_registrations() -> Response[str]:
    from shared.admin.corrections import with_email_status

    query = app.current_event.query_string_parameters or {}
    page = admin().registrations(selected_event(), query.get("status") or None, query.get("cursor") or None)
    seats = [person.attendee_id for item in page.items for person in item.attendees]
    return json_response(HTTPStatus.OK, with_email_status(page, corrections_repository().attendees(seats)))


@app.get("/admin/attendees")
def list_mail_problems() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    page = corrections().mail_problems(selected_event(), query.get("email_status"), query.get("cursor") or None)
    return json_response(HTTPStatus.OK, page)


@app.patch("/admin/attendees/<attendee_id>")
def correct_attendee(attendee_id: str) -> Response[str]:
    from shared.admin.corrections import AttendeeCorrection

    result = corrections().correct(
        attendee_id, json_body(app.current_event, TypeAdapter(AttendeeCorrection)), actor=actor()
    )
    logger.info("attendee corrected", extra={"actor": actor(), "attendee_id": attendee_id})
    return json_response(HTTPStatus.OK, result)


@app.get("/admin/exports/registrations.csv")
def export_registrations() -> Response[bytes]:
    from shared.admin.service import AdminService

    event = selected_event()
    rows = admin().registration_rows(event)
    return csv_answer(f"registrations-{event}", csv_chunks(AdminService.REGISTRATION_HEADER, rows))


@cache
def roster() -> AttendanceRoster:
    from shared.composition.attendance import attendance_roster

    return attendance_roster(settings())


@app.get("/admin/exports/attendance.csv")
def export_attendance() -> Response[bytes]:
    """The event's roster, or with `?registration_id=` one registration's (an agency's officers)."""
    event = selected_event()
    registration_id = (app.current_event.query_string_parameters or {}).get("registration_id") or None
    registrations = roster().registrations(event, registration_id)  # 404/422 before the CSV starts
    name = f"attendance-{event}" + (f"-{registration_id}" if registration_id else "")
    return csv_answer(name, csv_chunks(roster().header(event), roster().rows(event, registrations)))


# A participant report of a few thousand joins is a few hundred kB; API Gateway and Lambda take up to 6 MB.
MAX_REPORT_BYTES = 4 * 1024 * 1024


@cache
def platform_imports() -> PlatformImportService:
    from shared.composition.attendance import platform_import_service

    return platform_import_service(settings())


@app.post("/admin/sessions/<session_id>/attendance-import")
def import_attendance(session_id: str) -> Response[str]:
    """A Zoom participant report (text/csv) for one agenda session: its rows credited as attendance."""
    content_type = (header(app.current_event, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "text/csv":
        raise UnsupportedMediaType("Send the participant report as text/csv.")
    body = raw_body(app.current_event)
    if len(body) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"The report is {len(body)} bytes; the limit is {MAX_REPORT_BYTES}.")
    result = platform_imports().import_report(selected_event(), session_id, body)
    logger.info(
        "attendance imported",
        extra={"actor": actor(), "session_id": session_id, **result.model_dump(exclude={"unmatched_sample"})},
    )
    return json_response(HTTPStatus.OK, result)


@app.post("/admin/registrations/<registration_id>/refund")
def refund_registration(registration_id: str) -> Response[str]:
    result = admin().refund(registration_id, actor=actor())
    logger.info("refund requested", extra={"actor": actor(), "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.post("/admin/registrations/<registration_id>/seats/<attendee_id>/refund")
def refund_seat(registration_id: str, attendee_id: str) -> Response[str]:
    result = admin().refund_seat(registration_id, attendee_id, actor=actor())
    logger.info("seat refunded", extra={"actor": actor(), "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@cache
def invoices() -> InvoiceService:
    from shared.composition.admin import invoice_service

    return invoice_service(settings())


@app.post("/admin/registrations/<registration_id>/invoice")
def approve_invoice(registration_id: str) -> Response[str]:
    from shared.payments.invoices import InvoiceSent

    sent = invoices().approve(registration_id, actor=actor())
    logger.info("invoice sent", extra={"actor": actor(), "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, InvoiceSent.of(registration_id, sent))


@app.post("/admin/registrations/<registration_id>/reject")
def reject_invoice_request(registration_id: str) -> Response[str]:
    from shared.registration.models import RegistrationSummary

    rejected = invoices().reject(registration_id, actor=actor())
    logger.info("invoice request rejected", extra={"actor": actor(), "registration_id": registration_id})
    return json_response(HTTPStatus.OK, RegistrationSummary.of(rejected))


@app.post("/admin/registrations/<registration_id>/resend-confirmation")
def resend_confirmation(registration_id: str) -> Response[str]:
    result = admin().resend_confirmation(registration_id, actor=actor())
    logger.info("confirmation resent", extra={"actor": actor(), "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, result)


# One seat's changes and a registration's detail (shared/admin/group_changes.py, shared/admin/detail.py).
@app.get("/admin/registrations/<registration_id>")
def registration_detail(registration_id: str) -> Response[str]:
    from shared.composition.admin import registration_details

    detail = registration_details(settings()).detail(registration_id)
    return json_response(HTTPStatus.OK, detail, **{"Cache-Control": "no-store"})


@cache
def group_changes() -> GroupChangeService:
    from shared.composition.admin import group_change_service

    return group_change_service(settings())


@app.post("/admin/attendees/<attendee_id>/resend-confirmation")
def resend_to_attendee(attendee_id: str) -> Response[str]:
    result = group_changes().resend_to_attendee(attendee_id, actor=actor())
    logger.info("access code resent", extra={"actor": actor(), "attendee_id": attendee_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.post("/admin/attendees/<attendee_id>/substitute")
def substitute_attendee(attendee_id: str) -> Response[str]:
    from shared.registration.models import Attendee as Person

    person = json_body(app.current_event, TypeAdapter(Person))
    result = group_changes().substitute(attendee_id, person, actor=actor())
    logger.info(
        "attendee substituted",
        extra={"actor": actor(), "attendee_id": attendee_id, "new_attendee_id": result.attendee_id},
    )
    return json_response(HTTPStatus.OK, result)


@app.post("/admin/people/export")
def export_person() -> Response[str]:
    from shared.admin.privacy import PersonRequest

    # The email travels in the body, never in the URL: URLs end up in access logs, proxies and browser history.
    person = json_body(app.current_event, TypeAdapter(PersonRequest))
    logger.info("personal data exported", extra={"actor": actor()})
    return json_response(HTTPStatus.OK, privacy().export(person.email), **{"Cache-Control": "no-store"})


@app.post("/admin/people/erase")
def erase_person() -> Response[str]:
    from shared.admin.privacy import PersonRequest

    person = json_body(app.current_event, TypeAdapter(PersonRequest))
    result = privacy().erase(person.email, actor=actor())
    logger.info("personal data erased", extra={"actor": actor(), "attendee_id": result["attendee_id"]})
    return json_response(HTTPStatus.OK, result)


@cache
def jobs() -> JobService:
    from shared.composition.jobs import job_service
    from shared.settings import JobSettings

    return job_service(JobSettings.from_environment())


# The certificate issue's answer counts this many seats itself (about five reads each, a few seconds at most);
# past them its counts are partial (complete: false) and the job's progress has the rest.
COUNTED_BEFORE_ANSWER = 100


@app.post("/admin/certificates/issue")
def issue_certificates() -> Response[str]:
    from shared.certificates.service import CANDIDATE_STATUSES
    from shared.jobs.models import JobKind

    event = selected_event()
    counts = certificates().owed(event, at_most=COUNTED_BEFORE_ANSWER)  # 404 for an unknown event, before a job
    # Queued: the job's workers claim, render and mail (shared/jobs); GET /admin/jobs/{job_id} follows them.
    job = jobs().start(JobKind.CERTIFICATES, event, CANDIDATE_STATUSES)
    result = counts.model_copy(update={"job_id": job.job_id})
    logger.info("certificates job started", extra={"actor": actor(), "event_id": event, "job_id": job.job_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.get("/admin/jobs/<job_id>")
def job_progress(job_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, jobs().view(job_id))


@app.post("/admin/attendees/<attendee_id>/certificate/reissue")
def reissue_certificate(attendee_id: str) -> Response[str]:
    from shared.certificates.models import ReissueRequest

    event = app.current_event
    correction = json_body(event, TypeAdapter(ReissueRequest)) if (event.body or "").strip() else ReissueRequest()
    result = certificates().reissue(attendee_id, correction.first_name, correction.last_name)
    logger.info("certificate reissued", extra={"actor": actor(), "attendee_id": attendee_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.get("/admin/events")
def list_events() -> Response[str]:
    from shared.events.models import EventList

    return json_response(HTTPStatus.OK, EventList(items=events().listed()))


@app.get("/admin/events/<event_id>")
def get_event(event_id: str) -> Response[str]:
    detail = events().detail(event_id)
    return json_response(HTTPStatus.OK, detail, ETag=f'"{detail.version}"', **{"Cache-Control": "no-store"})


@app.post("/admin/events")
def create_event() -> Response[str]:
    from shared.conference.models import EventDocument

    saved = events().create(json_body(app.current_event, TypeAdapter(EventDocument)), actor=actor())
    logger.info("event created", extra={"actor": actor(), "event_id": saved.event_id})
    return json_response(
        HTTPStatus.CREATED, saved, Location=f"/admin/events/{saved.event_id}", ETag=f'"{saved.version}"'
    )


@app.put("/admin/events/<event_id>")
def replace_event(event_id: str) -> Response[str]:
    from shared.conference.models import EventDocument

    expected = expected_version()
    document = json_body(app.current_event, TypeAdapter(EventDocument))
    force = (app.current_event.query_string_parameters or {}).get("force", "").lower() == "true"
    saved = events().replace(
        event_id, document, expected_version=expected, actor=actor(), force=force, may_force=organiser().is_admin
    )
    logger.info("event updated", extra={"actor": actor(), "event_id": event_id, "version": saved.version})
    return json_response(HTTPStatus.OK, saved, ETag=f'"{saved.version}"')


@app.post("/admin/events/<event_id>/publish")
def publish_event(event_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, events().set_published(event_id, True, actor=actor()))


@app.post("/admin/events/<event_id>/unpublish")
def unpublish_event(event_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, events().set_published(event_id, False, actor=actor()))


@app.post("/admin/events/<event_id>/feature")
def feature_event(event_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, events().feature(event_id, actor=actor()))


def expected_version() -> int:
    """The version an edit was made against, from `If-Match: "<version>"` (a weak `W/` tag is refused: the
    version must be exact)."""
    value = (header(app.current_event, "If-Match") or "").strip()
    if not value:
        raise PreconditionRequired('Send If-Match: "<version>" with the version you read (GET gives it as ETag).')
    digits = value.removeprefix('"').removesuffix('"')
    if not digits.isdigit() or len(digits) > 9:
        raise InvalidRequest([FieldError("If-Match", 'Use the ETag you read, e.g. "3".')])
    return int(digits)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
