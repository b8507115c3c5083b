"""Organisers' accounts in the Cognito user pool: the email for the audit trail, whether the account is enabled
and has an authenticator app (MFA). Each is kept for a few minutes per container: the admin routes are called a
few times a minute, and a removed or disabled organiser is refused within that time (their access token, an hour
long, is still valid at API Gateway)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.api.admin_auth import OrganiserAccount
from shared.errors import TemporarilyUnavailable

ACCOUNT_KEPT_SECONDS = 300.0
_GONE = frozenset({"UserNotFoundException", "ResourceNotFoundException"})


class CognitoOrganisers:
    def __init__(
        self, user_pool_id: str, client: Any | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = user_pool_id
        self._client = client or aws.client("cognito-idp")
        self._monotonic = monotonic
        self._kept: dict[str, tuple[OrganiserAccount | None, float]] = {}
        self._lock = threading.Lock()

    def account(self, username: str) -> OrganiserAccount | None:
        now = self._monotonic()
        with self._lock:
            kept = self._kept.get(username)
        if kept is not None and kept[1] > now:
            return kept[0]
        account = self._read(username)
        with self._lock:
            self._kept[username] = (account, now + ACCOUNT_KEPT_SECONDS)
        return account

    def _read(self, username: str) -> OrganiserAccount | None:
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return None
            raise TemporarilyUnavailable("The organisers' directory is busy; please try again.") from exc
        except BotoCoreError as exc:
            raise TemporarilyUnavailable("The organisers' directory could not be reached; try again.") from exc
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return OrganiserAccount(
            email=attributes.get("email", username),
            enabled=bool(user.get("Enabled", True)),
            has_mfa="SOFTWARE_TOKEN_MFA" in user.get("UserMFASettingList", []),
        )
