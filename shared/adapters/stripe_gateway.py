"""Stripe, through the official SDK's StripeClient. The only module that imports stripe.

The SDK is imported by the functions here, when one is first called, not with this module: `import stripe`
always runs its package's __init__ (its HTTP client, requests and asyncio: about 60 ms of CPU here), and no
narrower import skips that. The registration function's reads never call Stripe; the functions that do
load it before their snapshot with SnapStart (shared/snapstart.py), so no cold start waits for it there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from shared.conference.models import Money
from shared.errors import InvalidSignature
from shared.payments.invoices import InvoiceRequest, SentInvoice
from shared.payments.models import PaymentTruth, StripeEvent
from shared.payments.ports import StripeObjectMissing
from shared.registration.models import Checkout
from shared.registration.ports import CheckoutRequest, PaymentProviderError

if TYPE_CHECKING:
    import stripe
    from stripe.params.checkout import SessionCreateParams

T = TypeVar("T")

# Pinned: the webhook endpoint is created with the same version, and both move together on upgrade.
STRIPE_API_VERSION = "2026-10-28.endive"
# Well inside the function's timeout, so a slow Stripe becomes a clean 503 rather than a Lambda timeout.
STRIPE_TIMEOUT_SECONDS = 8


def load_sdk() -> None:
    """Import the SDK and the parts of it these adapters use (SnapStart's priming: shared/snapstart.py)."""
    import stripe

    for name in ("StripeClient", "PaymentIntent", "Charge", "Dispute", "Refund", "Invoice", "WebhookSignature"):
        getattr(stripe, name)  # the package loads each on first access
    stripe.checkout.Session  # noqa: B018


# A client per key: the adapters ask for the client at each call (StripeClients), which reads the key through the
# secrets' cache, so a rotated key is used within that cache's age without a cold start.
StripeClients = Callable[[], "stripe.StripeClient"]


@lru_cache(maxsize=4)
def stripe_client(api_key: str, api_base: str) -> stripe.StripeClient:
    import stripe

    return stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": api_base.rstrip("/")},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
    )


class StripeCheckoutGateway:
    def __init__(self, clients: StripeClients) -> None:
        self._clients = clients

    @property
    def _client(self) -> stripe.StripeClient:
        return self._clients()

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        import stripe

        # No personal data in metadata: the registration id is the only link Stripe needs.
        link = {"registration_id": request.registration_id}
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": request.seats,
                    "price_data": {
                        "currency": request.unit_price.currency,
                        "unit_amount": request.unit_price.amount,
                        "product_data": {"name": request.item_name},
                    },
                }
            ],
            "client_reference_id": request.registration_id,
            "metadata": link | {"kind": request.kind, "attempt": str(request.attempt)},
            "payment_intent_data": {"metadata": link},
            "customer_email": request.customer_email,
            # Stripe makes a paid invoice after the payment: the payer downloads its PDF for their accounts.
            "invoice_creation": {"enabled": True, "invoice_data": {"metadata": link}},
            "expires_at": int(request.expires_at.timestamp()),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc
        if not session.url:
            raise PaymentProviderError("checkout session without url")
        return Checkout(
            session_id=session.id,
            url=session.url,
            expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        )


