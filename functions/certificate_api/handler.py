"""CertificateApi: GET /certificates/{certificate_id}, the public verification of a certificate."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.problems import install_problem_responses
from shared.api.responses import json_response
from shared.certificates.service import CertificateService
from shared.composition.certificates import certificate_service
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
