"""The local stack: the whole backend on one machine, with no Docker, no AWS account and no Stripe account.

`LocalStack` is the one builder of it, for `make run` (`python -m infra.local_stack`), `make demo`, the tests, the
bench and the fault run: a moto server with template.yaml deployed into it, the Stripe stand-in, the HTTP API on
a loopback port, the stream's event source mapping and the schedules, and `drain` to wait until nothing is
pending. `make run` prints the addresses and the embedded defaults and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import os
import secrets as secrets_module
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Self

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from infra.apigw import HttpResponse, LocalHttpApi, apply_environment, load_handler, problem_answer
from infra.fake_account import use_fake_account
from infra.gateway import LocalGateway, LocalRoute, json_answer
from infra.local_aws import DeployedStack, OperatorValues, deploy, provide_operator_values
from infra.local_cognito import LocalOrganisers, seed_organisers, trusted_client
from infra.local_mailbox import LocalMailbox
from infra.local_schedules import Handler as ScheduleHandler
from infra.local_schedules import LocalScheduler, Schedule, schedules
from infra.local_ses_events import LocalSesEvents, event_rules
from infra.moto_server import LockedMotoServer
from infra.queue_poller import QueuePoller, queue_mappings
from infra.serving import QuietHandler
from infra.stream_poller import StreamMapping, StreamPoller, stream_mappings
from infra.stripe_standin import StripeStandIn, StripeStandInServer
from infra.template import translated_template
from shared.adapters import aws as aws_clients
from shared.clock import conference_clock
from shared.composition.common import forget_events
from shared.conference import DEFAULT_CONFERENCE_FILE, Conference, load_conference
from shared.settings import TableSettings

HOST = "127.0.0.1"
# moto's CloudFormation warns about each resource it skips (the SES configuration set); expected here.
warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
logging.getLogger("moto").setLevel(logging.ERROR)


@dataclass(frozen=True)
class LocalSettings:
    """Where the stack listens (0: a free port) and the values an operator would put in; the defaults are the
    embedded ones `make run` prints."""

    port: int = 0
    stripe_port: int = 0
    aws_port: int = 0
    stripe_secret_key: str = "sk_test_local"
    stripe_webhook_secret: str = "whsec_local_development"
    sender: str = "conference@example.org"
    # The password of every organiser account of the local user pool (<group>@example.org, one per group).
    organiser_password: str = "Local-organiser-1"
    clock: datetime | None = None
    # The certificate signing keys' secret (JSON); None: a fresh key per run (certificates verify while it runs).
    certificate_keys: str | None = None

    @classmethod
    def from_environment(cls) -> LocalSettings:
        """`make run`'s settings: its well-known ports, and any LOCAL_* value the developer sets."""
        environ, embedded = os.environ, cls()
        clock = environ.get("LOCAL_CLOCK")
        return cls(
            port=int(environ.get("PORT", "3000")),
            stripe_port=int(environ.get("STRIPE_PORT", "12111")),
            aws_port=int(environ.get("AWS_PORT", "5000")),
            stripe_secret_key=environ.get("LOCAL_STRIPE_SECRET_KEY", embedded.stripe_secret_key),
            stripe_webhook_secret=environ.get("LOCAL_STRIPE_WEBHOOK_SECRET", embedded.stripe_webhook_secret),
            sender=environ.get("LOCAL_SENDER", embedded.sender),
            organiser_password=environ.get("LOCAL_ORGANISER_PASSWORD", embedded.organiser_password),
            clock=datetime.fromisoformat(clock) if clock else None,
        )


def _conference() -> Conference:
    """The seed conference (the data file CONFERENCE_FILE names, else NASRO 2020): the clock starts two weeks
    before it and is shown in its time zone (the seed itself is loaded by `seed_events`)."""
    return load_conference(
        TableSettings.model_validate({"TABLE_NAME": "-", **os.environ}).conference_file or DEFAULT_CONFERENCE_FILE
    )


