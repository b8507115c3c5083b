"""What API Gateway (HTTP API, payload format 2.0) does around a Lambda handler, in-process.

Matches a request to the template's explicit routes, verifies the bearer token of a route its JWT authorizer
guards (as API Gateway does, against the issuer's published keys), builds the v2 event (headers, cookies, query,
path parameters, base64 bodies, the token's claims), calls the function's handler and turns its answer back into
HTTP. The tests and the local stack's HTTP gateway both go through here.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from joserfc import jwt
from joserfc.errors import JoseError, MissingHeaderError
from joserfc.jwk import GuestProtocol, Key, KeySet

from infra.local_aws import DeployedStack, JwtConfiguration, LocalFunction
from infra.template import Route

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_TEXT_TYPES = re.compile(r"^(text/.*|application/(.*\+)?(json|xml|x-www-form-urlencoded|javascript))$")


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 15.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def problem_answer(
    status: int, code: str, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    """An RFC 9457 problem from the local stack itself (the functions' own go through shared.api.problems)."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return HttpResponse(status, {"content-type": "application/problem+json"}, json.dumps(body).encode())


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        found = _route_pattern(route.path).match(path)
        if found and route.method == method.upper():
            return route, found.groupdict()
    return None


def build_event(
    route: Route,
    path_parameters: Mapping[str, str],
    *,
    method: str,
    path: str,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The v2 event; `authorizer` is `requestContext.authorizer` (`{"jwt": {"claims": ..., "scopes": ...}}`)."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    text_body: str | None = None
    encoded = False
    if body:
        try:
            text_body = body.decode("utf-8") if _TEXT_TYPES.match(content_type or "text/plain") else None
        except UnicodeDecodeError:
            text_body = None
        if text_body is None:
            text_body, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    query_parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        # API Gateway joins repeated query parameters with commas.
        query_parameters[name] = f"{query_parameters[name]},{value}" if name in query_parameters else value
    route_key = f"{route.method} {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": lowered.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if cookies:
        event["cookies"] = cookies
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if text_body is not None:
        event["body"] = text_body
    return event


def to_http_response(answer: Any) -> HttpResponse:
    """Lambda's answer as API Gateway would send it (a bare dict or string becomes a 200 JSON body)."""
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(answer).encode())
    headers = {name.lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(value) for value in values)
    raw = answer.get("body") or ""
    body = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
    return HttpResponse(int(answer["statusCode"]), headers, body, list(answer.get("cookies") or []))


def load_handler(function: LocalFunction) -> Handler:
    module_name, _, attribute = function.handler.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def apply_environment(stack: DeployedStack) -> None:
    """Give this process the functions' environment, as each Lambda container would have it.

    Every function runs in this one process, so their variables must agree where they overlap.
    """
    merged: dict[str, str] = {}
    for function in stack.functions.values():
        for name, value in function.environment.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"functions disagree on {name}; give the variable distinct names")
    os.environ.update(merged)


