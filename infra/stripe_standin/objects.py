"""Builders for Stripe-shaped objects. Every field the API returns is present; the ones the stand-in has no data
for are null (or the empty value Stripe uses), so code that reads them behaves as it would against Stripe."""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from infra.stripe_standin.checkout import LineItemSpec, SessionSpec

Obj = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits


def now() -> int:
    return int(time.time())


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def to_json(value: Obj) -> bytes:
    # Stripe answers (and sends webhooks as) two-space indented UTF-8 JSON.
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def list_object(data: list[Obj], *, url: str, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def line_item(spec: LineItemSpec, *, created: int) -> Obj:
    return {
        "id": new_id("li_"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": spec.amount,
        "amount_tax": 0,
        "amount_total": spec.amount,
        "currency": spec.currency,
        "description": spec.name,
        "metadata": {},
        "price": {
            "id": new_id("price_"),
            "object": "price",
            # Prices made from `price_data` are inactive one-offs, as in Stripe.
            "active": False,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": spec.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": new_id("prod_", 14),
            "recurring": None,
            "tax_behavior": spec.tax_behavior,
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": spec.unit_amount,
            "unit_amount_decimal": str(spec.unit_amount),
        },
        "quantity": spec.quantity,
    }


def checkout_session(spec: SessionSpec, *, session_id: str, created: int, url: str) -> Obj:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": spec.allow_promotion_codes,
        "amount_subtotal": spec.amount_total,
        "amount_total": spec.amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": spec.billing_address_collection,
        "cancel_url": spec.cancel_url,
        "client_reference_id": spec.client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": spec.currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": spec.customer_creation,
        "customer_details": None,
        "customer_email": spec.customer_email,
        "discounts": [],
        "expires_at": spec.expires_at,
        "invoice": None,
        "invoice_creation": spec.invoice_creation,
        "livemode": False,
        "locale": spec.locale,
        "metadata": dict(spec.metadata),
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": list(spec.payment_method_types),
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": spec.submit_type,
        "subscription": None,
        "success_url": spec.success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
        "wallet_options": None,
    }


def customer_details(*, email: str, name: str) -> Obj:
    return {"address": None, "email": email, "name": name, "phone": None, "tax_exempt": "none", "tax_ids": []}


def payment_intent(
    *, amount: int, currency: str, payment_intent_data: dict[str, Any], payment_method_types: list[str], created: int
) -> Obj:
    intent_id = new_id("pi_")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": payment_intent_data.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(payment_intent_data.get("metadata", {})),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": list(payment_method_types),
        "processing": None,
        "receipt_email": payment_intent_data.get("receipt_email"),
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": payment_intent_data.get("statement_descriptor"),
        "statement_descriptor_suffix": payment_intent_data.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def payment_method_details(method_type: str, *, created_year: int) -> Obj:
    if method_type == "card":
        return {
            "type": "card",
            "card": {
                "brand": "visa",
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
                "country": "US",
                "exp_month": 12,
                "exp_year": created_year + 3,
                "fingerprint": new_id("", 16),
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
                "three_d_secure": None,
                "wallet": None,
            },
        }
    return {
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "fingerprint": new_id("", 16),
            "last4": "6789",
            "routing_number": "110000000",
        },
    }


def charge(intent: Obj, *, details: Obj, email: str, name: str, created: int) -> Obj:
    return {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": None,
        "captured": False,
        "created": created,
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": False,
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": details,
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": intent["statement_descriptor"],
        "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
        "status": "pending",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(charge_obj: Obj, *, amount: int, reason: str | None, metadata: dict[str, str], created: int) -> Obj:
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "description": None,
        "destination_details": None,
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": metadata,
        "next_action": None,
        "payment_intent": charge_obj["payment_intent"],
        "pending_reason": None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(charge_obj: Obj, *, amount: int, reason: str, created: int) -> Obj:
    return {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "evidence": {
            "customer_email_address": None,
            "customer_name": None,
            "product_description": None,
            "receipt": None,
            "refund_policy": None,
            "service_date": None,
            "service_documentation": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            # Stripe typically gives about a week to answer; the exact window depends on the card network.
            "due_by": created + 7 * 24 * 60 * 60,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4" if reason == "fraudulent" else None,
        "payment_intent": charge_obj["payment_intent"],
        "reason": reason,
        "status": "needs_response",
    }


def event(
    event_type: str,
    snapshot: Obj,
    *,
    api_version: str,
    created: int,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: Obj | None = None,
) -> Obj:
    data: Obj = {"object": snapshot}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