def seed_events() -> None:
    """What the deploy's EventSeed custom resource does on AWS: the seed conference (CONFERENCE_FILE's, else NASRO
    2020) becomes the first, featured event, with its schedules, when the table has no event."""
    from functions.event_seed.handler import seed

    seed()


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
    """`LocalStack(settings).start()`: every part bound and wired; then `serve_forever()` (make run) or
    `serve_in_background()` (a caller that drives the stack from this process), and `stop()`.

    With `background=True` (make run) the stream's mapping and the schedules run on their own threads, as AWS
    runs them; with `background=False` (tests, bench, fault run) nothing runs by itself and `drain()` plays the
    mapping until nothing is pending, so a caller knows when the reactions to what it did are done.
    """

    stack: DeployedStack  # once started
    api: LocalHttpApi  # the functions called in this process as API Gateway calls them
    organisers: LocalOrganisers  # the local user pool's organiser accounts, once started

    def __init__(self, settings: LocalSettings | None = None) -> None:
        self.settings = settings = settings or LocalSettings()
        self._moto = LockedMotoServer(HOST, settings.aws_port)
        self.standin = StripeStandIn(api_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret)
        self._stripe = StripeStandInServer(self.standin, HOST, settings.stripe_port)
        self._http: BaseWSGIServer | None = None
        self.api_url = ""
        self.mailbox = LocalMailbox()
        self.session = boto3.session.Session()
        self.pollers: list[StreamPoller] = []
        self.queue_pollers: list[QueuePoller] = []  # the SQS mappings (the bulk jobs' worker)
        self._background = True
        self._scheduler: LocalScheduler | None = None
        self.ses_events: LocalSesEvents | None = None
        self._serving: threading.Thread | None = None
        self._tokens: dict[str, tuple[str, float]] = {}  # group -> access token, when to sign in again
        self._tokens_lock = threading.Lock()

    def start(self, *, background: bool = True) -> Self:
        """Bind every server first (a port of 0 picks a free one), then wire them to each other."""
        self._background = background
        self._moto.start()
        os.environ["AWS_ENDPOINT_URL"] = self._moto.url
        self._stripe.start()
        self.standin.public_url = self._stripe.url
        self._gateway = _Starting()
        self._http = make_server(HOST, self.settings.port, self._gateway, threaded=True, request_handler=QuietHandler)
        self.api_url = f"http://{HOST}:{self._http.server_port}"
        self.standin.webhook_url = f"{self.api_url}/webhooks/stripe"
        self.session = boto3.session.Session()
        self.stack = deploy(
            self.session,
            {
                "StripeApiBase": self._stripe.url,
                "SiteUrl": self.api_url,
                "SenderAddress": self.settings.sender,
                # The embedded organiser accounts sign in with a password alone (no authenticator app).
                "OrganiserMfaGroups": "",
                # One worker plays the jobs queue here (its poller), paced at this rate: bulk mail stays paced,
                # and a test's or the demo's few mails go at once.
                "MaxSendRate": "500",
                "BulkSenderConcurrency": "1",
            },
        )
        local = self.settings
        keys = local.certificate_keys or json.dumps({"current": "1", "keys": {"1": secrets_module.token_hex(32)}})
        values = OperatorValues(local.stripe_secret_key, local.stripe_webhook_secret, keys)
        # The secrets' values are the embedded local defaults; SES sends from the sender's verified domain.
        provide_operator_values(self.session, self.stack, values)
        apply_environment(self.stack)
        # A task SES throttled comes back after a second here (30 s and doubling on AWS), so a drain ends soon.
        os.environ.setdefault("THROTTLE_BACKOFF_SECONDS", "1")
        self.organisers = self._seed_organisers()
        seed_events()
        conference = _conference()
        begin = local.clock or datetime.combine(
            conference.starts_on - timedelta(days=14), datetime.min.time(), conference.zone
        ).replace(hour=9)
        conference_clock.travel_to(begin)
        self.api = LocalHttpApi(self.stack)
        self.api.preload()
        self._template = translated_template()
        self.pollers = self._start_pollers()
        self.queue_pollers = self._queue_pollers()
        self.ses_events = self._ses_events()
        if background:
            self.ses_events.start()
            entries = [
                (
                    schedule,
                    load_handler(self.stack.functions[schedule.function_logical_id]),
                    self.stack.functions[schedule.function_logical_id].name,
                )
                for schedule in schedules(self._template, self.stack.parameters)
            ]
            self._scheduler = self._local_scheduler(entries)
            self._scheduler.start()
        self._gateway.ready(LocalGateway(self.api, conference.zone, self._local_routes()))
        return self

    def _seed_organisers(self) -> LocalOrganisers:
        """One organiser per group in the pool whose app client the admin routes' JWT authorizer trusts."""
        guarded = {route.authorizer for route in self.stack.routes if route.path.startswith("/admin/")}
        (name,) = guarded - {None}
        audience = self.stack.authorizers[str(name)].audience
        client = trusted_client(self.stack.cognito, audience)
        return seed_organisers(self.session, self.stack.cognito, client, self.settings.organiser_password)

    def organiser_token(self, group: str) -> str:
        """A Cognito access token of the local organiser in `group` (viewer, support, finance, admin), signed in
        with InitiateAuth (USER_PASSWORD_AUTH) as the organiser page does; kept until a minute before it expires."""
        with self._tokens_lock:
            token, renew_at = self._tokens.get(group, ("", 0.0))
            if time.time() < renew_at:
                return token
            cognito: Any = self.session.client("cognito-idp")
            credentials = {"USERNAME": self.organisers.email_of(group), "PASSWORD": self.settings.organiser_password}
            answer = cognito.initiate_auth(
                ClientId=self.organisers.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=credentials
            )["AuthenticationResult"]
            token = str(answer["AccessToken"])
            self._tokens[group] = (token, time.time() + int(answer["ExpiresIn"]) - 60)
            return token

    def _local_scheduler(self, entries: list[tuple[Schedule, ScheduleHandler, str]]) -> LocalScheduler:
        """The template's schedules and the run-time ones of every event's group in moto (the seed's, placed at
        start, and those the admin routes place; shared/adapters/scheduler.py)."""
        environment = self.stack.functions["AdminApiFunction"].environment
        prefix = environment["SCHEDULE_GROUP_PREFIX"]
        client = self.session.client("scheduler")
        by_name = {function.name: function for function in self.stack.functions.values()}

        def resolve_target(arn: str) -> tuple[ScheduleHandler, str] | None:
            # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
            parts = arn.split(":")
            is_function = len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function"
            function = by_name.get(parts[6]) if is_function else None
            return (load_handler(function), function.name) if function is not None else None

        return LocalScheduler(
            entries, conference_clock.now, client=client, group_prefix=prefix, resolve_target=resolve_target
        )

    def _ses_events(self) -> LocalSesEvents:
        """SES's event publishing for what the functions send (moto publishes none), to the template's rules."""
        functions = {
            logical_id: (load_handler(function), function.name) for logical_id, function in self.stack.functions.items()
        }
        account = self.session.client("sts").get_caller_identity()["Account"]
        events = LocalSesEvents(
            event_rules(self._template, self.stack.resources, functions),
            account=account,
            region=self.session.region_name,
        )
        events.attach(aws_clients.client("sesv2"))  # the client every function of this process sends with
        return events

    def poller(self, starting_position: str | None = None) -> StreamPoller:
        """A new poller for the template's stream mapping (at the template's starting position unless told)."""
        (mapping,) = stream_mappings(self._template, self.stack.resources, self.session)
        if starting_position is not None:
            mapping = replace(mapping, starting_position=starting_position)
        return self._poller_for(mapping)

    def _poller_for(self, mapping: StreamMapping) -> StreamPoller:
        function = self.stack.functions[mapping.function_logical_id]
        return StreamPoller(self.session, mapping, load_handler(function), function_name=function.name)

    def _start_pollers(self) -> list[StreamPoller]:
        """The stream event source mappings, played here as Lambda plays them (on their threads if background)."""
        pollers = [
            self._poller_for(mapping) for mapping in stream_mappings(self._template, self.stack.resources, self.session)
        ]
        if self._background:
            for poller in pollers:
                poller.start()
        return pollers

    def _queue_pollers(self) -> list[QueuePoller]:
        """The SQS event source mappings (the jobs queue's worker), played here as Lambda plays them."""
        pollers = []
        for mapping in queue_mappings(self._template, self.stack.resources, self.session):
            function = self.stack.functions[mapping.function_logical_id]
            timeout = float(self._template["Resources"][mapping.function_logical_id]["Properties"].get("Timeout", 15))
            pollers.append(
                QueuePoller(
                    self.session, mapping, load_handler(function), function_name=function.name, timeout_seconds=timeout
                )
            )
        if self._background:
            for poller in pollers:
                poller.start()
        return pollers

    def drain(self, timeout: float = 60) -> bool:
        """Return once nothing is pending: webhook deliveries, stream records, queued tasks, due schedules, and
        whatever those cause in turn. False if that did not happen within `timeout` seconds."""
        return drain(
            self.standin, self.pollers, self._scheduler, self.ses_events, queues=self.queue_pollers, timeout=timeout
        )

    def settle(self, timeout: float = 60) -> None:
        """drain(), or RuntimeError if work is still pending after `timeout` seconds (a caller that must not
        measure or check a half-done state)."""
        if not self.drain(timeout):
            raise RuntimeError(f"the local stack was still busy after {timeout:.0f} s")

    def reset(self) -> None:
        """Empty, as just deployed: no items, stream records, emails, queued messages or Stripe objects; the
        resources, the functions (warm), the organiser accounts (moto's Cognito is not cleared) and the clock stay.
        Pollers start again on the empty stream."""
        self.standin.reset()
        for poller in self.pollers:
            poller.stop()
        for queue in self.queue_pollers:
            queue.stop()
        self._moto.clear_data()
        forget_events()
        seed_events()
        self.mailbox = LocalMailbox()
        if self.ses_events is not None:
            self.ses_events.reset()
        self.pollers = self._start_pollers()
        self.queue_pollers = self._queue_pollers()

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

        def organisers(_request: object, _match: dict[str, str]) -> HttpResponse:
            return json_answer(self.organisers.summary())

        return [
            ("GET", "/_local/organisers", organisers),
            ("GET", "/_local/emails", emails),
            ("GET", r"/_local/emails/(?P<email_id>[^/]+)\.eml", raw_email),
            ("POST", "/_local/drain", drain),
        ]

    def serve_forever(self) -> None:
        assert self._http is not None
        self._http.serve_forever()

    def serve_in_background(self) -> Self:
        """For a caller that drives the stack from this same process; stop() ends it."""
        assert self._http is not None
        self._serving = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="local-http", daemon=True
        )
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
        if self.ses_events is not None:
            _timed("SES events", self.ses_events.stop)
        for poller in self.pollers:
            _timed("stream poller", poller.stop)
        for queue in self.queue_pollers:
            _timed("queue poller", queue.stop)
        if self._http is not None:
            self._http.server_close()
        self.standin.close()
        _timed("Stripe stand-in", self._stripe.stop)
        _timed("moto", self._moto.stop)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def banner(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "Conference backend, local stack",
                f"  HTTP API          {self.api_url}   (GET /conference, POST /registrations, /openapi.json)",
                f"  Stripe stand-in   {self._stripe.url}",
                f"  local AWS (moto)  {self._moto.url}   (Cognito too: GET /_local/organisers, then InitiateAuth)",
                f"  organisers        {', '.join(user.email for user in self.organisers.users)}",
                "  SES simulator     mail to bounce@simulator.amazonses.com bounces, to complaint@... complains",
                f"  conference time   {conference_clock.now().astimezone(_conference().zone).isoformat()}",
                "Embedded defaults",
                f"  LOCAL_STRIPE_SECRET_KEY      {s.stripe_secret_key}",
                f"  LOCAL_STRIPE_WEBHOOK_SECRET  {s.stripe_webhook_secret}",
                f"  LOCAL_SENDER                 {s.sender}",
                f"  LOCAL_ORGANISER_PASSWORD     {s.organiser_password}",
                "Ctrl-C stops everything.",
            ]
        )


