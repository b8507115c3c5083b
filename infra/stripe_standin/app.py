"""StripeStandIn: the WSGI app. Routes Stripe's v1 API (auth, form params, idempotency, errors), the `/_test`
simulation routes and the hosted Checkout page onto the ledger, and hands events to the webhook deliverer."""

from __future__ import annotations

import copy
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import stripe
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from infra.stripe_standin import forms, objects, page
from infra.stripe_standin.checkout import parse_session_params
from infra.stripe_standin.errors import StripeError, invalid
from infra.stripe_standin.forms import Params
from infra.stripe_standin.ledger import INVOICE_FLOWS, Ledger, Origin, paginate
from infra.stripe_standin.objects import Obj
from infra.stripe_standin.webhooks import DEFAULT_RETRY_DELAYS, Attempt, Deliverer, Delivery

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

DEFAULT_PUBLIC_URL = "http://127.0.0.1:12111"
_LIST_PARAMS = ("limit", "starting_after", "ending_before", "expand")
_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")


@dataclass
class _Rule:
    """A pending fault or delay for the next `remaining` API requests matching method and path prefix."""

    method: str
    path_prefix: str
    remaining: int
    status: int = 500
    seconds: float = 0.0


@dataclass(frozen=True)
class _Call:
    params: Params
    expand: list[str]
    origin: Origin


@dataclass(frozen=True)
class _Endpoint:
    handler: Callable[..., _Result]
    returns: str  # the object it answers with, for checking `expand` before it runs


@dataclass
class _Result:
    body: Obj
    events: list[Obj] = field(default_factory=list)


@dataclass(frozen=True)
class _Saved:
    """A response kept for an idempotency key, with what it answered (method, path, params)."""

    request: tuple[str, str, Params]
    status: int
    body: bytes
    request_id: str


