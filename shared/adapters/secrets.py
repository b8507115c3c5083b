"""Secrets from Secrets Manager through Powertools Parameters: cached, so rotation shows within max_age."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from shared.errors import TemporarilyUnavailable

SECRET_MAX_AGE_SECONDS = 300


def secret_string(name: str) -> str:
    try:
        value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        # Never "carry on without the secret": the caller answers 503 and the client retries.
        raise TemporarilyUnavailable("A required secret could not be read; please try again.") from exc
    if not isinstance(value, str) or not value.strip():
        raise TemporarilyUnavailable("A required secret is empty.")
    return value.strip()
