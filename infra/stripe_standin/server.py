"""Serve a StripeStandIn on a loopback port from a background thread (tests, local tooling)."""

from __future__ import annotations

from typing import Self

from infra.serving import BackgroundServer
from infra.stripe_standin.app import DEFAULT_PUBLIC_URL, StripeStandIn


class StripeStandInServer(BackgroundServer):
    def __init__(self, standin: StripeStandIn, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(standin, host, port, name="stripe-standin")
        self.standin = standin
        self._ephemeral = port == 0

    def start(self) -> Self:
        super().start()
        if self._ephemeral and self.standin.public_url == DEFAULT_PUBLIC_URL:
            # The default public URL names the default port; with an ephemeral port, point it here instead.
            self.standin.public_url = self.url
        return self
