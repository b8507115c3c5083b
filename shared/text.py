"""Text fields people type: printable Unicode, no control characters, bounded length."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

# Categories never allowed in a name or an address: controls (CR, LF, NUL...), surrogates,
# private use, unassigned, and line/paragraph separators that would break a MIME header or CSV row.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
# Format characters that reorder text (bidi overrides) let a name display as something else.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _printable(value: object) -> object:
    # Runs before whitespace is stripped: a trailing CR/LF is rejected, not silently dropped.
    if not isinstance(value, str):
        return value
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValueError("must not contain control or invisible formatting characters")
    return value


def _typed_text(max_length: int) -> Any:
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length), BeforeValidator(_printable)
    ]


Name = _typed_text(100)  # names: up to 100 printable characters (API.md)
Text = _typed_text(200)  # every other text field: up to 200
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ().\-]{2,28}[0-9]$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


def is_printable(value: str) -> bool:
    try:
        _printable(value)
    except ValueError:
        return False
    return True