class StripeStandIn:
    def __init__(
        self,
        *,
        api_key: str = "sk_test_local",
        webhook_secret: str = "whsec_local_development",  # noqa: S107 - the well-known local-only secret
        webhook_url: str | None = None,
        public_url: str = DEFAULT_PUBLIC_URL,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.public_url = public_url
        self.requests_log: list[tuple[str, str, str | None]] = []
        # One lock guards the state; it is never held while a webhook is sent, because the receiving handler
        # may call back into the stand-in.
        self._lock = threading.Lock()
        self._deliverer = Deliverer(webhook_secret, retry_delays=retry_delays, timeout=webhook_timeout)
        self._ledger = self._new_ledger()
        self._saved: dict[tuple[str, str], _Saved] = {}
        self._faults: list[_Rule] = []
        self._delays: list[_Rule] = []
        get, post = ["GET"], ["POST"]
        session, intent, events = "checkout.session", "payment_intent", "list:event"
        self._api_routes = Map(
            [
                Rule("/v1/checkout/sessions", methods=post, endpoint=_Endpoint(self._create_session, session)),
                Rule("/v1/checkout/sessions", methods=get, endpoint=_Endpoint(self._list_sessions, f"list:{session}")),
                Rule(
                    "/v1/checkout/sessions/<object_id>",
                    methods=get,
                    endpoint=_Endpoint(self._retrieve_session, session),
                ),
                Rule(
                    "/v1/checkout/sessions/<object_id>/expire",
                    methods=post,
                    endpoint=_Endpoint(self._expire_session, session),
                ),
                Rule(
                    "/v1/checkout/sessions/<object_id>/line_items",
                    methods=get,
                    endpoint=_Endpoint(self._list_line_items, "list:item"),
                ),
                Rule("/v1/payment_intents/<object_id>", methods=get, endpoint=self._retrieval(intent)),
                Rule("/v1/charges/<object_id>", methods=get, endpoint=self._retrieval("charge")),
                Rule("/v1/refunds", methods=post, endpoint=_Endpoint(self._create_refund, "refund")),
                Rule("/v1/refunds/<object_id>", methods=get, endpoint=self._retrieval("refund")),
                Rule("/v1/disputes/<object_id>", methods=get, endpoint=self._retrieval("dispute")),
                Rule("/v1/customers", methods=post, endpoint=_Endpoint(self._create_customer, "customer")),
                Rule("/v1/customers/<object_id>", methods=get, endpoint=self._retrieval("customer")),
                Rule("/v1/invoiceitems", methods=post, endpoint=_Endpoint(self._create_invoice_item, "invoiceitem")),
                Rule("/v1/invoiceitems/<object_id>", methods=get, endpoint=self._retrieval("invoiceitem")),
                Rule("/v1/invoices", methods=post, endpoint=_Endpoint(self._create_invoice, "invoice")),
                Rule("/v1/invoices", methods=get, endpoint=_Endpoint(self._list_invoices, "list:invoice")),
                Rule("/v1/invoices/<object_id>", methods=get, endpoint=self._retrieval("invoice")),
                Rule(
                    "/v1/invoices/<object_id>/<action>",
                    methods=post,
                    endpoint=_Endpoint(self._invoice_action, "invoice"),
                ),
                Rule(
                    "/v1/invoice_payments",
                    methods=get,
                    endpoint=_Endpoint(self._list_invoice_payments, "list:invoice_payment"),
                ),
                Rule("/v1/events", methods=get, endpoint=_Endpoint(self._list_events, events)),
                Rule("/v1/events/<object_id>", methods=get, endpoint=self._retrieval("event")),
            ]
        )
        self._test_routes = Map(
            [
                Rule("/_test/checkout_sessions/<object_id>/pay", methods=post, endpoint=self._test_pay),
                Rule("/_test/checkout_sessions/<object_id>/expire", methods=post, endpoint=self._test_expire),
                Rule("/_test/checkout_sessions/<object_id>/dispute", methods=post, endpoint=self._test_dispute),
                Rule("/_test/disputes/<object_id>/close", methods=post, endpoint=self._test_close_dispute),
                Rule("/_test/invoices/<object_id>/pay", methods=post, endpoint=self._test_pay_invoice),
                Rule("/_test/invoices/<object_id>/void", methods=post, endpoint=self._test_void_invoice),
                Rule(
                    "/_test/invoices/<object_id>/mark_uncollectible",
                    methods=post,
                    endpoint=self._test_mark_uncollectible,
                ),
                Rule("/_test/events/<object_id>/resend", methods=post, endpoint=self._test_resend),
                Rule("/_test/events/<object_id>/deliver", methods=post, endpoint=self._test_deliver),
            ]
        )
        self._page_routes = Map(
            [
                Rule("/checkout/<object_id>", methods=get, endpoint=self._checkout_page),
                Rule("/checkout/<object_id>/pay", methods=post, endpoint=self._checkout_pay),
                Rule("/checkout/<object_id>/cancel", methods=post, endpoint=self._checkout_cancel),
                Rule("/invoice/<object_id>", methods=get, endpoint=self._invoice_page),
                Rule("/invoice/<object_id>/pay", methods=post, endpoint=self._invoice_page_pay),
            ]
        )

    @property
    def webhook_secret(self) -> str:
        return self._deliverer.secret

    # Test controls

    def fail_next(self, method: str, path_prefix: str, *, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_Rule(method.upper(), path_prefix, times, status=status))

    def delay_next(self, method: str, path_prefix: str, *, seconds: float, times: int = 1) -> None:
        """Answer the next matching requests `seconds` late. The request takes effect first, so a client that
        times out and retries with the same idempotency key sees the original result replayed."""
        with self._lock:
            self._delays.append(_Rule(method.upper(), path_prefix, times, seconds=seconds))

    def wait_idle(self, timeout: float = 10) -> bool:
        return self._deliverer.wait_idle(timeout)

    def reset(self) -> None:
        """An account with no objects, events, faults or logged requests, as when the stand-in started."""
        self._deliverer.wait_idle(10)
        with self._lock:
            self._deliverer.forget()
            self._ledger = self._new_ledger()
            self._saved.clear()
            self._faults.clear()
            self._delays.clear()
            self.requests_log.clear()

    def _new_ledger(self) -> Ledger:
        return Ledger(
            api_version=stripe.api_version,
            deliverer=self._deliverer,
            webhooks_enabled=lambda: self.webhook_url is not None,
        )

    def delivery_attempts(self, event_id: str) -> list[Attempt]:
        return self._deliverer.attempts(event_id)

    def close(self) -> None:
        """Drop pending webhook retries (for shutdown)."""
        self._deliverer.close()

    # Customer and Stripe-side actions; each delivers its webhooks before returning.

    def pay(
        self, session_id: str, flow: str = "card", *, email: str | None = None, name: str | None = None
    ) -> list[Delivery]:
        return self._act(lambda: self._ledger.pay(session_id, flow, email=email, name=name))

    def expire(self, session_id: str) -> list[Delivery]:
        return self._act(lambda: self._ledger.expire(session_id, Origin()))

    def dispute(self, session_id: str, reason: str = "fraudulent") -> list[Delivery]:
        return self._act(lambda: self._ledger.open_dispute(session_id, reason))

    def pay_invoice(self, invoice_id: str, flow: str = "card") -> list[Delivery]:
        return self._act(lambda: self._ledger.pay_invoice(invoice_id, flow, Origin()))

    def void_invoice(self, invoice_id: str) -> list[Delivery]:
        return self._act(lambda: self._ledger.void_invoice(invoice_id, Origin()))

    def mark_uncollectible(self, invoice_id: str) -> list[Delivery]:
        return self._act(lambda: self._ledger.mark_uncollectible(invoice_id, Origin()))

    def close_dispute(self, dispute_id: str, status: str) -> list[Delivery]:
        return self._act(lambda: self._ledger.close_dispute(dispute_id, status))

    def resend(self, event_id: str, *, timestamp_offset: int = 0) -> Delivery:
        """Send an event again: same id and bytes, freshly signed (shifted by `timestamp_offset` seconds)."""
        with self._lock:
            event = copy.deepcopy(self._ledger.get(event_id, "event"))
        url = self.webhook_url
        status = self._deliverer.post(event_id, url, timestamp_offset=timestamp_offset).status_code if url else None
        return Delivery(event, status)

    def _act(self, change: Callable[[], list[Obj]]) -> list[Delivery]:
        with self._lock:
            events = copy.deepcopy(change())
        url = self.webhook_url
        return [
            Delivery(event, self._deliverer.deliver(event["id"], url).status_code if url else None) for event in events
        ]

    # WSGI

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request_id = objects.new_id("req_", 14)
        if request.path.startswith("/v1/"):
            response = self._api(request, request_id)
        elif request.path.startswith("/_test/"):
            response = self._test(request)
        else:
            response = self._page(request)
        response.headers["Request-Id"] = request_id
        return response(environ, start_response)

    # Stripe API

    def _api(self, request: Request, request_id: str) -> Response:
        key = (request.headers.get("Idempotency-Key") or None) if request.method == "POST" else None
        with self._lock:
            self.requests_log.append((request.method, request.path, key))
        headers = {"Stripe-Version": request.headers.get("Stripe-Version") or stripe.api_version}
        delay: _Rule | None = None
        try:
            self._authenticate(request)
            with self._lock:
                fault = _take(self._faults, request)
                delay = _take(self._delays, request)
            if fault is not None:
                raise StripeError(
                    fault.status, "An unknown error occurred (injected by the stand-in).", error_type="api_error"
                )
            endpoint, args = _match(self._api_routes, request)
            status, body, replayed_from = self._execute(endpoint, args, request, request_id, key)
            if replayed_from is not None:
                headers.update({"Idempotent-Replayed": "true", "Original-Request": replayed_from})
        except StripeError as error:
            status, body = error.status, objects.to_json(error.body())
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="Stripe"'
        if delay is not None:
            time.sleep(delay.seconds)
        return Response(body, status, headers, content_type="application/json")

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        # The SDK sends `Bearer <key>`; Stripe also takes HTTP Basic with the key as the username.
        given = (auth.token or "") if auth and auth.type == "bearer" else (auth.username or "") if auth else ""
        if not given:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise StripeError(401, f"Invalid API Key provided: {_mask(given)}")

    def _execute(
        self, endpoint: _Endpoint, args: dict[str, Any], request: Request, request_id: str, key: str | None
    ) -> tuple[int, bytes, str | None]:
        """Run a handler under the lock; with an idempotency key, replay or refuse a reuse of the key."""
        params = _params(request)
        call = _Call(params, forms.string_list(params.get("expand", []), "expand"), Origin(request_id, key))
        Ledger.check_expand(endpoint.returns, call.expand)
        fingerprint = (request.method, request.path, params)
        with self._lock:
            if key is not None:
                if len(key) > 255:
                    raise invalid("Idempotency keys can be at most 255 characters long.")
                saved = self._saved.get((self.api_key, key))
                if saved is not None:
                    return self._replay(saved, fingerprint, key)
            try:
                result = endpoint.handler(call, **args)
                status, body = 200, objects.to_json(self._ledger.present(result.body, call.expand))
            except StripeError as error:
                # Stripe keeps the result once the endpoint has run; a rejected parameter never ran it.
                if key is None or error.param is not None:
                    raise
                status, body, result = error.status, objects.to_json(error.body()), _Result({})
            if key is not None:
                self._saved[(self.api_key, key)] = _Saved(fingerprint, status, body, request_id)
            url = self.webhook_url
            if url is not None:
                for event in result.events:
                    self._deliverer.schedule(event["id"], url)
        return status, body, None

    @staticmethod
    def _replay(saved: _Saved, fingerprint: tuple[str, str, Params], key: str) -> tuple[int, bytes, str | None]:
        if saved.request[:2] != fingerprint[:2]:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"('{' '.join(saved.request[:2])}' vs '{' '.join(fingerprint[:2])}'). "
                f"Try using a key other than '{key}' if you meant to execute a different request.",
                error_type="idempotency_error",
            )
        if saved.request[2] != fingerprint[2]:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                f"Try using a key other than '{key}' if you meant to execute a different request.",
                error_type="idempotency_error",
            )
        return saved.status, saved.body, saved.request_id

    def _create_session(self, call: _Call) -> _Result:
        spec = parse_session_params(call.params, now=objects.now())
        return _Result(self._ledger.create_session(spec, public_url=self.public_url))

    def _list_sessions(self, call: _Call) -> _Result:
        forms.reject_unknown(call.params, (*_LIST_PARAMS, "payment_intent", "status"))
        return _Result(paginate(self._ledger.sessions(call.params), call.params, url="/v1/checkout/sessions"))

    def _retrieve_session(self, call: _Call, object_id: str) -> _Result:
        forms.reject_unknown(call.params, ("expand",))
        return _Result(self._ledger.session(object_id))

    def _expire_session(self, call: _Call, object_id: str) -> _Result:
        forms.reject_unknown(call.params, ("expand",))
        events = self._ledger.expire(object_id, call.origin)
        return _Result(self._ledger.session(object_id), events)

    def _list_line_items(self, call: _Call, object_id: str) -> _Result:
        forms.reject_unknown(call.params, _LIST_PARAMS)
        url = f"/v1/checkout/sessions/{object_id}/line_items"
        return _Result(paginate(self._ledger.line_items(object_id), call.params, url=url))

    def _retrieval(self, kind: str) -> _Endpoint:
        return _Endpoint(partial(self._retrieve, kind), kind)

    def _retrieve(self, kind: str, call: _Call, object_id: str) -> _Result:
        forms.reject_unknown(call.params, ("expand",))
        return _Result(self._ledger.get(object_id, kind))

    def _create_refund(self, call: _Call) -> _Result:
        refund, events = self._ledger.refund(call.params, call.origin)
        return _Result(refund, events)

    def _create_customer(self, call: _Call) -> _Result:
        return _Result(self._ledger.create_customer(call.params))

    def _create_invoice_item(self, call: _Call) -> _Result:
        return _Result(self._ledger.create_invoice_item(call.params))

    def _create_invoice(self, call: _Call) -> _Result:
        return _Result(self._ledger.create_invoice(call.params))

    def _list_invoices(self, call: _Call) -> _Result:
        forms.reject_unknown(call.params, (*_LIST_PARAMS, "customer", "status", "collection_method"))
        return _Result(paginate(self._ledger.invoices(call.params), call.params, url="/v1/invoices"))

    def _invoice_action(self, call: _Call, object_id: str, action: str) -> _Result:
        """finalize, send, pay (only `paid_out_of_band=true`: the card is paid on the hosted page), void and
        mark_uncollectible, each with Stripe's checks of the invoice's status."""
        if action == "finalize":
            forms.reject_unknown(call.params, ("expand", "auto_advance"))
            events = self._ledger.finalize_invoice(object_id, call.origin, public_url=self.public_url)
        elif action == "send":
            forms.reject_unknown(call.params, ("expand",))
            events = self._ledger.send_invoice(object_id, call.origin)
        elif action == "pay":
            forms.reject_unknown(call.params, ("expand", "paid_out_of_band"))
            if not forms.boolean(call.params.get("paid_out_of_band", "false"), "paid_out_of_band"):
                raise invalid("The Stripe stand-in pays invoices by card on the hosted invoice page only.")
            events = self._ledger.pay_invoice(object_id, "out_of_band", call.origin)
        elif action == "void":
            forms.reject_unknown(call.params, ("expand",))
            events = self._ledger.void_invoice(object_id, call.origin)
        elif action == "mark_uncollectible":
            forms.reject_unknown(call.params, ("expand",))
            events = self._ledger.mark_uncollectible(object_id, call.origin)
        else:
            raise StripeError(404, f"Unrecognized request URL (POST: /v1/invoices/{object_id}/{action}).")
        return _Result(self._ledger.get(object_id, "invoice"), events)

    def _list_invoice_payments(self, call: _Call) -> _Result:
        forms.reject_unknown(call.params, (*_LIST_PARAMS, "invoice", "payment", "status"))
        return _Result(paginate(self._ledger.invoice_payments(call.params), call.params, url="/v1/invoice_payments"))

    def _list_events(self, call: _Call) -> _Result:
        forms.reject_unknown(call.params, (*_LIST_PARAMS, "type", "types", "created", "delivery_success"))
        return _Result(paginate(self._ledger.events(call.params), call.params, url="/v1/events"))

    # Test routes: JSON in and out, no API key, webhooks delivered before answering.

    def _test(self, request: Request) -> Response:
        try:
            endpoint, args = _match(self._test_routes, request)
            deliveries: list[Delivery] = endpoint(_json_body(request), **args)
            status, body = 200, {"events": [delivery.summary() for delivery in deliveries]}
        except StripeError as error:
            status, body = error.status, error.body()
        return Response(objects.to_json(body), status, content_type="application/json")

    def _test_pay(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ("flow", "email", "name"))
        flow = body.get("flow", "card")
        email, name = body.get("email"), body.get("name")
        for param, value in (("flow", flow), ("email", email), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise invalid(f"Invalid string: {value}", param)
        return self.pay(object_id, flow, email=email, name=name)

    def _test_expire(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ())
        return self.expire(object_id)

    def _test_dispute(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ("reason",))
        return self.dispute(object_id, str(body.get("reason", "fraudulent")))

    def _test_close_dispute(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ("status",))
        return self.close_dispute(object_id, str(body.get("status", "")))

    def _test_pay_invoice(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ("flow",))
        return self.pay_invoice(object_id, forms.choice(body.get("flow", "card"), "flow", INVOICE_FLOWS))

    def _test_void_invoice(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ())
        return self.void_invoice(object_id)

    def _test_mark_uncollectible(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ())
        return self.mark_uncollectible(object_id)

    def _test_resend(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ())
        return [self.resend(object_id)]

    def _test_deliver(self, body: Params, object_id: str) -> list[Delivery]:
        forms.reject_unknown(body, ("timestamp_offset",))
        offset = forms.integer(body.get("timestamp_offset", 0), "timestamp_offset")
        return [self.resend(object_id, timestamp_offset=offset)]

    # Hosted Checkout page

    def _page(self, request: Request) -> Response:
        try:
            endpoint, args = _match(self._page_routes, request)
            response: Response = endpoint(request, **args)
        except StripeError as error:
            if error.status == 405:
                return _html(page.message_page("Method not allowed", error.message), 405)
            nothing = "There is no Checkout Session or invoice at this address."
            return _html(page.message_page("Not found", nothing), 404)
        return response

    def _snapshot(self, session_id: str) -> tuple[Obj, list[Obj]]:
        with self._lock:
            return copy.deepcopy(self._ledger.session(session_id)), self._ledger.line_items(session_id)

    def _checkout_page(self, request: Request, object_id: str) -> Response:
        return _html(page.checkout_page(*self._snapshot(object_id)))

    def _checkout_pay(self, request: Request, object_id: str) -> Response:
        try:
            self.pay(object_id, email=request.form.get("email") or None)
        except StripeError as error:
            if error.status == 404:
                raise
            # Paid or expired meanwhile (another tab, a webhook): show the page, which says so.
            return _html(page.checkout_page(*self._snapshot(object_id)), 409)
        session, _ = self._snapshot(object_id)
        if session["success_url"]:
            return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", object_id), 303)
        return _html(page.message_page("Payment complete", "Thank you. You can close this page."))

    def _invoice_snapshot(self, invoice_id: str) -> tuple[Obj, Obj]:
        with self._lock:
            invoice = copy.deepcopy(self._ledger.get(invoice_id, "invoice"))
            return invoice, copy.deepcopy(self._ledger.get(invoice["customer"], "customer"))

    def _invoice_page(self, request: Request, object_id: str) -> Response:
        invoice, customer = self._invoice_snapshot(object_id)
        if invoice["status"] == "draft":
            raise StripeError(404, "A draft invoice has no hosted page.")
        return _html(page.invoice_page(invoice, customer))

    def _invoice_page_pay(self, request: Request, object_id: str) -> Response:
        try:
            self.pay_invoice(object_id)
        except StripeError as error:
            if error.status == 404:
                raise
            return _html(page.invoice_page(*self._invoice_snapshot(object_id)), 409)
        return redirect(f"/invoice/{object_id}", 303)

    def _checkout_cancel(self, request: Request, object_id: str) -> Response:
        session, _ = self._snapshot(object_id)
        # Leaving Checkout does not expire the session, as with Stripe.
        return redirect(session["cancel_url"] or f"/checkout/{object_id}", 303)


def _match(routes: Map, request: Request) -> tuple[Any, dict[str, Any]]:
    try:
        endpoint, args = routes.bind_to_environ(request.environ).match()
    except MethodNotAllowed as error:
        raise StripeError(
            405, f"Unrecognized request URL ({request.method}: {request.path}). Allowed: {error.valid_methods}."
        ) from error
    except (NotFound, HTTPException) as error:
        raise StripeError(404, f"Unrecognized request URL ({request.method}: {request.path}).") from error
    return endpoint, dict(args)


def _params(request: Request) -> Params:
    if request.mimetype == "application/json":
        raise invalid("Stripe's v1 API takes application/x-www-form-urlencoded parameters, not JSON.")
    try:
        query = request.query_string.decode("utf-8")
        body = request.get_data().decode("utf-8") if request.method == "POST" else ""
    except UnicodeDecodeError as error:
        raise invalid("Request parameters must be UTF-8.") from error
    return forms.decode(query, body)


def _json_body(request: Request) -> Params:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise invalid("The request body must be a JSON object.") from error
    return forms.mapping(body, "body")


def _take(rules: list[_Rule], request: Request) -> _Rule | None:
    for rule in rules:
        if rule.method == request.method and request.path.startswith(rule.path_prefix):
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
            return rule
    return None


def _mask(key: str) -> str:
    """`sk_test_abcdefghijkl1234` -> `sk_test_************1234`: enough to recognise, never the whole key."""
    prefix = next((p for p in _KEY_PREFIXES if key.startswith(p)), "")
    secret = key[len(prefix) :]
    tail = secret[-4:] if len(secret) > 8 else ""
    return prefix + "*" * (len(secret) - len(tail)) + tail


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status, content_type="text/html; charset=utf-8")
