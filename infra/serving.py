"""A WSGI app served on a loopback port from a background thread: moto, the Stripe stand-in, test APIs."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    # One access-log line per request would drown everything else the tests and the local stack print.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class BackgroundServer:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        request_handler: type[WSGIRequestHandler] = QuietHandler,
        name: str = "http",
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._request_handler = request_handler
        self._name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self._name} server's address is known once it is started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> Self:
        if self._server is None:
            self._server = make_server(
                self._host, self._port, self._app, threaded=True, request_handler=self._request_handler
            )
            # A short poll interval keeps stop() quick; werkzeug's default half second adds up across tests.
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self._name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
