"""The cold-start baseline: a bare Powertools HTTP handler with one boto3 client, nothing of ours."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger, metrics, tracer = Logger(), Metrics(), Tracer()
app = APIGatewayHttpResolver()
dynamodb = boto3.client("dynamodb")


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"pong": "yes"}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
