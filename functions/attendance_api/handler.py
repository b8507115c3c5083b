"""AttendanceApi: the attendee's side. POST /logins, POST /attendance/heartbeats, GET /me/attendance, GET /me,
GET /me/sessions, GET /me/certificate, DELETE /me/session, POST /access-codes."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from shared.api.problems import install_problem_responses
from shared.api.requests import header, json_body
from shared.api.responses import json_response
from shared.attendance.models import AccessCodeRequest, HeartbeatRequest, LoginRequest
from shared.attendance.service import AttendanceService
from shared.composition.attendance import attendance_service
from shared.observability import logger, metrics, tracer
from shared.settings import AttendanceSettings

app = APIGatewayHttpResolver()
install_problem_responses(app)
NO_STORE = {"Cache-Control": "no-store"}  # answers carry tokens or personal progress


@cache
def attendance() -> AttendanceService:
    return attendance_service(AttendanceSettings.from_environment())


def bearer_token() -> str:
    scheme, _, token = (header(app.current_event, "Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@app.post("/logins")
def log_in() -> Response[str]:
    request = json_body(app.current_event, TypeAdapter(LoginRequest))
    answer = attendance().login(
        request.email,
        request.access_code,
        source_ip=app.current_event.request_context.http.source_ip,
        user_agent=header(app.current_event, "User-Agent") or "",
    )
    logger.info("logged in", extra={"attendee_id": answer.attendee_id})
    return json_response(HTTPStatus.OK, answer, **NO_STORE)


@app.post("/attendance/heartbeats")
def heartbeat() -> Response[str]:
    token = bearer_token()  # read first: an unauthenticated body is not worth parsing
    request = json_body(app.current_event, TypeAdapter(HeartbeatRequest))
    attendance().heartbeat(token, request.session_id)
    return Response(HTTPStatus.NO_CONTENT, None, "", headers=NO_STORE)


@app.get("/me/attendance")
def my_attendance() -> Response[str]:
    return json_response(HTTPStatus.OK, attendance().my_attendance(bearer_token()), **NO_STORE)


@app.get("/me")
def me() -> Response[str]:
    return json_response(HTTPStatus.OK, attendance().me(bearer_token()), **NO_STORE)


@app.get("/me/sessions")
def my_sessions() -> Response[str]:
    return json_response(HTTPStatus.OK, attendance().my_sessions(bearer_token()), **NO_STORE)


@app.get("/me/certificate")
def my_certificate() -> Response[bytes]:
    certificate = attendance().my_certificate(bearer_token())
    disposition = f'attachment; filename="certificate-{certificate.certificate_id}.pdf"'
    # bytes: Powertools answers them base64-encoded (isBase64Encoded), as API Gateway expects.
    return Response(
        HTTPStatus.OK, "application/pdf", certificate.pdf, headers=NO_STORE | {"Content-Disposition": disposition}
    )


@app.delete("/me/session")
def sign_out() -> Response[str]:
    attendance().sign_out(bearer_token())
    return Response(HTTPStatus.NO_CONTENT, None, "", headers=NO_STORE)


@app.post("/access-codes")
def request_access_code() -> Response[str]:
    request = json_body(app.current_event, TypeAdapter(AccessCodeRequest))
    # The same answer for every well-formed email: the stream finds the seat, if any, and sends the code.
    attendance().request_access_code(request.email, source_ip=app.current_event.request_context.http.source_ip)
    return json_response(HTTPStatus.ACCEPTED, {}, **NO_STORE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
