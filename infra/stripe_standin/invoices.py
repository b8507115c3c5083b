"""The Invoice API subset: customers, invoice items and invoices (create, finalize, send, pay, void, mark
uncollectible), their parameters checked with Stripe's messages and their objects built as Stripe returns them.

Parameters Stripe has but the stand-in does not model are refused by name, as for Checkout Sessions.
The state changes live in the ledger (infra/stripe_standin/ledger.py), which holds these objects."""

from __future__ import annotations

from typing import Any

from infra.stripe_standin import forms, money
from infra.stripe_standin.errors import invalid, missing_param, unknown_param
from infra.stripe_standin.forms import Params
from infra.stripe_standin.objects import Obj, new_id

CUSTOMER_PARAMS = ("email", "name", "description", "metadata", "expand")
INVOICE_ITEM_PARAMS = ("customer", "invoice", "amount", "currency", "description", "metadata", "quantity", "expand")
INVOICE_PARAMS = (
    "customer",
    "collection_method",
    "days_until_due",
    "payment_settings",
    "custom_fields",
    "metadata",
    "description",
    "footer",
    "auto_advance",
    "pending_invoice_items_behavior",
    "currency",
    "expand",
)
INVOICE_NOT_MODELED = frozenset(
    {
        "account_tax_ids",
        "application_fee_amount",
        "automatic_tax",
        "automatically_finalizes_at",
        "customer_account",
        "default_payment_method",
        "default_source",
        "default_tax_rates",
        "discounts",
        "due_date",
        "effective_at",
        "from_invoice",
        "issuer",
        "number",
        "on_behalf_of",
        "rendering",
        "shipping_cost",
        "shipping_details",
        "statement_descriptor",
        "subscription",
        "transfer_data",
    }
)
# The methods a sent invoice's page offers; customer_balance is the bank transfer to a virtual account.
PAYMENT_METHOD_TYPES = frozenset({"card", "us_bank_account", "customer_balance", "ach_credit_transfer", "link"})
DAY = 24 * 60 * 60
BANK_TRANSFERS = ("us_bank_transfer", "eu_bank_transfer", "gb_bank_transfer", "jp_bank_transfer", "mx_bank_transfer")


def customer(params: Params, *, created: int) -> Obj:
    forms.reject_unknown(params, CUSTOMER_PARAMS)
    email = forms.optional_string(params, "email", "email", max_length=512)
    return {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": forms.optional_string(params, "description", "description"),
        "discount": None,
        "email": email,
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
        "livemode": False,
        "metadata": forms.metadata(params.get("metadata", {})),
        "name": forms.optional_string(params, "name", "name", max_length=256),
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def invoice_item(params: Params, *, customer_obj: Obj, created: int) -> Obj:
    forms.reject_unknown(params, INVOICE_ITEM_PARAMS)
    if "amount" not in params:
        raise missing_param("amount")
    amount = forms.integer(params["amount"], "amount", minimum=0)
    currency = money.currency(params.get("currency", "usd"), "currency")
    quantity = forms.integer(params.get("quantity", 1), "quantity", minimum=1)
    return {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": amount * quantity,
        "currency": currency,
        "customer": customer_obj["id"],
        "date": created,
        "description": forms.optional_string(params, "description", "description", max_length=500),
        "discountable": True,
        "invoice": None,
        "livemode": False,
        "metadata": forms.metadata(params.get("metadata", {})),
        "period": {"end": created, "start": created},
        "pricing": None,
        "proration": False,
        "quantity": quantity,
        "unit_amount_decimal": str(amount),
    }


def invoice(params: Params, *, customer_obj: Obj, created: int) -> tuple[Obj, int | None]:
    """A draft invoice, and its days until due (the due date is set when it is finalized)."""
    for key in params:
        if key in INVOICE_NOT_MODELED:
            raise invalid(f"The Stripe stand-in does not model `{key}`; extend infra/stripe_standin to use it.", key)
        if key not in INVOICE_PARAMS:
            raise unknown_param(key)
    method = forms.choice(
        params.get("collection_method", "charge_automatically"),
        "collection_method",
        ("charge_automatically", "send_invoice"),
    )
    days: int | None = None
    if method == "send_invoice":
        if "days_until_due" not in params:
            raise invalid(
                "Invoices with `collection_method=send_invoice` must have a `days_until_due` or `due_date`.",
                "days_until_due",
            )
        days = forms.integer(params["days_until_due"], "days_until_due", minimum=0, maximum=730)
    elif "days_until_due" in params:
        raise invalid("`days_until_due` is only used with `collection_method=send_invoice`.", "days_until_due")
    pending = "pending_invoice_items_behavior"
    if forms.choice(params.get(pending, "exclude"), pending, ("exclude", "include")) != "exclude":
        raise invalid(f"The Stripe stand-in only models `{pending}=exclude`.", pending)
    return {
        "id": new_id("in_"),
        "object": "invoice",
        "account_country": "US",
        "account_name": "Stripe stand-in",
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": forms.boolean(params.get("auto_advance", "false"), "auto_advance"),
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": method,
        "confirmation_secret": None,
        "created": created,
        "currency": money.currency(params.get("currency", "usd"), "currency"),
        "custom_fields": _custom_fields(params.get("custom_fields")),
        "customer": customer_obj["id"],
        "customer_address": None,
        "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"],
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": forms.optional_string(params, "description", "description", max_length=1500),
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": forms.optional_string(params, "footer", "footer", max_length=5000),
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": "/v1/invoices/lines"},
        "livemode": False,
        "metadata": forms.metadata(params.get("metadata", {})),
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": _payment_settings(params.get("payment_settings")),
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }, days


