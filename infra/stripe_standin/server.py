"""Serve a StripeStandIn on a loopback port from a background thread (tests, local tooling)."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from infra.stripe_standin.app import DEFAULT_PUBLIC_URL, StripeStandIn


class _QuietHandler(WSGIRequestHandler):
    # Tests make hundreds of requests; werkzeug's per-request access log would drown their output.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeStandInServer:
    def __init__(self, standin: StripeStandIn, host: str = "127.0.0.1", port: int = 0) -> None:
        self.standin = standin
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("StripeStandInServer.url is known once the server is started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> StripeStandInServer:
        if self._server is not None:
            return self
        self._server = make_server(self._host, self._port, self.standin, threaded=True, request_handler=_QuietHandler)
        if self._port == 0 and self.standin.public_url == DEFAULT_PUBLIC_URL:
            # The default public URL names the default port; with an ephemeral port, point it here instead.
            self.standin.public_url = self.url
        # A short poll interval keeps stop() quick; werkzeug's default of half a second adds up across tests.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> StripeStandInServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
