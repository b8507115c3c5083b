"""`make run`: the whole backend on one machine, with no Docker, no AWS account and no Stripe account.

Starts a moto server, deploys template.yaml into it, starts the Stripe stand-in and serves the HTTP
API; prints the addresses and the embedded defaults; stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import secrets as secrets_module
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Before boto3 is imported anywhere: a fake account in one region, and moto as the only endpoint.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
# One moto server serialises every call; under load, calls queue longer than AWS would ever take.
os.environ.setdefault("AWS_CLIENT_READ_TIMEOUT_SECONDS", "60")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
# Metrics go to CloudWatch as EMF lines on AWS; locally they would only bury the useful output.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

import logging
import warnings

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from infra.apigw import HttpResponse, LocalHttpApi, apply_environment, load_handler, problem_answer
from infra.gateway import LocalGateway, LocalRoute, json_answer
from infra.local_aws import DeployedStack, OperatorValues, deploy, provide_operator_values
from infra.local_mailbox import LocalMailbox
from infra.local_schedules import LocalScheduler, schedules
from infra.moto_server import LockedMotoServer
from infra.serving import QuietHandler
from infra.stream_poller import StreamPoller, stream_mappings
from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.template import translated_template
from shared.clock import conference_clock
from shared.conference import DEFAULT_CONFERENCE_FILE, Conference, load_conference
from shared.settings import TableSettings

HOST = "127.0.0.1"
# moto's CloudFormation warns about each resource it skips (the SES configuration set); expected here.
warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
logging.getLogger("moto").setLevel(logging.ERROR)


@dataclass(frozen=True)
class LocalSettings:
    port: int
    stripe_port: int
    aws_port: int
    stripe_secret_key: str
    stripe_webhook_secret: str
    admin_token: str
    sender: str
    clock: datetime | None

    @classmethod
    def from_environment(cls) -> LocalSettings:
        clock = os.environ.get("LOCAL_CLOCK")
        return cls(
            port=int(os.environ.get("PORT", "3000")),
            stripe_port=int(os.environ.get("STRIPE_PORT", "12111")),
            aws_port=int(os.environ.get("AWS_PORT", "5000")),
            stripe_secret_key=os.environ.get("LOCAL_STRIPE_SECRET_KEY", "sk_test_local"),
            stripe_webhook_secret=os.environ.get("LOCAL_STRIPE_WEBHOOK_SECRET", "whsec_local_development"),
            admin_token=os.environ.get("LOCAL_ADMIN_TOKEN", "local-admin-token"),
            sender=os.environ.get("LOCAL_SENDER", "conference@example.org"),
            clock=datetime.fromisoformat(clock) if clock else None,
        )


def _conference() -> Conference:
    """The conference the functions serve (the data file CONFERENCE_FILE names, else NASRO 2020), so that the
    clock starts and is shown in its time zone. Certificates are still issued at the template's CertificatesIssueAt."""
    return load_conference(
        TableSettings.model_validate({"TABLE_NAME": "-", **os.environ}).conference_file or DEFAULT_CONFERENCE_FILE
    )


class _Starting:
    """The HTTP server's app: 503 until the stack is deployed, then the gateway (the port is bound first,
    so that the Stripe stand-in knows where to send webhooks before anything is served)."""

    def __init__(self) -> None:
        self._app: LocalGateway | None = None

    def ready(self, app: LocalGateway) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
            return [b"starting\n"]
        return self._app(environ, start_response)


