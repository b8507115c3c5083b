"""Validation of `POST /v1/checkout/sessions` parameters, with Stripe's messages and `param` names.

Parameters Stripe has but the stand-in does not model are refused by name rather than silently ignored,
so a backend that starts relying on one finds out here instead of in production."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from infra.stripe_standin import forms, money
from infra.stripe_standin.errors import StripeError, invalid, missing_param, no_such, unknown_param
from infra.stripe_standin.forms import Params

_MODELED = frozenset(
    {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "customer_email",
        "metadata",
        "payment_intent_data",
        "expires_at",
        "expand",
        "payment_method_types",
        "locale",
        "submit_type",
        "billing_address_collection",
        "customer_creation",
        "allow_promotion_codes",
        "invoice_creation",
    }
)
_NOT_MODELED = frozenset(
    {
        "adaptive_pricing",
        "after_expiration",
        "automatic_tax",
        "branding_settings",
        "consent_collection",
        "currency",
        "custom_fields",
        "custom_text",
        "customer",
        "customer_update",
        "discounts",
        "excluded_payment_method_types",
        "name_collection",
        "optional_items",
        "origin_context",
        "payment_method_collection",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
        "permissions",
        "phone_number_collection",
        "redirect_on_completion",
        "return_url",
        "saved_payment_method_options",
        "setup_intent_data",
        "shipping_address_collection",
        "shipping_options",
        "subscription_data",
        "tax_id_collection",
        "ui_mode",
        "wallet_options",
    }
)
_PAYMENT_INTENT_DATA = (
    "metadata",
    "description",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+\S*$")
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
MAX_AMOUNT = 99_999_999


@dataclass(frozen=True)
class LineItemSpec:
    name: str
    description: str | None
    unit_amount: int
    currency: str
    quantity: int
    tax_behavior: str

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class SessionSpec:
    line_items: list[LineItemSpec]
    currency: str
    expires_at: int
    success_url: str | None = None
    cancel_url: str | None = None
    client_reference_id: str | None = None
    customer_email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_data: dict[str, Any] = field(default_factory=dict)
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])
    locale: str | None = None
    submit_type: str | None = None
    billing_address_collection: str | None = None
    customer_creation: str = "if_required"
    allow_promotion_codes: bool | None = None
    # Stripe makes a paid invoice (its PDF) after the payment; the stand-in records the ask.
    invoice_creation: dict[str, Any] | None = None

    @property
    def amount_total(self) -> int:
        return sum(item.amount for item in self.line_items)


def parse_session_params(params: Params, *, now: int) -> SessionSpec:
    for key in params:
        if key in _NOT_MODELED:
            raise _not_modeled(key)
        if key not in _MODELED:
            raise unknown_param(key)
    if "mode" not in params:
        raise missing_param("mode")
    mode = forms.choice(params["mode"], "mode", ("payment", "setup", "subscription"))
    if mode != "payment":
        raise invalid("The Stripe stand-in only models `mode=payment`.", "mode")

    raw_items = params.get("line_items")
    if raw_items in (None, "", []):
        raise invalid("`line_items` is required in `payment` mode.", "line_items", "parameter_missing")
    items = [
        _line_item(item, f"line_items[{index}]") for index, item in enumerate(forms.array(raw_items, "line_items"))
    ]
    currency = items[0].currency
    for index, item in enumerate(items):
        if item.currency != currency:
            raise invalid("All line items must use the same currency.", f"line_items[{index}][price_data][currency]")
    spec = SessionSpec(
        line_items=items,
        currency=currency,
        expires_at=_expires_at(params.get("expires_at"), now),
        success_url=_url(params, "success_url"),
        cancel_url=_url(params, "cancel_url"),
        client_reference_id=forms.optional_string(params, "client_reference_id", "client_reference_id", max_length=200),
        customer_email=_email(params.get("customer_email")),
        metadata=forms.metadata(params.get("metadata", {})),
        payment_intent_data=_payment_intent_data(params.get("payment_intent_data", {})),
        payment_method_types=forms.string_list(params.get("payment_method_types", ["card"]), "payment_method_types"),
        locale=forms.optional_string(params, "locale", "locale"),
        submit_type=_optional_choice(params, "submit_type", ("auto", "book", "donate", "pay", "subscribe")),
        billing_address_collection=_optional_choice(params, "billing_address_collection", ("auto", "required")),
        customer_creation=_optional_choice(params, "customer_creation", ("always", "if_required")) or "if_required",
        allow_promotion_codes=(
            forms.boolean(params["allow_promotion_codes"], "allow_promotion_codes")
            if "allow_promotion_codes" in params
            else None
        ),
        invoice_creation=_invoice_creation(params.get("invoice_creation")),
    )
    if spec.amount_total > MAX_AMOUNT:
        limit = money.format_amount(MAX_AMOUNT, currency, with_code=False)
        raise invalid(
            f"The Checkout Session's total amount must be no more than {limit}.", "line_items", "amount_too_large"
        )
    return spec


def _not_modeled(param: str) -> StripeError:
    return invalid(f"The Stripe stand-in does not model `{param}`; extend infra/stripe_standin to use it.", param)


def _line_item(raw: Any, param: str) -> LineItemSpec:
    item = forms.mapping(raw, param)
    for key in item:
        if key in ("adjustable_quantity", "dynamic_tax_rates", "tax_rates"):
            raise _not_modeled(f"{param}[{key}]")
        if key not in ("price", "price_data", "quantity"):
            raise unknown_param(f"{param}[{key}]")
    if "price" in item:
        # No catalog: every price a stand-in session uses is inline `price_data`.
        raise no_such("price", str(item["price"]), param=f"{param}[price]", status=400)
    if "price_data" not in item:
        raise invalid(f"You must specify either `price` or `price_data` in {param}.", param)
    if "quantity" not in item:
        raise missing_param(f"{param}[quantity]")
    quantity = forms.integer(item["quantity"], f"{param}[quantity]", minimum=1, maximum=999_999)

    price_param = f"{param}[price_data]"
    price = forms.mapping(item["price_data"], price_param)
    for key in price:
        if key in ("product", "recurring", "unit_amount_decimal"):
            raise _not_modeled(f"{price_param}[{key}]")
        if key not in ("currency", "unit_amount", "product_data", "tax_behavior"):
            raise unknown_param(f"{price_param}[{key}]")
    for required in ("currency", "unit_amount", "product_data"):
        if required not in price:
            raise missing_param(f"{price_param}[{required}]")
    tax_behavior = price.get("tax_behavior", "unspecified")
    forms.choice(tax_behavior, f"{price_param}[tax_behavior]", ("exclusive", "inclusive", "unspecified"))

    product_param = f"{price_param}[product_data]"
    product = forms.mapping(price["product_data"], product_param)
    forms.reject_unknown(
        product, ("name", "description", "images", "metadata", "tax_code", "unit_label"), prefix=product_param
    )
    if not product.get("name"):
        raise missing_param(f"{product_param}[name]")
    return LineItemSpec(
        name=forms.string(product["name"], f"{product_param}[name]", max_length=250),
        description=forms.optional_string(product, "description", f"{product_param}[description]"),
        unit_amount=forms.integer(price["unit_amount"], f"{price_param}[unit_amount]", minimum=0),
        currency=money.currency(price["currency"], f"{price_param}[currency]"),
        quantity=quantity,
        tax_behavior=tax_behavior,
    )


def _expires_at(value: Any, now: int) -> int:
    if value is None:
        return now + MAX_EXPIRY_SECONDS
    expires_at = forms.integer(value, "expires_at")
    if expires_at < now + MIN_EXPIRY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.", "expires_at"
        )
    if expires_at > now + MAX_EXPIRY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.", "expires_at"
        )
    return expires_at


def _url(params: Params, key: str) -> str | None:
    value = forms.optional_string(params, key, key, max_length=5000)
    if value is not None and not _URL.match(value):
        raise invalid("Not a valid URL", key, "url_invalid")
    return value


def _email(value: Any) -> str | None:
    if value is None or value == "":
        return None
    email = forms.string(value, "customer_email", max_length=800)
    if not _EMAIL.match(email):
        raise invalid(f"Invalid email address: {email}", "customer_email", "email_invalid")
    return email


def _payment_intent_data(value: Any) -> dict[str, Any]:
    data = forms.mapping(value, "payment_intent_data")
    for key in data:
        if key not in _PAYMENT_INTENT_DATA:
            raise unknown_param(f"payment_intent_data[{key}]")
    result: dict[str, Any] = {"metadata": forms.metadata(data.get("metadata", {}), "payment_intent_data[metadata]")}
    for key in _PAYMENT_INTENT_DATA[1:]:
        result[key] = forms.optional_string(data, key, f"payment_intent_data[{key}]")
    return result


def _invoice_creation(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    creation = forms.mapping(value, "invoice_creation")
    forms.reject_unknown(creation, ("enabled", "invoice_data"), prefix="invoice_creation")
    if "enabled" not in creation:
        raise missing_param("invoice_creation[enabled]")
    data = forms.mapping(creation.get("invoice_data", {}), "invoice_creation[invoice_data]")
    forms.reject_unknown(
        data, ("description", "footer", "metadata", "custom_fields"), prefix="invoice_creation[invoice_data]"
    )
    return {
        "enabled": forms.boolean(creation["enabled"], "invoice_creation[enabled]"),
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": forms.optional_string(data, "description", "invoice_creation[invoice_data][description]"),
            "footer": forms.optional_string(data, "footer", "invoice_creation[invoice_data][footer]"),
            "issuer": None,
            "metadata": forms.metadata(data.get("metadata", {}), "invoice_creation[invoice_data][metadata]"),
            "rendering_options": None,
        },
    }


def _optional_choice(params: Params, key: str, options: tuple[str, ...]) -> str | None:
    return forms.choice(params[key], key, options) if key in params else None
