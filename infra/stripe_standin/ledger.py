"""The stand-in's state: sessions, payment intents, charges, refunds, disputes and events, and the transitions
between them. Not thread-safe by itself: StripeStandIn holds its lock around every call."""

from __future__ import annotations

import copy
import datetime
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.stripe_standin import forms, invoices, money, objects
from infra.stripe_standin.checkout import SessionSpec
from infra.stripe_standin.errors import StripeError, invalid, missing_param, no_such
from infra.stripe_standin.forms import Params
from infra.stripe_standin.objects import Obj
from infra.stripe_standin.webhooks import Deliverer

FLOWS = ("card", "async_success", "async_failure")
INVOICE_FLOWS = ("card", "out_of_band")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
DISPUTE_REASONS = (
    "bank_cannot_process",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
_OPEN_DISPUTE = ("needs_response", "under_review", "warning_needs_response", "warning_under_review")
# What each expandable property expands into; "list:<object>" is a list of those objects.
_EXPANDABLE = {
    "checkout.session": {"line_items": "list:item", "payment_intent": "payment_intent"},
    "payment_intent": {"latest_charge": "charge"},
    "charge": {"payment_intent": "payment_intent", "refunds": "list:refund"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "dispute": {"charge": "charge", "payment_intent": "payment_intent"},
    "invoice": {"customer": "customer", "payments": "list:invoice_payment"},
    "invoice_payment": {"invoice": "invoice"},
}
_KINDS = {
    "cs_": "checkout session",
    "pi_": "payment_intent",
    "ch_": "charge",
    "re_": "refund",
    "dp_": "dispute",
    "evt_": "event",
    "cus_": "customer",
    "ii_": "invoiceitem",
    "in_": "invoice",
}


@dataclass(frozen=True)
class Origin:
    """The API request that caused an event; customer and test actions have none, as in Stripe."""

    request_id: str | None = None
    idempotency_key: str | None = None


class Ledger:
    def __init__(self, *, api_version: str, deliverer: Deliverer, webhooks_enabled: Callable[[], bool]) -> None:
        self._api_version = api_version
        self._deliverer = deliverer
        self._webhooks_enabled = webhooks_enabled
        self._objects: dict[str, dict[str, Obj]] = {kind: {} for kind in _KINDS.values()}
        self._line_items: dict[str, list[Obj]] = {}
        self._payment_intent_data: dict[str, dict[str, Any]] = {}
        self._refunds_by_charge: dict[str, list[str]] = {}
        self._invoice_days: dict[str, int | None] = {}
        self._invoice_payments: dict[str, list[Obj]] = {}

    # Lookups

    def get(self, object_id: str, kind: str | None = None, *, param: str = "id", status: int = 404) -> Obj:
        """The stored object; `kind` restricts the lookup (a charge id is no checkout session)."""
        kind = kind or next((name for prefix, name in _KINDS.items() if object_id.startswith(prefix)), None)
        found = self._objects[kind].get(object_id) if kind else None
        if found is None:
            raise no_such(kind or "object", object_id, param=param, status=status)
        return found

    def session(self, session_id: str) -> Obj:
        return self.get(session_id, "checkout session")

    def line_items(self, session_id: str) -> list[Obj]:
        self.session(session_id)
        return copy.deepcopy(self._line_items[session_id])

    def present(self, obj: Obj, expand: list[str]) -> Obj:
        """A copy of `obj` as the API returns it: events with their current delivery state, `expand` applied."""
        result = copy.deepcopy(obj)
        for item in result["data"] if result.get("object") == "list" else [result]:
            if item.get("object") == "event":
                item["pending_webhooks"] = 0 if self.delivered(item) else 1
        for path in expand:
            self._expand(result, path.split("."))
        return result

    @staticmethod
    def check_expand(object_name: str, paths: list[str]) -> None:
        """Refuse unexpandable paths before an endpoint runs, so a bad `expand` never leaves a change behind.
        `object_name` is what the endpoint returns, e.g. `checkout.session` or `list:event`."""
        for path in paths:
            current = object_name
            for name in path.split("."):
                if current.startswith("list:") and name == "data":
                    current = current.removeprefix("list:")
                    continue
                target = _EXPANDABLE.get(current, {}).get(name)
                if target is None:
                    raise invalid(f"This property cannot be expanded ({name}).", "expand")
                current = target

    def delivered(self, event: Obj) -> bool:
        attempts = self._deliverer.attempts(event["id"])
        return attempts[-1].ok if attempts else event["pending_webhooks"] == 0

    def _expand(self, obj: Obj, fields: list[str]) -> None:
        name, rest = fields[0], fields[1:]
        if obj.get("object") == "list" and name == "data":
            for item in obj["data"]:
                if rest:
                    self._expand(item, rest)
            return
        value = obj.get(name)
        if name == "line_items":
            value = objects.list_object(self.line_items(obj["id"]), url=f"/v1/checkout/sessions/{obj['id']}/line_items")
        elif name == "refunds":
            refunds = [
                copy.deepcopy(self.get(refund_id, "refund")) for refund_id in self._refunds_by_charge.get(obj["id"], [])
            ]
            value = objects.list_object(refunds, url=f"/v1/charges/{obj['id']}/refunds")
        elif name == "payments" and obj.get("object") == "invoice":
            payments = copy.deepcopy(self._invoice_payments.get(obj["id"], []))
            value = objects.list_object(payments, url=f"/v1/invoices/{obj['id']}/payments")
        elif isinstance(value, str):
            value = copy.deepcopy(self.get(value))
        obj[name] = value
        if rest and isinstance(value, dict):
            self._expand(value, rest)

    # Checkout Sessions

    def create_session(self, spec: SessionSpec, *, public_url: str) -> Obj:
        created = objects.now()
        session_id = objects.new_id("cs_test_", 58)
        session = objects.checkout_session(
            spec, session_id=session_id, created=created, url=f"{public_url}/checkout/{session_id}"
        )
        self._objects["checkout session"][session_id] = session
        self._line_items[session_id] = [objects.line_item(item, created=created) for item in spec.line_items]
        self._payment_intent_data[session_id] = spec.payment_intent_data
        return session

    def sessions(self, params: Params) -> list[Obj]:
        found = list(reversed(self._objects["checkout session"].values()))
        if "payment_intent" in params:
            found = [s for s in found if s["payment_intent"] == params["payment_intent"]]
        if "status" in params:
            status = forms.choice(params["status"], "status", ("open", "complete", "expired"))
            found = [s for s in found if s["status"] == status]
        return found

    def expire(self, session_id: str, origin: Origin) -> list[Obj]:
        session = self.session(session_id)
        if session["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session["status"]}".'
            )
        session.update(status="expired", url=None)
        return [self._emit("checkout.session.expired", session, origin)]

    def pay(self, session_id: str, flow: str, *, email: str | None, name: str | None) -> list[Obj]:
        """The customer completes the hosted page: a card payment, or a bank debit that settles later."""
        session = self.session(session_id)
        forms.choice(flow, "flow", FLOWS)
        if session["status"] != "open":
            raise invalid(f'This Checkout Session is not open; its status is "{session["status"]}".')
        created = objects.now()
        email = email or session["customer_email"] or "customer@example.com"
        # Card payments always collect the cardholder's name; Stripe's docs use this one for test customers.
        name = name or "Jenny Rosen"
        details_of_customer = objects.customer_details(email=email, name=name)
        if session["amount_total"] == 0:
            # Stripe completes a free Checkout Session without creating any payment.
            session.update(
                status="complete", url=None, payment_status="no_payment_required", customer_details=details_of_customer
            )
            return [self._emit("checkout.session.completed", session, Origin())]
        method_type = "card" if flow == "card" else "us_bank_account"
        methods = session["payment_method_types"]
        intent = objects.payment_intent(
            amount=session["amount_total"],
            currency=session["currency"],
            payment_intent_data=self._payment_intent_data[session_id],
            payment_method_types=methods if method_type in methods else [*methods, method_type],
            created=created,
        )
        intent["payment_method"] = objects.new_id("pm_")
        year = datetime.datetime.fromtimestamp(created, datetime.UTC).year
        details = objects.payment_method_details(method_type, created_year=year)
        charge = objects.charge(intent, details=details, email=email, name=name, created=created)
        intent["latest_charge"] = charge["id"]
        self._objects["payment_intent"][intent["id"]] = intent
        self._objects["charge"][charge["id"]] = charge
        session.update(
            status="complete",
            url=None,
            payment_intent=intent["id"],
            customer_details=details_of_customer,
        )
        if flow == "card":
            self._settle(session, intent, charge)
            return [self._emit("checkout.session.completed", session, Origin())]

        # A bank debit: Checkout completes at once, the money arrives (or fails to) afterwards.
        intent["status"] = "processing"
        charge["captured"] = True
        completed = self._emit("checkout.session.completed", session, Origin())
        if flow == "async_success":
            self._settle(session, intent, charge)
            return [completed, self._emit("checkout.session.async_payment_succeeded", session, Origin())]
        charge.update(
            status="failed",
            captured=False,
            failure_code="insufficient_funds",
            failure_message="The customer's account has insufficient funds to cover this payment.",
        )
        charge["outcome"].update(
            network_status="declined_by_network", type="issuer_declined", seller_message="The bank returned the debit."
        )
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "type": "invalid_request_error",
                "code": "insufficient_funds",
                "charge": charge["id"],
                "message": charge["failure_message"],
                "payment_method_type": method_type,
            },
        )
        return [completed, self._emit("checkout.session.async_payment_failed", session, Origin())]

    @staticmethod
    def _settle(session: Obj, intent: Obj, charge: Obj) -> None:
        intent.update(status="succeeded", amount_received=intent["amount"])
        charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
        session["payment_status"] = "paid"

    # Refunds

    def refund(self, params: Params, origin: Origin) -> tuple[Obj, list[Obj]]:
        forms.reject_unknown(params, ("amount", "charge", "expand", "metadata", "payment_intent", "reason"))
        amount = forms.integer(params["amount"], "amount", minimum=1) if "amount" in params else None
        reason = forms.choice(params["reason"], "reason", REFUND_REASONS) if "reason" in params else None
        metadata = forms.metadata(params.get("metadata", {}))
        charge = self._refundable_charge(params)

        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise invalid(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        if charge["disputed"] and self._open_dispute(charge["id"]):
            raise invalid(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
            )
        amount = remaining if amount is None else amount
        if amount > remaining:
            asked = money.format_amount(amount, charge["currency"], with_code=False)
            left = money.format_amount(remaining, charge["currency"], with_code=False)
            raise invalid(f"Refund amount ({asked}) is greater than unrefunded amount on charge ({left})", "amount")

        refund = objects.refund(charge, amount=amount, reason=reason, metadata=metadata, created=objects.now())
        self._objects["refund"][refund["id"]] = refund
        self._refunds_by_charge.setdefault(charge["id"], []).append(refund["id"])
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        if charge["refunded"] == previous["refunded"]:
            del previous["refunded"]
        events = [
            self._emit("charge.refunded", charge, origin, previous_attributes=previous),
            self._emit("refund.created", refund, origin),
        ]
        return refund, events

    def _refundable_charge(self, params: Params) -> Obj:
        intent_id = forms.optional_string(params, "payment_intent", "payment_intent")
        charge_id = forms.optional_string(params, "charge", "charge")
        if intent_id is None and charge_id is None:
            raise invalid(
                "One of the following params should be provided for this request: charge or payment_intent.",
                "payment_intent",
            )
        if intent_id is not None:
            intent = self.get(intent_id, "payment_intent", param="payment_intent", status=400)
            if intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.", "payment_intent"
                )
            if charge_id is not None and charge_id != intent["latest_charge"]:
                raise invalid(f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", "charge")
            charge_id = intent["latest_charge"]
        assert charge_id is not None
        charge = self.get(charge_id, "charge", param="charge", status=400)
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} has not succeeded, so there is nothing to refund.", "charge")
        return charge

    # Disputes

    def open_dispute(self, session_id: str, reason: str) -> list[Obj]:
        session = self.session(session_id)
        forms.choice(reason, "reason", DISPUTE_REASONS)
        intent = self._objects["payment_intent"].get(session["payment_intent"] or "")
        charge = self._objects["charge"].get(intent["latest_charge"]) if intent else None
        if charge is None or charge["status"] != "succeeded":
            raise invalid(f"Checkout Session {session_id} has no successful charge to dispute.")
        if charge["disputed"]:
            raise invalid(f"Charge {charge['id']} is already disputed.")
        amount = charge["amount"] - charge["amount_refunded"]
        if amount == 0:
            raise invalid(f"Charge {charge['id']} is fully refunded; there is nothing to dispute.")
        dispute = objects.dispute(charge, amount=amount, reason=reason, created=objects.now())
        self._objects["dispute"][dispute["id"]] = dispute
        charge["disputed"] = True
        return [self._emit("charge.dispute.created", dispute, Origin())]

    def close_dispute(self, dispute_id: str, status: str) -> list[Obj]:
        dispute = self.get(dispute_id, "dispute")
        forms.choice(status, "status", ("won", "lost"))
        if dispute["status"] not in _OPEN_DISPUTE:
            raise invalid(f'Dispute {dispute_id} is already closed with status "{dispute["status"]}".')
        dispute["status"] = status
        dispute["evidence_details"]["has_evidence"] = status == "won"
        return [self._emit("charge.dispute.closed", dispute, Origin())]

    def _open_dispute(self, charge_id: str) -> bool:
        return any(d["charge"] == charge_id and d["status"] in _OPEN_DISPUTE for d in self._objects["dispute"].values())

    # Invoices: customers, invoice items and invoices (send_invoice), paid on the hosted page or out of band

    def create_customer(self, params: Params) -> Obj:
        customer = invoices.customer(params, created=objects.now())
        self._objects["customer"][customer["id"]] = customer
        return customer

    def create_invoice(self, params: Params) -> Obj:
        customer = self._customer_param(params)
        invoice, days = invoices.invoice(params, customer_obj=customer, created=objects.now())
        self._objects["invoice"][invoice["id"]] = invoice
        self._invoice_days[invoice["id"]] = days
        return invoice

    def create_invoice_item(self, params: Params) -> Obj:
        customer = self._customer_param(params)
        item = invoices.invoice_item(params, customer_obj=customer, created=objects.now())
        invoice_id = forms.optional_string(params, "invoice", "invoice")
        if invoice_id is None:
            raise invalid("The Stripe stand-in only models invoice items added to a draft `invoice`.", "invoice")
        invoice = self.get(invoice_id, "invoice", param="invoice", status=400)
        if invoice["status"] != "draft":
            raise invalid(f"You can only add invoice items to draft invoices; {invoice_id} is {invoice['status']}.")
        if invoice["customer"] != customer["id"]:
            raise invalid("The invoice item's customer must be the invoice's customer.", "customer")
        if item["currency"] != invoice["currency"]:
            raise invalid("The invoice item's currency must be the invoice's currency.", "currency")
        item["invoice"] = invoice_id
        self._objects["invoiceitem"][item["id"]] = item
        invoice["lines"]["data"].append(invoices.line(item))
        total = sum(line["amount"] for line in invoice["lines"]["data"])
        invoice.update(subtotal=total, subtotal_excluding_tax=total, total=total, total_excluding_tax=total)
        invoice.update(amount_due=total, amount_remaining=total)
        return item

    def invoices(self, params: Params) -> list[Obj]:
        found = list(reversed(self._objects["invoice"].values()))
        if "customer" in params:
            found = [i for i in found if i["customer"] == params["customer"]]
        if "status" in params:
            status = forms.choice(params["status"], "status", ("draft", "open", "paid", "uncollectible", "void"))
            found = [i for i in found if i["status"] == status]
        return found

    def finalize_invoice(self, invoice_id: str, origin: Origin, *, public_url: str) -> list[Obj]:
        invoice = self.get(invoice_id, "invoice")
        if invoice["status"] != "draft":
            raise invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
        now = objects.now()
        days = self._invoice_days.get(invoice_id)
        invoice.update(
            status="open",
            number=f"{objects.new_id('', 8).upper()}-{len(self._objects['invoice']):04d}",
            effective_at=now,
            due_date=now + days * invoices.DAY if days is not None else None,
            hosted_invoice_url=f"{public_url}/invoice/{invoice_id}",
            invoice_pdf=f"{public_url}/invoice/{invoice_id}/pdf",
            ending_balance=0,
        )
        invoice["status_transitions"]["finalized_at"] = now
        return [self._emit("invoice.finalized", invoice, origin)]

    def send_invoice(self, invoice_id: str, origin: Origin) -> list[Obj]:
        invoice = self.get(invoice_id, "invoice")
        if invoice["collection_method"] != "send_invoice":
            raise invalid("You can only manually send an invoice if its collection method is 'send_invoice'.")
        if invoice["status"] != "open":
            raise invalid(f"You can only send an open invoice; this invoice is {invoice['status']}.")
        return [self._emit("invoice.sent", invoice, origin)]

    def pay_invoice(self, invoice_id: str, flow: str, origin: Origin) -> list[Obj]:
        """The customer pays the hosted invoice by card, or the account records a payment made outside Stripe (a
        check, a wire): `paid_out_of_band`."""
        invoice = self.get(invoice_id, "invoice")
        forms.choice(flow, "flow", INVOICE_FLOWS)
        if invoice["status"] not in ("open", "uncollectible"):
            raise invalid(f"Invoice is already {invoice['status']}", code="invoice_not_open")
        now = objects.now()
        intent_id = None
        if flow == "card":
            customer = self.get(invoice["customer"], "customer")
            intent = objects.payment_intent(
                amount=invoice["amount_due"],
                currency=invoice["currency"],
                # As in Stripe, the invoice's metadata stays on the invoice: the intent and charge have none.
                payment_intent_data={"description": f"Invoice {invoice['number']}"},
                payment_method_types=["card"],
                created=now,
            )
            intent.update(payment_method=objects.new_id("pm_"), customer=customer["id"])
            year = datetime.datetime.fromtimestamp(now, datetime.UTC).year
            details = objects.payment_method_details("card", created_year=year)
            charge = objects.charge(
                intent, details=details, email=customer["email"] or "", name=customer["name"] or "", created=now
            )
            intent.update(latest_charge=charge["id"], status="succeeded", amount_received=intent["amount"])
            charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
            charge["customer"] = customer["id"]
            self._objects["payment_intent"][intent["id"]] = intent
            self._objects["charge"][charge["id"]] = charge
            intent_id = intent["id"]
            self._invoice_payments.setdefault(invoice_id, []).append(
                invoices.invoice_payment(invoice, intent_id=intent_id, created=now)
            )
        else:
            invoice["amount_paid_off_stripe"] = invoice["amount_due"]
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, attempted=True)
        invoice["attempt_count"] += flow == "card"
        invoice["status_transitions"]["paid_at"] = now
        return [self._emit("invoice.paid", invoice, origin)]

    def void_invoice(self, invoice_id: str, origin: Origin) -> list[Obj]:
        invoice = self.get(invoice_id, "invoice")
        if invoice["status"] not in ("open", "uncollectible"):
            raise invalid(f"You can only void an open or uncollectible invoice; this invoice is {invoice['status']}.")
        invoice["status"] = "void"
        invoice["status_transitions"]["voided_at"] = objects.now()
        return [self._emit("invoice.voided", invoice, origin)]

    def mark_uncollectible(self, invoice_id: str, origin: Origin) -> list[Obj]:
        invoice = self.get(invoice_id, "invoice")
        if invoice["status"] != "open":
            raise invalid(f"You can only mark an open invoice uncollectible; this invoice is {invoice['status']}.")
        invoice["status"] = "uncollectible"
        invoice["status_transitions"]["marked_uncollectible_at"] = objects.now()
        return [self._emit("invoice.marked_uncollectible", invoice, origin)]

    def invoice_payments(self, params: Params) -> list[Obj]:
        """Newest first, filtered by `invoice` or by the payment (`payment[type]=payment_intent`, its id)."""
        found = [p for payments in self._invoice_payments.values() for p in payments][::-1]
        if "invoice" in params:
            found = [p for p in found if p["invoice"] == params["invoice"]]
        if "payment" in params:
            payment = forms.mapping(params["payment"], "payment")
            forms.reject_unknown(payment, ("type", "payment_intent", "payment_record"), prefix="payment")
            forms.choice(payment.get("type"), "payment[type]", ("payment_intent", "payment_record"))
            found = [p for p in found if p["payment"].get("payment_intent") == payment.get("payment_intent")]
        return found

    def _customer_param(self, params: Params) -> Obj:
        customer_id = forms.optional_string(params, "customer", "customer")
        if customer_id is None:
            raise missing_param("customer")
        return self.get(customer_id, "customer", param="customer", status=400)

    # Events

    def events(self, params: Params) -> list[Obj]:
        """Newest first, filtered by `type`/`types` (with `*` wildcards), `created` and `delivery_success`."""
        found = list(reversed(self._objects["event"].values()))
        if "type" in params and "types" in params:
            raise invalid("You may only specify one of these parameters: type, types.", "types")
        patterns = forms.string_list(params.get("types", params.get("type", [])), "types")
        if patterns:
            found = [e for e in found if any(fnmatch.fnmatchcase(e["type"], p) for p in patterns)]
        if "created" in params:
            found = [e for e in found if _created_matches(e["created"], params["created"])]
        if "delivery_success" in params:
            wanted = forms.boolean(params["delivery_success"], "delivery_success")
            found = [e for e in found if self.delivered(e) == wanted]
        return found

    def _emit(self, event_type: str, obj: Obj, origin: Origin, *, previous_attributes: Obj | None = None) -> Obj:
        event = objects.event(
            event_type,
            copy.deepcopy(obj),
            api_version=self._api_version,
            created=objects.now(),
            pending_webhooks=1 if self._webhooks_enabled() else 0,
            request_id=origin.request_id,
            idempotency_key=origin.idempotency_key,
            previous_attributes=previous_attributes,
        )
        self._objects["event"][event["id"]] = event
        # The payload is fixed now: resending an event sends the same bytes, as Stripe does.
        self._deliverer.register(event["id"], objects.to_json(event))
        return event


def _created_matches(created: int, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return created == forms.integer(condition, "created")
    checks: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    forms.reject_unknown(condition, checks, prefix="created")
    return all(checks[op](created, forms.integer(value, f"created[{op}]")) for op, value in condition.items())


def paginate(items: list[Obj], params: Params, *, url: str) -> Obj:
    """Stripe's cursor pagination over a newest-first list: `limit`, `starting_after`, `ending_before`."""
    limit = forms.integer(params.get("limit", 10), "limit", minimum=1, maximum=100)
    ids = [item["id"] for item in items]
    if "starting_after" in params and "ending_before" in params:
        raise invalid("You may only specify one of these parameters: ending_before, starting_after.", "ending_before")
    for cursor in ("starting_after", "ending_before"):
        if cursor in params and params[cursor] not in ids:
            raise StripeError(400, f"No such object: '{params[cursor]}'", param=cursor, code="resource_missing")
    if "ending_before" in params:
        window = items[: ids.index(params["ending_before"])]
        return objects.list_object(window[-limit:], url=url, has_more=len(window) > limit)
    start = ids.index(params["starting_after"]) + 1 if "starting_after" in params else 0
    window = items[start:]
    return objects.list_object(window[:limit], url=url, has_more=len(window) > limit)