def claim_text(value: Any) -> str | None:
    """A claim as API Gateway's HTTP API passes it to the function: every value a string (`"1700000000"`,
    `"true"`), an array as its items between brackets, separated by spaces (`"[admin support]"`), an object as
    JSON; a null claim is left out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(text for text in map(claim_text, value) if text is not None) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class JwtAuthorizerPlayed:
    """An HTTP API JWT authorizer, checking what API Gateway checks before the function runs: a token in the identity
    source (alone, or after `Bearer`), signed with RS256 by a key of the issuer's key set (matched by `kid`;
    fetched once, then kept), `iss` the configured issuer, `aud` (or, without one, `client_id`) in the audience,
    `exp`, `nbf` and `iat` against the real time. The contract asks for access tokens, so `token_use` must be
    `access` as well. moto signs every pool's tokens with the same key: the issuer is what tells pools apart."""

    def __init__(self, configuration: JwtConfiguration) -> None:
        prefix = "$request.header."
        if not configuration.identity_source.startswith(prefix):
            raise ValueError(f"identity source {configuration.identity_source}: only a header is played locally")
        self.configuration = configuration
        self._header = configuration.identity_source.removeprefix(prefix).lower()
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def key_set(self) -> KeySet:
        with self._lock:
            if self._keys is None:
                with urllib.request.urlopen(self.configuration.jwks_url, timeout=10) as answer:  # noqa: S310 (loopback)
                    self._keys = KeySet.import_key_set(json.load(answer))
            return self._keys

    def claims(self, headers: Mapping[str, str]) -> dict[str, Any] | None:
        """The verified token's claims (as the token has them), or None when it would be refused (401)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        value = lowered.get(self._header, "").strip()
        scheme, _, rest = value.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else value
        if not token or " " in token:
            return None
        keys = self.key_set()

        def signing_key(guest: GuestProtocol) -> Key:
            kid = guest.headers().get("kid")
            if not isinstance(kid, str):
                raise MissingHeaderError("kid")  # API Gateway matches the key by kid; a lone key is no excuse
            return keys.get_by_kid(kid)

        try:
            verified = jwt.decode(token, signing_key, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.configuration.issuer},
                exp={"essential": True},
                token_use={"essential": True, "value": "access"},
            ).validate(verified.claims)
        except (JoseError, ValueError, TypeError):
            return None
        claims = verified.claims
        # `aud` (a string or a list, as RFC 7519 allows), else Cognito's access-token `client_id` (a string)
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) and "aud" in claims else [audience]
        if not any(isinstance(item, str) and item in self.configuration.audience for item in audiences):
            return None
        return claims

    @staticmethod
    def request_context(claims: Mapping[str, Any]) -> dict[str, Any]:
        """`requestContext.authorizer` as API Gateway gives it (no route here requires scopes: `scopes` is null)."""
        texts = {name: claim_text(value) for name, value in claims.items()}
        return {"jwt": {"claims": {name: text for name, text in texts.items() if text is not None}, "scopes": None}}


def unauthorized() -> HttpResponse:
    """The local answer for a refused token: a 401 problem `unauthorized` from the functions' own error map, with
    nothing about why (API Gateway answers with its own 401 body)."""
    from shared.api.problems import problem  # imported when first needed: shared/ reads its settings at import

    answer = problem(
        HTTPStatus.UNAUTHORIZED, "unauthorized", "Unauthorized", "Sign in as an organiser and send the access token."
    )
    headers = {name.lower(): str(value) for name, value in (answer.headers or {}).items()}
    headers["content-type"] = str(answer.content_type)
    body = answer.body if isinstance(answer.body, bytes) else str(answer.body).encode()
    return HttpResponse(answer.status_code, headers, body)


# Lambda runs one invocation at a time in an execution environment; here every function shares this process,
# and Powertools keeps the request being handled on a class attribute (`BaseRouter.current_event`), shared by
# every function's resolver. Concurrent invocations would read each other's requests (another person's body or
# Idempotency-Key), so HTTP invocations take turns, as one warm container per function would.
_INVOCATION = threading.Lock()


class LocalHttpApi:
    """The HTTP API of a deployed stack, served in-process."""

    def __init__(self, stack: DeployedStack) -> None:
        self._stack = stack
        self._handlers: dict[str, Handler] = {}
        self.authorizers = {name: JwtAuthorizerPlayed(config) for name, config in stack.authorizers.items()}

    def preload(self) -> None:
        """Import every function's handler now, as Lambda's init phase would, not on the first request."""
        for function in self._stack.functions.values():
            self._handler(function)

    def _handler(self, function: LocalFunction) -> Handler:
        if function.logical_id not in self._handlers:
            self._handlers[function.logical_id] = load_handler(function)
        return self._handlers[function.logical_id]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        matched = match_route(self._stack.routes, method, path)
        if matched is None:
            return problem_answer(404, "not_found", "Not found", f"There is no route {method.upper()} {path}.")
        route, parameters = matched
        context = None
        if route.authorizer is not None:
            authorizer = self.authorizers[route.authorizer]
            claims = authorizer.claims(headers or {})
            if claims is None:
                return unauthorized()
            context = authorizer.request_context(claims)
        function = self._stack.function_for(route)
        handler = self._handler(function)
        event = build_event(
            route,
            parameters,
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            authorizer=context,
        )
        with _INVOCATION:
            return to_http_response(handler(event, LambdaContext(function_name=function.name)))