class StripePaymentReader:
    """Re-reads Checkout Sessions, charges and disputes: the truth a webhook event only hints at."""

    def __init__(self, clients: StripeClients) -> None:
        self._clients = clients

    @property
    def _client(self) -> stripe.StripeClient:
        return self._clients()

    def session_truth(self, session_id: str) -> PaymentTruth:
        import stripe

        session = self._call(
            self._client.v1.checkout.sessions.retrieve,
            session_id,
            params={"expand": ["payment_intent.latest_charge"]},
        )
        intent = session.payment_intent if isinstance(session.payment_intent, stripe.PaymentIntent) else None
        charge = intent.latest_charge if intent and isinstance(intent.latest_charge, stripe.Charge) else None
        return PaymentTruth(
            registration_id=session.client_reference_id or _registration_of(session.metadata),
            livemode=session.livemode,
            session_id=session.id,
            session_status=session.status,
            payment_status=session.payment_status,
            # A delayed method that failed leaves the session complete, unpaid, its intent wanting a new method.
            payment_failed=session.status == "complete"
            and session.payment_status == "unpaid"
            and intent is not None
            and intent.status in {"requires_payment_method", "canceled"},
            amount=session.amount_total,
            currency=session.currency,
            payment_intent_id=intent.id if intent else None,
            **_charge_facts(charge),
        )

    def charge_truth(self, charge_id: str) -> PaymentTruth:
        charge = self._call(self._client.v1.charges.retrieve, charge_id)
        return PaymentTruth(
            registration_id=self._registration_of_charge(charge),
            livemode=charge.livemode,
            amount=charge.amount,
            currency=charge.currency,
            payment_intent_id=_id_of(charge.payment_intent),
            **_charge_facts(charge),
        )

    def dispute_truth(self, dispute_id: str) -> PaymentTruth:
        import stripe

        dispute = self._call(self._client.v1.disputes.retrieve, dispute_id, params={"expand": ["charge"]})
        charge = dispute.charge if isinstance(dispute.charge, stripe.Charge) else None
        if charge is None:
            raise PaymentProviderError("dispute without its charge")
        return PaymentTruth(
            registration_id=self._registration_of_charge(charge),
            livemode=dispute.livemode,
            amount=charge.amount,
            currency=charge.currency,
            payment_intent_id=_id_of(charge.payment_intent),
            dispute_id=dispute.id,
            dispute_status=dispute.status,
            **_charge_facts(charge),
        )

    def _registration_of_charge(self, charge: stripe.Charge) -> str | None:
        """Checkout's charges carry the registration in their metadata; an invoice's charge has none (Stripe keeps the
        metadata on the invoice), so its registration is the invoice's that this payment paid."""
        found = _registration_of(charge.metadata)
        intent_id = _id_of(charge.payment_intent)
        if found is not None or intent_id is None:
            return found
        payments = self._call(
            lambda paid_by: self._client.v1.invoice_payments.list(
                params={"payment": {"type": "payment_intent", "payment_intent": paid_by}, "expand": ["data.invoice"]}
            ),
            intent_id,
        )
        for payment in payments.data:
            invoice = payment.invoice
            if not isinstance(invoice, str) and (registration_id := _registration_of(invoice.metadata)):
                return registration_id
        return None

    def invoice_truth(self, invoice_id: str) -> PaymentTruth:
        invoice = self._call(self._client.v1.invoices.retrieve, invoice_id, params={"expand": ["payments"]})
        payments = invoice.payments.data if invoice.payments else []
        paid = next((p for p in payments if p.status == "paid" and p.payment.type == "payment_intent"), None)
        return PaymentTruth(
            registration_id=_registration_of(invoice.metadata),
            livemode=invoice.livemode,
            invoice_id=invoice.id,
            invoice_status=invoice.status,
            amount=invoice.amount_paid if invoice.status == "paid" else invoice.amount_due,
            currency=invoice.currency,
            # Paid by card (or a bank debit) through Stripe: the intent a refund goes back through; out of band: none.
            payment_intent_id=_id_of(paid.payment.payment_intent) if paid else None,
        )

    @staticmethod
    def _call(method: Callable[..., T], object_id: str, **kwargs: Any) -> T:
        import stripe

        try:
            return method(object_id, **kwargs)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise StripeObjectMissing(object_id) from exc
            raise PaymentProviderError(type(exc).__name__) from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc


def _registration_of(metadata: object) -> str | None:
    # StripeObject is not a plain dict: bracket access only (SDK 13+).
    if metadata is None or "registration_id" not in metadata:  # type: ignore[operator]
        return None
    value = metadata["registration_id"]  # type: ignore[index]
    return value if isinstance(value, str) else None


def _id_of(value: object) -> str | None:
    if isinstance(value, str) or value is None:
        return value
    object_id = getattr(value, "id", None)
    return object_id if isinstance(object_id, str) else None


class _ChargeFacts(TypedDict):
    charge_id: str | None
    charge_succeeded: bool
    amount_refunded: int


def _charge_facts(charge: stripe.Charge | None) -> _ChargeFacts:
    if charge is None:
        return {"charge_id": None, "charge_succeeded": False, "amount_refunded": 0}
    return {
        "charge_id": charge.id,
        "charge_succeeded": charge.status == "succeeded" and bool(charge.paid),
        "amount_refunded": charge.amount_refunded or 0,
    }


WEBHOOK_TOLERANCE_SECONDS = 300


def verify_webhook(payload: bytes, signature: str | None, secrets: list[str], *, now: float) -> StripeEvent:
    """The event, if `signature` is Stripe's for this exact body under one of `secrets` (rotation) and its
    timestamp is within 300 s of now in either direction; InvalidSignature otherwise. Nothing else is read
    from the body before that."""
    if not signature or not secrets:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSignature("The body is not the UTF-8 text Stripe signs.") from exc
    timestamps = [part[2:] for part in signature.split(",") if part.strip().startswith("t=")]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit():
        raise InvalidSignature("The Stripe-Signature header is malformed.")
    # stripe-python only rejects old timestamps; one from the future is refused here.
    if int(timestamps[0]) > now + WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidSignature("The signature's timestamp is in the future.")
    if not any(_verifies(text, signature, secret) for secret in secrets):
        raise InvalidSignature("The signature does not match this body.")
    return _parse_event(text)


