"""Who may call each organiser route: one middleware for the whole admin resolver, one table of groups.

API Gateway's JWT authorizer has verified the Cognito access token before the function runs (locally the
gateway does it the same way); what is left here is the person: their groups from the verified claims, their
email for the audit trail and whether they have MFA, from the user pool. A route that is not in the table is
refused: a new route must say who may call it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shared.errors import Forbidden, Unauthorized

Middleware = Callable[[ApiGatewayResolver, NextMiddleware], Response[Any]]
GROUPS = frozenset({"viewer", "support", "finance", "admin"})

# The contract's table: `viewer` reads; `support` and `finance` read and add their own actions; `admin` does
# everything, personal data and forced changes included.
READ = frozenset({"viewer", "support", "finance", "admin"})
SUPPORT = frozenset({"support", "admin"})
FINANCE = frozenset({"finance", "admin"})
ADMIN = frozenset({"admin"})
MAY_CALL: Mapping[str, frozenset[str]] = {
    "GET /admin/registrations": READ,
    "GET /admin/exports/registrations.csv": READ,
    "GET /admin/exports/shipments.csv": READ,
    "GET /admin/exports/attendance.csv": READ,
    "GET /admin/events": READ,
    "GET /admin/events/{event_id}": READ,
    "POST /admin/events": SUPPORT,
    "PUT /admin/events/{event_id}": SUPPORT,
    "POST /admin/events/{event_id}/publish": SUPPORT,
    "POST /admin/events/{event_id}/unpublish": SUPPORT,
    "POST /admin/events/{event_id}/feature": SUPPORT,
    "POST /admin/registrations/{registration_id}/resend-confirmation": SUPPORT,
    "POST /admin/certificates/issue": SUPPORT,
    "GET /admin/jobs/{job_id}": READ,
    "POST /admin/attendees/{attendee_id}/certificate/reissue": SUPPORT,
    "POST /admin/sessions/{session_id}/attendance-import": SUPPORT,
    "PATCH /admin/attendees/{attendee_id}": SUPPORT,
    "POST /admin/attendees/{attendee_id}/resend-confirmation": SUPPORT,
    "POST /admin/attendees/{attendee_id}/substitute": SUPPORT,
    "GET /admin/registrations/{registration_id}": READ,
    "GET /admin/attendees": READ,
    "POST /admin/registrations/{registration_id}/refund": FINANCE,
    "POST /admin/registrations/{registration_id}/seats/{attendee_id}/refund": FINANCE,
    "POST /admin/registrations/{registration_id}/invoice": FINANCE,
    "POST /admin/registrations/{registration_id}/reject": FINANCE,
    "POST /admin/people/export": ADMIN,
    "POST /admin/people/erase": ADMIN,
}


@dataclass(frozen=True)
class Organiser:
    """Who is calling an admin route: the audit's actor (their email) and the groups that decide what they may do."""

    actor: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups


@dataclass(frozen=True)
class OrganiserAccount:
    email: str
    enabled: bool
    has_mfa: bool


class OrganiserDirectory(Protocol):
    def account(self, username: str) -> OrganiserAccount | None:
        """The pool's user by the token's `username` claim; None when the account is gone."""


def groups_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """`cognito:groups` as API Gateway passes it: a list, or (HTTP APIs stringify arrays) `"[admin support]"`."""
    value = claims.get("cognito:groups", "")
    names = value if isinstance(value, list) else str(value).strip("[]").replace(",", " ").split()
    return frozenset(str(name) for name in names) & GROUPS


def identify(
    route_key: str,
    claims: Mapping[str, Any] | None,
    directory: OrganiserDirectory,
    mfa_groups: Collection[str],
) -> Organiser:
    """The organiser allowed to call `route_key`; Unauthorized (401) or Forbidden (403) otherwise. Nothing is read
    from the pool for a caller whose groups lack the route."""
    username = str((claims or {}).get("username", ""))
    if not claims or not username or claims.get("token_use", "access") != "access":
        raise Unauthorized("Sign in as an organiser and send the access token.")
    groups = groups_of(claims)
    if not groups & MAY_CALL.get(route_key, frozenset()):
        raise Forbidden("Your organiser role does not allow this action.")
    account = directory.account(username)
    if account is None or not account.enabled:
        raise Unauthorized("Sign in as an organiser and send the access token.")
    if groups & set(mfa_groups) and not account.has_mfa:
        raise Forbidden("Set up an authenticator app (MFA) for your account before acting as an organiser.")
    return Organiser(actor=account.email, groups=groups)


def organisers_only(
    directory: Callable[[], OrganiserDirectory], mfa_groups: Callable[[], Collection[str]]
) -> Middleware:
    """A resolver-wide middleware: the route runs only for an organiser whose groups allow it; it finds them in
    `app.context["organiser"]`. Refusals go through the problem map (401 `unauthorized`, 403 `forbidden`)."""

    def require_organiser(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = APIGatewayProxyEventV2(app.current_event.raw_event)
        claims = event.request_context.authorizer.jwt_claim
        app.context["organiser"] = identify(event.route_key, claims, directory(), mfa_groups())
        return next_middleware(app)  # the resolver clears its context after each request

    return require_organiser
