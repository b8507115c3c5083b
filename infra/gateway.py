"""The HTTP side of the local stack: a WSGI app that serves the template's routes through the in-process API
Gateway, the site's pages among them (the site function, functions/site_pages, as on AWS), plus the local-only
routes (never deployed) under /_local."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.apigw import HttpResponse, LocalHttpApi, problem_answer
from shared.clock import conference_clock

LocalHandler = Callable[[Request, dict[str, str]], HttpResponse]
LocalRoute = tuple[str, str, LocalHandler]  # method, path pattern (a regular expression), handler


def json_answer(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def caller_address(request: Request) -> str:
    """The caller's address as API Gateway reports it (`sourceIp`). A loopback peer is a proxy or a test playing
    many clients, so its `X-Forwarded-For` names the client: the first valid address in it, as a proxy in front of
    API Gateway would pass it on. Anything else is the connection's own address."""
    peer = request.remote_addr or "127.0.0.1"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        from_loopback = ipaddress.ip_address(peer) in LOOPBACK
    except ValueError:
        from_loopback = False
    if from_loopback and forwarded:
        first = forwarded.split(",", 1)[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            return peer
    return peer


class LocalGateway:
    def __init__(self, api: LocalHttpApi, zone: tzinfo, local_routes: list[LocalRoute] | None = None) -> None:
        self._api = api
        self._zone = zone  # conference time is shown in the conference's time zone
        routes: list[LocalRoute] = [
            ("GET", "/_local/clock", lambda _request, _match: self._clock_answer()),
            ("POST", "/_local/clock", lambda request, _match: self._set_clock(request)),
            *(local_routes or []),
        ]
        self._local_routes = [(method, re.compile(f"^{path}$"), handler) for method, path, handler in routes]

    def _local(self, request: Request) -> HttpResponse | None:
        for method, pattern, handler in self._local_routes:
            found = pattern.match(request.path)
            if found and method == request.method:
                return handler(request, found.groupdict())
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        local = self._local(request) if request.path.startswith("/_local/") else None
        if local is not None:
            answer = local
        else:
            answer = self._api.request(
                request.method,
                request.path,
                query=request.query_string.decode("latin-1"),
                headers=dict(request.headers.items()),
                body=request.get_data(),
                source_ip=caller_address(request),
            )
        response = Response(answer.body, status=answer.status, headers=list(answer.headers.items()))
        for cookie in answer.cookies:
            response.headers.add("Set-Cookie", cookie)
        return response(environ, start_response)

    def _clock_answer(self) -> HttpResponse:
        return json_answer({"now": conference_clock.now().astimezone(self._zone).isoformat(timespec="seconds")})

    def _set_clock(self, request: Request) -> HttpResponse:
        try:
            moment = datetime.fromisoformat(json.loads(request.get_data())["now"])
            conference_clock.travel_to(moment)
        except (ValueError, KeyError, TypeError):
            field = [{"field": "now", "message": "An ISO 8601 time with an offset is required."}]
            detail = 'Send {"now": "<ISO 8601 time with offset>"}.'
            return problem_answer(422, "validation_error", "The request is not valid", detail, field)
        return self._clock_answer()
