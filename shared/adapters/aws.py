"""boto3 clients, created once per process and shared (the Lambda container, or a test session)."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Standard retry mode: throttling and 5xx are retried with backoff before an error reaches the domain.
# The read timeout fails a call fast on AWS; the local stack and the tests lengthen it, because their one
# moto server serialises every call and many concurrent requests queue behind each other.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=float(os.environ.get("AWS_CLIENT_READ_TIMEOUT_SECONDS", "5")),
)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    return client("dynamodb")  # type: ignore[no-any-return]


def scheduler() -> Any:
    """EventBridge Scheduler's client (untyped: boto3-stubs has no scheduler extra in this project)."""
    return client("scheduler")