class LocalStack:
    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self._moto = LockedMotoServer(HOST, settings.aws_port)
        self.standin = StripeStandIn(api_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret)
        self._stripe = StripeStandInServer(self.standin, HOST, settings.stripe_port)
        self._http: BaseWSGIServer | None = None
        self.api_url = ""
        self.mailbox = LocalMailbox()
        self._pollers: list[StreamPoller] = []
        self._scheduler: LocalScheduler | None = None
        self._serving: threading.Thread | None = None

    def start(self) -> LocalStack:
        """Bind every server first (a port of 0 picks a free one), then wire them to each other."""
        self._moto.start()
        os.environ["AWS_ENDPOINT_URL"] = self._moto.url
        self._stripe.start()
        self.standin.public_url = self._stripe.url
        self._gateway = _Starting()
        self._http = make_server(HOST, self.settings.port, self._gateway, threaded=True, request_handler=QuietHandler)
        self.api_url = f"http://{HOST}:{self._http.server_port}"
        self.standin.webhook_url = f"{self.api_url}/webhooks/stripe"
        stack = deploy(
            boto3.session.Session(),
            {"StripeApiBase": self._stripe.url, "SiteUrl": self.api_url, "SenderAddress": self.settings.sender},
        )
        # The secrets' values are the embedded local defaults, with a fresh certificate signing key per run
        # (certificates verify for as long as this stack runs); SES sends from the sender's verified domain.
        keys = json.dumps({"current": "1", "keys": {"1": secrets_module.token_hex(32)}})
        local = self.settings
        values = OperatorValues(local.stripe_secret_key, local.stripe_webhook_secret, local.admin_token, keys)
        provide_operator_values(boto3.session.Session(), stack, values)
        apply_environment(stack)
        conference = _conference()
        start = self.settings.clock or datetime.combine(
            conference.starts_on - timedelta(days=14), datetime.min.time(), conference.zone
        ).replace(hour=9)
        conference_clock.travel_to(start)
        api = LocalHttpApi(stack)
        api.preload()
        self._start_event_sources(stack)
        self._gateway.ready(LocalGateway(api, conference.zone, self._local_routes()))
        return self

    def _start_event_sources(self, stack: DeployedStack) -> None:
        """Play the parts AWS plays around the functions: stream event source mappings and schedules."""
        session = boto3.session.Session()
        template = translated_template()
        for mapping in stream_mappings(template, stack.resources, session):
            function = stack.functions[mapping.function_logical_id]
            poller = StreamPoller(session, mapping, load_handler(function), function_name=function.name)
            poller.start()
            self._pollers.append(poller)
        entries = [
            (
                schedule,
                load_handler(stack.functions[schedule.function_logical_id]),
                stack.functions[schedule.function_logical_id].name,
            )
            for schedule in schedules(template, stack.parameters)
        ]
        self._scheduler = LocalScheduler(entries, conference_clock.now)
        self._scheduler.start()

    def drain(self, timeout: float = 60) -> bool:
        """Return once nothing is pending: webhook deliveries, stream records, due schedules, and whatever
        those cause in turn. False if that did not happen within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fired_before = self._scheduler.fired_total if self._scheduler is not None else 0
            busy = not self.standin.wait_idle(timeout=max(0.0, deadline - time.monotonic()))
            for poller in self._pollers:
                if poller.has_pending():
                    poller.poll_once()
                    busy = True
            # A schedule the background thread fired meanwhile counts too: what it wrote is still to be streamed.
            if self._scheduler is not None and (
                self._scheduler.fire_due() or self._scheduler.fired_total != fired_before
            ):
                busy = True
            if not busy:
                return True
        return False

    def _local_routes(self) -> list[LocalRoute]:
        def emails(_request: object, _match: dict[str, str]) -> HttpResponse:
            return json_answer([email.summary() for email in self.mailbox.emails()])

        def raw_email(_request: object, match: dict[str, str]) -> HttpResponse:
            email = self.mailbox.email(match["email_id"])
            if email is None:
                return problem_answer(404, "not_found", "Not found", "No email has this id.")
            return HttpResponse(200, {"content-type": "message/rfc822"}, email.raw)

        def drain(_request: object, _match: dict[str, str]) -> HttpResponse:
            if self.drain():
                return json_answer({"drained": True})
            detail = "Work was still pending after 60 seconds (a record failing with unbounded retries?)."
            return problem_answer(503, "drain_timeout", "Still busy", detail)

        return [
            ("GET", "/_local/emails", emails),
            ("GET", r"/_local/emails/(?P<email_id>[^/]+)\.eml", raw_email),
            ("POST", "/_local/drain", drain),
        ]

    def serve_forever(self) -> None:
        assert self._http is not None
        self._http.serve_forever()

    def serve_in_background(self) -> LocalStack:
        """For a caller that drives the stack from this same process (`make demo`); stop() ends it."""
        self._serving = threading.Thread(target=self.serve_forever, name="local-http", daemon=True)
        self._serving.start()
        return self

    def shutdown(self) -> None:
        """Ask serve_forever to return; safe from a signal handler (it does not wait)."""
        if self._http is not None:
            threading.Thread(target=self._http.shutdown, daemon=True).start()

    def stop(self) -> None:
        if self._serving is not None and self._http is not None:
            _timed("HTTP API", self._http.shutdown)
        if self._scheduler is not None:
            _timed("schedules", self._scheduler.stop)
        for poller in self._pollers:
            _timed("stream poller", poller.stop)
        if self._http is not None:
            self._http.server_close()
        _timed("Stripe stand-in", self._stripe.stop)
        _timed("moto", self._moto.stop)

    def banner(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "Conference backend, local stack",
                f"  HTTP API          {self.api_url}   (GET /conference, POST /registrations, /openapi.json)",
                f"  Stripe stand-in   {self._stripe.url}",
                f"  local AWS (moto)  {self._moto.url}",
                f"  conference time   {conference_clock.now().astimezone(_conference().zone).isoformat()}",
                "Embedded defaults",
                f"  LOCAL_STRIPE_SECRET_KEY      {s.stripe_secret_key}",
                f"  LOCAL_STRIPE_WEBHOOK_SECRET  {s.stripe_webhook_secret}",
                f"  LOCAL_ADMIN_TOKEN            {s.admin_token}",
                f"  LOCAL_SENDER                 {s.sender}",
                "Ctrl-C stops everything.",
            ]
        )


def _timed(part: str, stop: Callable[[], None]) -> None:
    """Stop one part; say so when it was slow, so a slow Ctrl-C names its cause."""
    started = time.monotonic()
    stop()
    if (took := time.monotonic() - started) > 2:
        print(f"stopping the {part} took {took:.1f} s", file=sys.stderr, flush=True)


def main() -> None:
    stack = LocalStack(LocalSettings.from_environment()).start()

    signal.signal(signal.SIGTERM, lambda _signum, _frame: stack.shutdown())
    # Ctrl-C stops the stack even when it was started from a shell that ignores SIGINT for background jobs
    # (Python then leaves it ignored, and the stack could only be killed).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(stack.banner(), flush=True)
    try:
        stack.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean stop
        stack.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
