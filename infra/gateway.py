"""The HTTP side of the local stack: a WSGI app that serves the template's routes through the
in-process API Gateway, plus the local-only routes (never deployed) under /_local."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.apigw import HttpResponse, LocalHttpApi
from shared.clock import conference_clock


class LocalGateway:
    def __init__(self, api: LocalHttpApi, zone: tzinfo) -> None:
        self._api = api
        self._zone = zone  # conference time is shown in the conference's time zone
        self._local_routes: dict[tuple[str, str], Callable[[Request], HttpResponse]] = {
            ("GET", "/_local/clock"): self._read_clock,
            ("POST", "/_local/clock"): self._set_clock,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        local = self._local_routes.get((request.method, request.path))
        if local is not None:
            answer = local(request)
        else:
            answer = self._api.request(
                request.method,
                request.path,
                query=request.query_string.decode("latin-1"),
                headers=dict(request.headers.items()),
                body=request.get_data(),
                source_ip=request.remote_addr or "127.0.0.1",
            )
        response = Response(answer.body, status=answer.status, headers=list(answer.headers.items()))
        for cookie in answer.cookies:
            response.headers.add("Set-Cookie", cookie)
        return response(environ, start_response)

    def _clock_answer(self) -> HttpResponse:
        now = conference_clock.now().astimezone(self._zone).isoformat(timespec="seconds")
        body = json.dumps({"now": now}).encode()
        return HttpResponse(200, {"content-type": "application/json"}, body)

    def _read_clock(self, _: Request) -> HttpResponse:
        return self._clock_answer()

    def _set_clock(self, request: Request) -> HttpResponse:
        try:
            moment = datetime.fromisoformat(json.loads(request.get_data())["now"])
            conference_clock.travel_to(moment)
        except (ValueError, KeyError, TypeError):
            problem = {
                "type": "/problems/validation_error",
                "title": "The request is not valid",
                "status": 422,
                "code": "validation_error",
                "detail": 'Send {"now": "<ISO 8601 time with offset>"}.',
                "errors": [{"field": "now", "message": "An ISO 8601 time with an offset is required."}],
            }
            return HttpResponse(422, {"content-type": "application/problem+json"}, json.dumps(problem).encode())
        return self._clock_answer()