def _verifies(text: str, signature: str, secret: str) -> bool:
    import stripe

    try:
        return bool(stripe.WebhookSignature.verify_header(text, signature, secret, WEBHOOK_TOLERANCE_SECONDS))
    except stripe.SignatureVerificationError:
        return False


def _parse_event(text: str) -> StripeEvent:
    try:
        body = json.loads(text)
        data_object = body["data"]["object"]
        event = StripeEvent(
            id=body["id"],
            type=body["type"],
            object_type=data_object["object"],
            object_id=data_object["id"],
            livemode=bool(body["livemode"]),
            created=int(body["created"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature("The body is not a Stripe event.") from exc
    # Thin events ("v2.core.event") carry no snapshot; this endpoint subscribes to snapshot events only.
    if body.get("object") != "event" or not all(isinstance(v, str) for v in (event.id, event.type, event.object_id)):
        raise InvalidSignature("The body is not a Stripe snapshot event.")
    return event


class StripeInvoiceGateway:
    """An invoice per registration, paid by card, US bank account or bank transfer (the customer balance's
    virtual account), sent by Stripe: every call with an idempotency key of the registration and step."""

    def __init__(self, clients: StripeClients) -> None:
        self._clients = clients

    def send_invoice(self, request: InvoiceRequest) -> SentInvoice:
        import stripe

        client = self._clients().v1
        link = {"registration_id": request.registration_id}
        try:
            customer = client.customers.create(
                params={"email": request.billing_email, "name": request.billing_name, "metadata": link},
                options={"idempotency_key": request.idempotency_key("customer")},
            )
            invoice = client.invoices.create(
                params={
                    "customer": customer.id,
                    "collection_method": "send_invoice",
                    "days_until_due": request.days_until_due,
                    "payment_settings": {
                        "payment_method_types": ["card", "us_bank_account", "customer_balance"],
                        # The bank transfer: a US virtual account number per customer, on the invoice and its page.
                        "payment_method_options": {
                            "customer_balance": {
                                "funding_type": "bank_transfer",
                                "bank_transfer": {"type": "us_bank_transfer"},
                            }
                        },
                    },
                    "custom_fields": [{"name": "PO number", "value": request.po_number}] if request.po_number else [],
                    "description": request.description,
                    "metadata": link,
                    "pending_invoice_items_behavior": "exclude",
                    "auto_advance": False,
                },
                options={"idempotency_key": request.idempotency_key("create")},
            )
            if invoice.status == "draft":
                for line in request.lines:
                    client.invoice_items.create(
                        params={
                            "customer": customer.id,
                            "invoice": invoice.id,
                            "amount": line.amount.amount,
                            "currency": line.amount.currency,
                            "description": line.description,
                            "metadata": link | {"attendee_id": line.attendee_id},
                        },
                        options={"idempotency_key": request.idempotency_key("item", line.attendee_id)},
                    )
                invoice = client.invoices.finalize_invoice(
                    invoice.id, options={"idempotency_key": request.idempotency_key("finalize")}
                )
            sent = client.invoices.send_invoice(
                invoice.id, options={"idempotency_key": request.idempotency_key("send")}
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc
        if not sent.hosted_invoice_url:
            raise PaymentProviderError("sent invoice without its page")
        due = datetime.fromtimestamp(sent.due_date, UTC) if sent.due_date else None
        return SentInvoice(invoice_id=sent.id, hosted_invoice_url=sent.hosted_invoice_url, due_at=due)


class StripeRefunds:
    def __init__(self, clients: StripeClients) -> None:
        self._clients = clients

    @property
    def _client(self) -> stripe.StripeClient:
        return self._clients()

    def refund(self, payment_intent_id: str, registration_id: str) -> str:
        import stripe

        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_intent_id, "metadata": {"registration_id": registration_id}},
                # One refund per registration, however often the organiser (or a retry) asks.
                options={"idempotency_key": f"refund:{registration_id}"},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc
        return str(refund.id)

    def refund_seat(self, payment_intent_id: str, registration_id: str, attendee_id: str, amount: Money) -> str:
        import stripe

        try:
            refund = self._client.v1.refunds.create(
                params={
                    "payment_intent": payment_intent_id,
                    "amount": amount.amount,
                    "metadata": {"registration_id": registration_id, "attendee_id": attendee_id},
                },
                # One refund per seat, however often it is asked for (a redelivered event, a retried request).
                options={"idempotency_key": f"refund:{registration_id}:{attendee_id}"},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(type(exc).__name__) from exc
        return str(refund.id)
