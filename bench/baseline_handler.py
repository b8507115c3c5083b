"""The baseline: a bare Powertools HTTP handler with one boto3 client, nothing of ours. Its import is the
cold-start baseline (bench/cold_start.py); `POST /ping`, one PutItem, is the latency baseline
(bench/latency.py)."""

from __future__ import annotations

import uuid
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


@app.post("/ping")
def put_one_item() -> tuple[dict[str, str], int]:
    table = str(app.current_event.json_body["table"])
    dynamodb.put_item(TableName=table, Item={"pk": {"S": f"PING#{uuid.uuid4()}"}, "sk": {"S": "PING"}})
    return {"stored": "yes"}, 201


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