def line(item: Obj) -> Obj:
    """An invoice item as a line of its invoice."""
    return {
        "id": new_id("il_"),
        "object": "line_item",
        "amount": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": item["invoice"],
        "livemode": False,
        "metadata": dict(item["metadata"]),
        "parent": {"type": "invoice_item_details", "invoice_item_details": {"invoice_item": item["id"]}},
        "period": dict(item["period"]),
        "pretax_credit_amounts": [],
        "pricing": None,
        "quantity": item["quantity"],
        "taxes": [],
    }


def invoice_payment(invoice_obj: Obj, *, intent_id: str | None, created: int) -> Obj:
    return {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": invoice_obj["amount_due"],
        "amount_requested": invoice_obj["amount_due"],
        "created": created,
        "currency": invoice_obj["currency"],
        "invoice": invoice_obj["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": intent_id},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": created},
    }


def _custom_fields(value: Any) -> list[Obj] | None:
    if value in (None, ""):
        return None
    fields = forms.array(value, "custom_fields")
    if len(fields) > 4:
        raise invalid("You can only have up to 4 custom fields.", "custom_fields")
    result = []
    for index, raw in enumerate(fields):
        param = f"custom_fields[{index}]"
        field = forms.mapping(raw, param)
        forms.reject_unknown(field, ("name", "value"), prefix=param)
        for key in ("name", "value"):
            if not field.get(key):
                raise missing_param(f"{param}[{key}]")
        result.append(
            {
                "name": forms.string(field["name"], f"{param}[name]", max_length=40),
                "value": forms.string(field["value"], f"{param}[value]", max_length=140),
            }
        )
    return result


def _payment_settings(value: Any) -> Obj:
    settings = forms.mapping(value, "payment_settings") if value not in (None, "") else {}
    forms.reject_unknown(settings, ("payment_method_types", "payment_method_options"), prefix="payment_settings")
    types = settings.get("payment_method_types")
    methods = forms.string_list(types, "payment_settings[payment_method_types]") if types else None
    for index, method in enumerate(methods or []):
        if method not in PAYMENT_METHOD_TYPES:
            raise invalid(
                f"Invalid payment_settings[payment_method_types][{index}]: must be one of "
                + ", ".join(sorted(PAYMENT_METHOD_TYPES)),
                f"payment_settings[payment_method_types][{index}]",
            )
    return {
        "default_mandate": None,
        "payment_method_options": _payment_method_options(settings.get("payment_method_options")),
        "payment_method_types": methods,
    }


def _payment_method_options(value: Any) -> Obj | None:
    """Only the bank transfer's: a customer balance funded by a (US) bank transfer to its virtual account."""
    if value in (None, ""):
        return None
    param = "payment_settings[payment_method_options]"
    options = forms.mapping(value, param)
    forms.reject_unknown(options, ("customer_balance",), prefix=param)
    balance = forms.mapping(options.get("customer_balance", {}), f"{param}[customer_balance]")
    forms.reject_unknown(balance, ("funding_type", "bank_transfer"), prefix=f"{param}[customer_balance]")
    transfer = forms.mapping(balance.get("bank_transfer", {}), f"{param}[customer_balance][bank_transfer]")
    forms.reject_unknown(transfer, ("type",), prefix=f"{param}[customer_balance][bank_transfer]")
    balance_param = f"{param}[customer_balance]"
    transfer_type = forms.choice(
        transfer.get("type", "us_bank_transfer"), f"{balance_param}[bank_transfer][type]", BANK_TRANSFERS
    )
    funding = forms.choice(
        balance.get("funding_type", "bank_transfer"), f"{balance_param}[funding_type]", ("bank_transfer",)
    )
    return {
        "acss_debit": None,
        "bancontact": None,
        "card": None,
        "customer_balance": {"bank_transfer": {"type": transfer_type}, "funding_type": funding},
        "konbini": None,
        "sepa_debit": None,
        "us_bank_account": None,
    }
