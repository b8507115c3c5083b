"""AdminApi: the organiser's routes, behind the admin bearer token."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.adapters.secrets import secret_string
from shared.api.admin_auth import require_admin
from shared.api.problems import install_problem_responses
from shared.api.requests import header
from shared.exports.csv_document import csv_document
from shared.exports.shipments import HEADER, shipment_rows
from shared.observability import logger, metrics, tracer
from shared.settings import AdminSettings

app = APIGatewayHttpResolver()
install_problem_responses(app)


@cache
def settings() -> AdminSettings:
    return AdminSettings.from_environment()


@cache
def repository() -> DynamoReactionRepository:
    return DynamoReactionRepository(settings().table_name)


@app.get("/admin/exports/shipments.csv")
def export_shipments() -> Response[bytes]:
    require_admin(header(app.current_event, "Authorization"), secret_string(settings().admin_token_secret_name))
    document = csv_document(HEADER, shipment_rows(repository().shipments()))
    logger.info("export", extra={"export": "shipments", "bytes": len(document), "actor": "admin"})
    return Response(
        200,
        "text/csv; charset=utf-8",
        document,
        headers={"Content-Disposition": 'attachment; filename="shipments.csv"', "Cache-Control": "no-store"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
