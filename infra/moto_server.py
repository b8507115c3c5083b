"""A moto server on loopback that behaves like one AWS account: every request is served under one lock.

moto's threaded server is not atomic: concurrent conditional writes (TransactWriteItems on one guard
item) can both win. DynamoDB serialises them; one lock around moto's WSGI app does the same here. This
module is the one place that knows it; the tests and the local stack both start moto through it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from infra.serving import BackgroundServer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per AWS call drowns everything else the local stack prints


def serialised(app: WSGIApp) -> WSGIApp:
    lock = threading.Lock()

    def locked_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # Drain the body inside the lock: moto builds some responses lazily.
            return list(app(environ, start_response))

    return locked_app


class LockedMotoServer(BackgroundServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = serialised(DomainDispatcherApplication(create_backend_app))
        super().__init__(app, host, port, request_handler=_QuietRequestHandler, name="moto")
