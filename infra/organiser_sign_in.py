"""Signing in as one of the local stack's organisers from outside it (the demo, the conference run): where the
pool is comes from `GET /_local/organisers`, the access token from Cognito's InitiateAuth at that endpoint, as
the organiser page does it."""

from __future__ import annotations

import os
from typing import Any

import boto3
import requests

LOCAL_PASSWORD = "Local-organiser-1"


def local_pool(api_url: str) -> tuple[dict[str, Any], Any]:
    """The local stack's organiser pool (`GET /_local/organisers`) and a Cognito client of its moto server."""
    where = requests.get(f"{api_url.rstrip('/')}/_local/organisers", timeout=10)
    where.raise_for_status()
    pool: dict[str, Any] = where.json()
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=pool["cognito_endpoint"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="local",  # InitiateAuth is unsigned on AWS; moto wants some credentials
        aws_secret_access_key="local",
    )
    return pool, cognito


def organiser_token(api_url: str, group: str = "admin", password: str | None = None) -> str:
    pool, cognito = local_pool(api_url)
    (email,) = [user["email"] for user in pool["users"] if group in user["groups"]][:1]
    answer = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool["client_id"],
        AuthParameters={
            "USERNAME": email,
            "PASSWORD": password or os.environ.get("LOCAL_ORGANISER_PASSWORD", LOCAL_PASSWORD),
        },
    )
    return str(answer["AuthenticationResult"]["AccessToken"])
