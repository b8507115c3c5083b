"""The nested form codec, checked against what the official SDK encodes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from stripe._encode import _api_encode

from infra.stripe_standin import forms
from infra.stripe_standin.errors import StripeError


def sdk_encoded(params: dict[str, object]) -> str:
    return urlencode(list(_api_encode(params)))


def test_decodes_what_the_sdk_encodes() -> None:
    # Given nested line items, metadata and an expand list as the SDK encodes them
    params = {
        "mode": "payment",
        "line_items": [
            {"quantity": 2, "price_data": {"currency": "usd", "unit_amount": 20000, "product_data": {"name": "A"}}},
            {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "B"}}},
        ],
        "metadata": {"registration_id": "reg_1"},
        "expand": ["line_items", "payment_intent"],
        "allow_promotion_codes": True,
    }

    # When decoded
    decoded = forms.decode(sdk_encoded(params))

    # Then the structure comes back, with every scalar a string as in Stripe's form encoding
    assert decoded == {
        "mode": "payment",
        "line_items": [
            {"quantity": "2", "price_data": {"currency": "usd", "unit_amount": "20000", "product_data": {"name": "A"}}},
            {"quantity": "1", "price_data": {"currency": "usd", "unit_amount": "500", "product_data": {"name": "B"}}},
        ],
        "metadata": {"registration_id": "reg_1"},
        "expand": ["line_items", "payment_intent"],
        "allow_promotion_codes": "true",
    }


def test_empty_brackets_append_and_indexes_sort_numerically() -> None:
    # Given `expand[]` pairs and indexes past 9 out of order
    query = "expand[]=a&expand[]=b&items[10]=k&items[2]=c"

    # When decoded
    decoded = forms.decode(query)

    # Then both read as arrays, in index order
    assert decoded == {"expand": ["a", "b"], "items": ["c", "k"]}


def test_metadata_with_numeric_keys_stays_a_hash() -> None:
    # Given metadata whose keys happen to be digits
    decoded = forms.decode("metadata[0]=zero&metadata[1]=one")

    # Then they are still the caller's keys, not array indexes
    assert decoded == {"metadata": {"0": "zero", "1": "one"}}


def test_later_sources_override_earlier_ones() -> None:
    # Given the same key in the query string and the body
    decoded = forms.decode("limit=3", "limit=5")

    # Then the body wins
    assert decoded == {"limit": "5"}


@pytest.mark.parametrize(
    "query",
    ["a=1&a[b]=2", "a[b]=2&a=1", "a[][b]=1", "a[]=1&a[b]=2", "]bad=1"],
)
def test_conflicting_or_malformed_names_are_a_400(query: str) -> None:
    # When a name is used both as a value and a hash, or is malformed
    with pytest.raises(StripeError) as caught:
        forms.decode(query)

    # Then it is an invalid request naming the parameter
    assert caught.value.status == 400
    assert caught.value.param is not None


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "Invalid integer: abc"), ("0", "greater than or equal to 1"), ("1.5", "Invalid integer")],
)
def test_integer_fields_are_coerced_with_stripe_messages(value: str, message: str) -> None:
    with pytest.raises(StripeError) as caught:
        forms.integer(value, "line_items[0][quantity]", minimum=1)

    assert message in caught.value.message
    assert caught.value.param == "line_items[0][quantity]"


def test_metadata_rules() -> None:
    # Empty values unset a key; long keys and non-string values are refused
    assert forms.metadata({"a": "1", "b": ""}) == {"a": "1"}
    with pytest.raises(StripeError, match="40 characters"):
        forms.metadata({"k" * 41: "v"})
    with pytest.raises(StripeError, match="must be strings"):
        forms.metadata({"a": {"nested": "x"}})
