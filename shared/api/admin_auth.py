"""The organiser's routes: a bearer token from the secret store, compared in constant time."""

from __future__ import annotations

import hmac

from shared.errors import Unauthorized


def require_admin(authorization: str | None, expected_token: str) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    # compare_digest on equal-length digests would also hide the length; the token is random and long.
    if (
        scheme.lower() != "bearer"
        or not token
        or not hmac.compare_digest(token.strip().encode(), expected_token.encode())
    ):
        raise Unauthorized("Send the organiser's token as `Authorization: Bearer <token>`.")
