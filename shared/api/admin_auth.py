"""The organiser's routes: a bearer token from the secret store, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from shared.errors import Unauthorized

Middleware = Callable[[ApiGatewayResolver, NextMiddleware], Response[Any]]
GROUPS = frozenset({"viewer", "support", "finance", "admin"})


@dataclass(frozen=True)
class Organiser:
    """Who is calling an admin route: the audit's actor and the groups that decide what they may do. The shared
    token is one organiser with every group; Cognito accounts (the organisers issue) give each person theirs."""

    actor: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups


TOKEN_ORGANISER = Organiser(actor="admin:token", groups=GROUPS)


def require_admin(authorization: str | None, expected_token: str) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    # compare_digest on equal-length digests would also hide the length; the token is random and long.
    if (
        scheme.lower() != "bearer"
        or not token
        or not hmac.compare_digest(token.strip().encode(), expected_token.encode())
    ):
        raise Unauthorized("Send the organiser's token as `Authorization: Bearer <token>`.")


def organiser_only(expected_token: Callable[[], str]) -> Middleware:
    """A resolver-wide middleware: every route answers 401 `unauthorized` (through the problem map) unless the
    request carries `Authorization: Bearer <token>`. The token is asked for per request (the secret store's
    client caches it), before the route reads anything."""

    def require_organiser(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        # Powertools' headers are case-insensitive, as HTTP's are.
        require_admin(app.current_event.headers.get("Authorization"), expected_token())
        app.context["organiser"] = TOKEN_ORGANISER  # cleared by the resolver after each request
        return next_middleware(app)

    return require_organiser
