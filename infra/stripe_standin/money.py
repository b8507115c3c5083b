"""Currencies Stripe accepts for card payments, and amounts in minor units shown as money."""

from __future__ import annotations

from decimal import Decimal

from infra.stripe_standin.errors import invalid

_CURRENCY_CODES = """
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf
clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils
inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk
mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp
sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
"""
CURRENCIES = frozenset(_CURRENCY_CODES.split())
# Stripe amounts are in the currency's smallest unit; these currencies have no or three decimal places.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd"} | {"vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩"}


def currency(value: object, param: str) -> str:
    code = value.lower() if isinstance(value, str) else ""
    if code not in CURRENCIES:
        supported = ", ".join(sorted(CURRENCIES))
        raise invalid(f"Invalid currency: {value}. Stripe currently supports these currencies: {supported}", param)
    return code


def format_amount(amount: int, currency_code: str, *, with_code: bool = True) -> str:
    """`60000, "usd"` -> `$600.00 USD`."""
    digits = 0 if currency_code in ZERO_DECIMAL else 3 if currency_code in THREE_DECIMAL else 2
    number = f"{Decimal(amount).scaleb(-digits):,.{digits}f}"
    symbol = _SYMBOLS.get(currency_code)
    text = f"{symbol}{number}" if symbol else number
    return f"{text} {currency_code.upper()}" if with_code or not symbol else text
