"""AdminApi: the organiser's routes, behind the admin bearer token."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.adapters.s3_exports import S3ExportStore
from shared.adapters.secrets import secret_string
from shared.admin.privacy import PersonRequest, PrivacyService
from shared.admin.service import AdminService
from shared.api.admin_auth import organiser_only
from shared.api.problems import install_problem_responses
from shared.api.requests import json_body
from shared.api.responses import json_response
from shared.certificates.models import ReissueRequest
from shared.certificates.service import CertificateService
from shared.composition.admin import admin_service, privacy_service
from shared.composition.certificates import certificate_service
from shared.exports.csv_document import csv_document
from shared.exports.shipments import HEADER, shipment_rows
from shared.observability import logger, metrics, tracer
from shared.settings import AdminSettings

app = APIGatewayHttpResolver()
install_problem_responses(app)
# Who did it, in the audit history: the bearer token names no one; a JWT authorizer would give its subject.
ADMIN_ACTOR = "admin:token"


@cache
def settings() -> AdminSettings:
    return AdminSettings.from_environment()


def admin_token() -> str:
    return secret_string(settings().admin_token_secret_name)


# Every route of this function is the organiser's: one check for all of them, before any route runs.
app.use(middlewares=[organiser_only(admin_token)])


@cache
def repository() -> DynamoReactionRepository:
    return DynamoReactionRepository(settings().table_name)


@cache
def certificates() -> CertificateService:
    return certificate_service(settings())


@cache
def admin() -> AdminService:
    return admin_service(settings())


@cache
def privacy() -> PrivacyService:
    return privacy_service(settings())


@app.get("/admin/exports/shipments.csv")
def export_shipments() -> Response[bytes]:
    return csv_answer("shipments", csv_document(HEADER, shipment_rows(repository().shipments())))


# Lambda answers are capped at 6 MB (base64 makes bytes a third bigger): larger exports go to S3.
LARGE_EXPORT_BYTES = 4 * 1024 * 1024


@cache
def exports() -> S3ExportStore:
    return S3ExportStore(settings().exports_bucket)


def csv_answer(name: str, document: bytes) -> Response[bytes]:
    logger.info("export", extra={"export": name, "bytes": len(document), "actor": "admin"})
    if len(document) > LARGE_EXPORT_BYTES:
        link = exports().publish(f"{name}.csv", document, "text/csv; charset=utf-8")
        return Response(
            HTTPStatus.SEE_OTHER, "text/plain", b"", headers={"Location": link, "Cache-Control": "no-store"}
        )
    return Response(
        200,
        "text/csv; charset=utf-8",
        document,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"},
    )


@app.get("/admin/registrations")
def list_registrations() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    return json_response(HTTPStatus.OK, admin().registrations(query.get("status") or None, query.get("cursor") or None))


@app.get("/admin/exports/registrations.csv")
def export_registrations() -> Response[bytes]:
    return csv_answer("registrations", csv_document(AdminService.REGISTRATION_HEADER, admin().registration_rows()))


@app.get("/admin/exports/attendance.csv")
def export_attendance() -> Response[bytes]:
    return csv_answer("attendance", csv_document(admin().attendance_header(), admin().attendance_rows()))


@app.post("/admin/registrations/<registration_id>/refund")
def refund_registration(registration_id: str) -> Response[str]:
    result = admin().refund(registration_id, actor=ADMIN_ACTOR)
    logger.info("refund requested", extra={"actor": "admin", "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.post("/admin/registrations/<registration_id>/resend-confirmation")
def resend_confirmation(registration_id: str) -> Response[str]:
    result = admin().resend_confirmation(registration_id, actor=ADMIN_ACTOR)
    logger.info("confirmation resent", extra={"actor": "admin", "registration_id": registration_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.get("/admin/people/export")
def export_person() -> Response[str]:
    email = (app.current_event.query_string_parameters or {}).get("email", "")
    person = TypeAdapter(PersonRequest).validate_python({"email": email})
    logger.info("personal data exported", extra={"actor": "admin"})
    return json_response(HTTPStatus.OK, privacy().export(person.email), **{"Cache-Control": "no-store"})


@app.post("/admin/people/erase")
def erase_person() -> Response[str]:
    person = json_body(app.current_event, TypeAdapter(PersonRequest))
    result = privacy().erase(person.email, actor=ADMIN_ACTOR)
    logger.info("personal data erased", extra={"actor": "admin", "attendee_id": result["attendee_id"]})
    return json_response(HTTPStatus.OK, result)


@app.post("/admin/certificates/issue")
def issue_certificates() -> Response[str]:
    result = certificates().issue_all()  # records now; rendering and emailing follow on the stream
    logger.info("certificates issued", extra={"actor": "admin", **result.model_dump()})
    return json_response(HTTPStatus.ACCEPTED, result)


@app.post("/admin/attendees/<attendee_id>/certificate/reissue")
def reissue_certificate(attendee_id: str) -> Response[str]:
    event = app.current_event
    correction = json_body(event, TypeAdapter(ReissueRequest)) if (event.body or "").strip() else ReissueRequest()
    result = certificates().reissue(attendee_id, correction.first_name, correction.last_name)
    logger.info("certificate reissued", extra={"actor": "admin", "attendee_id": attendee_id})
    return json_response(HTTPStatus.ACCEPTED, result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