def drain(
    standin: StripeStandIn,
    pollers: Sequence[StreamPoller],
    scheduler: LocalScheduler | None = None,
    ses_events: LocalSesEvents | None = None,
    *,
    queues: Sequence[QueuePoller] = (),
    timeout: float = 60,
) -> bool:
    """Until nothing is pending: webhook deliveries, then every stream record, every queued task (a delayed one
    too), due schedules, SES's events of what was sent, and what those cause in turn. False if that did not happen
    within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fired_before = scheduler.fired_total if scheduler is not None else 0
        busy = not standin.wait_idle(timeout=max(0.0, deadline - time.monotonic()))
        for poller in pollers:
            if poller.has_pending():
                poller.poll_once()
                busy = True
        for queue in queues:
            if queue.has_pending():
                if not queue.poll_once():
                    time.sleep(0.05)  # only delayed (or in-flight) tasks: wait for them without spinning
                busy = True
        # A schedule the background thread fired meanwhile counts too: what it wrote is still to be streamed.
        if scheduler is not None and (scheduler.fire_due() or scheduler.fired_total != fired_before):
            busy = True
        if ses_events is not None and ses_events.publish_pending():
            busy = True
        if not busy:
            return True
    return False


def _timed(part: str, stop: Callable[[], None]) -> None:
    """Stop one part; say so when it was slow, so a slow Ctrl-C names its cause."""
    started = time.monotonic()
    stop()
    if (took := time.monotonic() - started) > 2:
        print(f"stopping the {part} took {took:.1f} s", file=sys.stderr, flush=True)


def main() -> None:
    use_fake_account(POWERTOOLS_METRICS_DISABLED="true")  # EMF lines would only bury the useful output locally
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
