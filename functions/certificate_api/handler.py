"""CertificateApi: the public verification of a certificate: GET /verify/{certificate_id}, the page a person opens
from the QR code, and GET /certificates/{certificate_id}, the same facts as JSON for machines."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.pages import html_page
from shared.api.problems import install_problem_responses
from shared.api.requests import header
from shared.api.responses import json_response
from shared.certificates.page import not_found_page, verification_page
from shared.certificates.service import CertificateService
from shared.composition.certificates import certificate_service
from shared.errors import NotFound
from shared.observability import logger, metrics, tracer
from shared.settings import CertificateSettings

app = APIGatewayHttpResolver()
install_problem_responses(app)


@cache
def certificates() -> CertificateService:
    return certificate_service(CertificateSettings.from_environment())


@app.get("/certificates/<certificate_id>")
def verify_certificate(certificate_id: str) -> Response[str]:
    return json_response(HTTPStatus.OK, certificates().verify(certificate_id))


# Asked again at every view (no-cache): a revocation shows at once; an unchanged page is a 304 (its ETag).
VERIFY_PAGE_MAX_AGE = 0


@app.get("/verify/<certificate_id>")
def verification(certificate_id: str) -> Response[str]:
    if_none_match = header(app.current_event, "if-none-match")
    try:
        certificate = certificates().verified(certificate_id)
    except NotFound:
        return html_page(not_found_page(certificate_id), status=HTTPStatus.NOT_FOUND, max_age=VERIFY_PAGE_MAX_AGE)
    return html_page(verification_page(certificate), max_age=VERIFY_PAGE_MAX_AGE, if_none_match=if_none_match)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
