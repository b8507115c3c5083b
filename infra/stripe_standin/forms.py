"""Stripe's form encoding (`line_items[0][price_data][unit_amount]=2000`) decoded into nested dicts and lists,
plus the typed readers that turn its all-string values into the documented types."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

from infra.stripe_standin.errors import StripeError, invalid, unknown_param

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode(*sources: str) -> Params:
    """Decode query strings/bodies in order into one nested structure (later values win, as in Rack)."""
    root: Params = {}
    for source in sources:
        for key, value in parse_qsl(source, keep_blank_values=True):
            _insert(root, key, value)
    decoded: Params = _listify(root, "")
    return decoded


def _insert(root: Params, key: str, value: str) -> None:
    match = _KEY.match(key)
    if match is None:
        raise invalid(f"Invalid parameter name: {key}", key)
    *parents, last = [match.group(1), *_SEGMENT.findall(match.group(2))]
    node = root
    for depth, segment in enumerate(parents):
        if segment == "":
            raise invalid(f"Only a trailing `[]` is supported in parameter names: {key}", key)
        appends = depth == len(parents) - 1 and last == ""
        child = node.setdefault(segment, [] if appends else {})
        if appends:
            if not isinstance(child, list):
                raise _shape_conflict(key)
            child.append(value)
            return
        if not isinstance(child, dict):
            raise _shape_conflict(key)
        node = child
    if isinstance(node.get(last), dict | list):
        raise _shape_conflict(key)
    node[last] = value


def _shape_conflict(key: str) -> StripeError:
    return invalid(f"Invalid parameter: {key} is used both as a value and as a hash or array", key)


def _listify(node: Any, name: str) -> Any:
    """`a[0]=x&a[1]=y` arrives as a hash with index keys; Stripe reads such hashes as arrays.
    Metadata keys are the caller's own strings, so a metadata hash is never turned into an array."""
    if isinstance(node, list):
        return [_listify(item, name) for item in node]
    if not isinstance(node, dict) or name == "metadata":
        return node
    items = {key: _listify(value, key) for key, value in node.items()}
    if name and items and all(key.isascii() and key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def reject_unknown(params: Params, allowed: Collection[str], prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            raise unknown_param(f"{prefix}[{key}]" if prefix else key)


def integer(value: Any, param: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    number = int(text)
    if minimum is not None and number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param)
    if maximum is not None and number > maximum:
        raise invalid(f"This value must be less than or equal to {maximum}.", param)
    return number


def string(value: Any, param: str, *, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value}", param)
    if max_length is not None and len(value) > max_length:
        raise invalid(f"This value must be at most {max_length} characters long.", param)
    return value


def optional_string(params: Params, key: str, param: str, *, max_length: int | None = None) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    return string(value, param, max_length=max_length)


def boolean(value: Any, param: str) -> bool:
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid(f"Invalid boolean: {value}", param)


def choice(value: Any, param: str, options: Collection[str]) -> str:
    if value not in options:
        listed = ", ".join(options)
        raise invalid(f"Invalid {param}: must be one of {listed}", param)
    return str(value)


def mapping(value: Any, param: str) -> Params:
    if not isinstance(value, dict):
        raise invalid(f"Invalid object: {param} must be a hash", param)
    return value


def array(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(f"Invalid array: {param} must be an array", param)
    return value


def string_list(value: Any, param: str) -> list[str]:
    # `expand=line_items` (no brackets) is a single string; Stripe accepts it as a one-element array.
    items = [value] if isinstance(value, str) else array(value, param)
    return [string(item, f"{param}[{index}]") for index, item in enumerate(items)]


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    """Stripe's limits: 50 keys, keys up to 40 characters, string values up to 500; empty values unset."""
    if value == "":
        return {}
    entries = mapping(value, param)
    if len(entries) > 50:
        raise invalid("Metadata can have at most 50 keys.", param)
    result: dict[str, str] = {}
    for key, item in entries.items():
        if len(key) > 40:
            raise invalid(f"Metadata keys can be at most 40 characters long: {key}", f"{param}[{key}]")
        if not isinstance(item, str):
            raise invalid("Invalid value type: metadata values must be strings", f"{param}[{key}]")
        if len(item) > 500:
            raise invalid("Metadata values can be at most 500 characters long.", f"{param}[{key}]")
        if item:
            result[key] = item
    return result
